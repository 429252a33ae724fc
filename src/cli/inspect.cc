// `pivot inspect FILE [--json]`: metadata, tensor table and totals of a GGUF file.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "pivot/gguf.h"

namespace pivot::cli {
namespace {

using json = nlohmann::ordered_json;

json to_json(const GgufValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, GgufArray>) {
          json a = json::array();
          for (const auto& item : x.items) a.push_back(to_json(item));
          return a;
        } else {
          return json(x);
        }
      },
      v.v);
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// One line for a value; arrays longer than `max_items` show their length and a head.
std::string render(const GgufValue& v, size_t max_items) {
  if (!v.is_array()) return dump(to_json(v));
  const GgufArray& a = std::get<GgufArray>(v.v);
  std::string s = "[";
  size_t n = std::min(a.items.size(), max_items);
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + render(a.items[i], max_items);
  if (a.items.size() > n) s += ", ... (" + std::to_string(a.items.size()) + " items)";
  return s + "]";
}

std::string type_label(const GgufValue& v) {
  if (!v.is_array()) return gguf_type_name(v.type);
  const GgufArray& a = std::get<GgufArray>(v.v);
  return std::string("[") + gguf_type_name(a.elem_type) + " x " + std::to_string(a.items.size()) +
         "]";
}

std::string shape_str(const GgufTensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
  return s + "]";
}

struct Totals {
  uint64_t params = 0, bytes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name -> (tensors, bytes)
};

Totals totals(const GgufFile& f) {
  Totals t;
  for (const auto& ti : f.tensors()) {
    t.params += ti.n_elements;
    t.bytes += ti.n_bytes;
    auto& e = t.by_type[ggml_type_name(static_cast<uint32_t>(ti.type))];
    e.first += 1;
    e.second += ti.n_bytes;
  }
  return t;
}

void print_json(const GgufFile& f) {
  json j;
  j["file"] = f.path();
  j["version"] = f.version();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  j["file_size"] = f.file_size();
  json md = json::object();
  json types = json::object();
  for (const auto& kv : f.metadata()) {
    md[kv.key] = to_json(kv.value);
    types[kv.key] = type_label(kv.value);
  }
  j["metadata"] = md;
  j["metadata_types"] = types;
  json ts = json::array();
  for (const auto& t : f.tensors()) {
    json shape = json::array();
    for (uint32_t d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
    ts.push_back({{"name", t.name},
                  {"type", ggml_type_name(static_cast<uint32_t>(t.type))},
                  {"shape", shape},
                  {"offset", t.offset},
                  {"bytes", t.n_bytes}});
  }
  j["tensors"] = ts;
  Totals tot = totals(f);
  json by_type = json::object();
  for (const auto& [name, e] : tot.by_type)
    by_type[name] = {{"tensors", e.first}, {"bytes", e.second}};
  j["totals"] = {{"parameters", tot.params}, {"bytes", tot.bytes}, {"by_type", by_type}};
  std::printf("%s\n", dump(j).c_str());
}

void print_text(const GgufFile& f, size_t max_items) {
  std::printf("%s: GGUF v%u, %zu metadata keys, %zu tensors, alignment %llu, data at offset %llu\n",
              f.path().c_str(), f.version(), f.metadata().size(), f.tensors().size(),
              static_cast<unsigned long long>(f.alignment()),
              static_cast<unsigned long long>(f.data_offset()));
  std::printf("\nmetadata:\n");
  size_t kw = 0;
  for (const auto& kv : f.metadata()) kw = std::max(kw, kv.key.size());
  for (const auto& kv : f.metadata())
    std::printf("  %-*s  %-18s %s\n", int(kw), kv.key.c_str(), type_label(kv.value).c_str(),
                render(kv.value, max_items).c_str());
  std::printf("\ntensors:\n");
  size_t nw = 4;
  for (const auto& t : f.tensors()) nw = std::max(nw, t.name.size());
  std::printf("  %-*s  %-7s %-22s %12s %12s\n", int(nw), "name", "type", "shape", "offset",
              "bytes");
  for (const auto& t : f.tensors())
    std::printf("  %-*s  %-7s %-22s %12llu %12llu\n", int(nw), t.name.c_str(),
                ggml_type_name(static_cast<uint32_t>(t.type)).c_str(), shape_str(t).c_str(),
                static_cast<unsigned long long>(t.offset),
                static_cast<unsigned long long>(t.n_bytes));
  Totals tot = totals(f);
  std::printf("\ntotals: %llu parameters, %llu bytes (%.2f MiB)\n",
              static_cast<unsigned long long>(tot.params),
              static_cast<unsigned long long>(tot.bytes), tot.bytes / 1048576.0);
  for (const auto& [name, e] : tot.by_type)
    std::printf("  %-7s %5llu tensors %14llu bytes\n", name.c_str(),
                static_cast<unsigned long long>(e.first),
                static_cast<unsigned long long>(e.second));
}

}  // namespace

void register_inspect(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Print a GGUF file's metadata, tensors and totals");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto max_items = std::make_shared<size_t>(8);
  cmd->add_option("file", *path, "GGUF model file")->required();
  cmd->add_flag("--json", *as_json, "Machine-readable output with every value in full");
  cmd->add_option("--max-array", *max_items, "Array items shown before eliding (text output)")
      ->capture_default_str();
  cmd->callback([=, &exit_code] {
    GgufFile f = GgufFile::open(*path);
    if (*as_json)
      print_json(f);
    else
      print_text(f, *max_items);
    exit_code = 0;
  });
}

}  // namespace pivot::cli
