// Loading, validating and searching data/accelerators.json.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "pivot/error.h"
#include "pivot/plan_catalog.h"

#ifndef PIVOT_DATA_DIR
#define PIVOT_DATA_DIR ""
#endif

namespace pivot::plan {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::set<std::string> kLevels = {"vendor_datasheet", "vendor_announcement",
                                       "reputable_press",  "analyst_estimate",
                                       "third_party",      "rumor",
                                       "measured",         "derived"};

std::string norm(std::string_view s) {
  std::string r;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c)))
      r += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

struct RowReader {
  const json& j;
  std::string where;  // "PATH: accelerators[3] (h100-sxm)"

  std::optional<double> number(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number() || it->get<double>() < 0)
      fail("%s: field '%s': expected a number >= 0 or null, got %s", where.c_str(), key,
           it->dump().c_str());
    return it->get<double>();
  }
  std::string text(const char* key, bool required) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) fail("%s: missing field '%s'", where.c_str(), key);
      return "";
    }
    if (!it->is_string()) fail("%s: field '%s': expected a string", where.c_str(), key);
    if (required && it->get<std::string>().empty())
      fail("%s: field '%s' is empty", where.c_str(), key);
    return it->get<std::string>();
  }
  std::vector<std::string> strings(const char* key, bool required) const {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) fail("%s: missing field '%s'", where.c_str(), key);
      return out;
    }
    if (!it->is_array()) fail("%s: field '%s': expected an array of strings", where.c_str(), key);
    for (const auto& s : *it) {
      if (!s.is_string() || s.get<std::string>().empty())
        fail("%s: field '%s': expected non-empty strings", where.c_str(), key);
      out.push_back(s.get<std::string>());
    }
    if (required && out.empty()) fail("%s: field '%s' is empty", where.c_str(), key);
    return out;
  }
};

Efficiency read_efficiency(const json& j, const std::string& where) {
  Efficiency e;
  auto get = [&](const char* key, double& out, double max) {
    if (!j.contains(key)) fail("%s: missing field '%s'", where.c_str(), key);
    if (!j[key].is_number() || j[key].get<double>() <= 0 || j[key].get<double>() > max)
      fail("%s: field '%s': expected a number in (0, %g]", where.c_str(), key, max);
    out = j[key].get<double>();
  };
  get("compute", e.compute, 1);
  get("bandwidth", e.bandwidth, 1);
  get("link", e.link, 1);
  get("link_latency_us", e.link_latency_us, 1e6);
  get("train_mfu", e.train_mfu, 1);
  for (auto [key, out] :
       {std::pair{"attention", &e.attention}, {"decode_compute", &e.decode_compute}})
    if (j.contains(key)) get(key, *out, 1);  // optional op classes
  if (j.contains("prefill_weight_ns")) get("prefill_weight_ns", e.prefill_weight_ns, 1e6);
  e.source = j.value("source", "");
  if (e.source.empty()) fail("%s: missing field 'source'", where.c_str());
  return e;
}

std::string exe_dir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.parent_path().string();
}

}  // namespace

const char* compute_class_name(ComputeClass c) {
  switch (c) {
    case ComputeClass::kBf16:
      return "bf16";
    case ComputeClass::kFp16:
      return "fp16";
    case ComputeClass::kFp8:
      return "fp8";
    case ComputeClass::kInt8:
      return "int8";
    case ComputeClass::kFp32:
      return "fp32";
  }
  return "?";
}

std::optional<double> Accelerator::peak_tflops(ComputeClass c) const {
  switch (c) {
    case ComputeClass::kBf16:
      return bf16_tflops;
    case ComputeClass::kFp16:
      return fp16_tflops;
    case ComputeClass::kFp8:
      return fp8_tflops;
    case ComputeClass::kInt8:
      return int8_tops;
    case ComputeClass::kFp32:
      return fp32_tflops;
  }
  return std::nullopt;
}

Catalog Catalog::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("%s: cannot open accelerator catalog", path.c_str());
  std::stringstream ss;
  ss << f.rdbuf();
  json root;
  try {
    root = json::parse(ss.str());
  } catch (const json::exception& e) {
    fail("%s: not valid JSON: %s", path.c_str(), e.what());
  }
  Catalog c;
  c.path_ = path;
  if (!root.contains("efficiency_defaults") || !root["efficiency_defaults"].is_object())
    fail("%s: missing object 'efficiency_defaults'", path.c_str());
  for (const auto& [k, v] : root["efficiency_defaults"].items())
    c.efficiency_[k] = read_efficiency(v, path + ": efficiency_defaults." + k);
  if (!root.contains("accelerators") || !root["accelerators"].is_array())
    fail("%s: missing array 'accelerators'", path.c_str());
  std::set<std::string> seen;
  size_t i = 0;
  for (const auto& row : root["accelerators"]) {
    std::string where = strprintf("%s: accelerators[%zu]", path.c_str(), i++);
    if (!row.is_object()) fail("%s: expected an object", where.c_str());
    RowReader r{row, where};
    Accelerator a;
    a.id = r.text("id", true);
    r.where = where += " (" + a.id + ")";
    a.aliases = r.strings("aliases", false);
    a.vendor = r.text("vendor", true);
    a.name = r.text("name", true);
    a.kind = r.text("kind", true);
    if (a.kind != "gpu" && a.kind != "npu" && a.kind != "cpu")
      fail("%s: field 'kind': expected gpu, npu or cpu", where.c_str());
    a.backend = r.text("backend", false);
    a.efficiency_class = r.text("efficiency_class", true);
    if (!c.efficiency_.count(a.efficiency_class))
      fail("%s: field 'efficiency_class': '%s' is not in efficiency_defaults", where.c_str(),
           a.efficiency_class.c_str());
    a.bf16_tflops = r.number("bf16_tflops");
    a.fp16_tflops = r.number("fp16_tflops");
    a.fp8_tflops = r.number("fp8_tflops");
    a.int8_tops = r.number("int8_tops");
    a.fp32_tflops = r.number("fp32_tflops");
    a.mem_gb = r.number("mem_gb");
    a.mem_bw_gbs = r.number("mem_bw_gbs");
    a.link_gbs = r.number("link_gbs");
    a.link_per_peer_gbs = r.number("link_per_peer_gbs");
    if (auto s = r.number("scale_up_devices")) a.scale_up_devices = int(*s);
    a.tdp_w = r.number("tdp_w");
    a.software = r.text("software", false);
    a.confidence_level = r.text("confidence_level", true);
    if (!kLevels.count(a.confidence_level))
      fail("%s: field 'confidence_level': '%s' is not a known level", where.c_str(),
           a.confidence_level.c_str());
    a.confidence = r.text("confidence", true);
    a.sources = r.strings("sources", true);
    a.notes = r.text("notes", false);
    std::set<std::string> keys{norm(a.id)};  // an alias may restate the id
    for (const auto& al : a.aliases) keys.insert(norm(al));
    for (const auto& key : keys)
      if (!seen.insert(key).second)
        fail("%s: id or alias '%s' is used by another row", where.c_str(), key.c_str());
    c.chips_.push_back(std::move(a));
  }
  if (c.chips_.empty()) fail("%s: no accelerators", path.c_str());
  return c;
}

std::string Catalog::find_data_file(const std::string& name, const std::string& override_dir) {
  std::vector<std::string> tried;
  auto attempt = [&](const std::string& dir) -> std::string {
    if (dir.empty()) return "";
    fs::path p = fs::path(dir) / name;
    tried.push_back(p.string());
    std::error_code ec;
    return fs::exists(p, ec) ? p.string() : "";
  };
  std::string hit;
  if (!override_dir.empty()) hit = attempt(override_dir);
  if (hit.empty()) {
    if (const char* env = std::getenv("PIVOT_DATA_DIR")) hit = attempt(env);
  }
  if (hit.empty() && !exe_dir().empty()) hit = attempt(exe_dir() + "/../share/pivot/data");
  if (hit.empty()) hit = attempt(PIVOT_DATA_DIR);
  if (hit.empty()) {
    std::string list;
    for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
    fail("cannot find %s (tried: %s); pass --catalog FILE or set PIVOT_DATA_DIR", name.c_str(),
         list.c_str());
  }
  return hit;
}

Catalog Catalog::load_default(const std::string& override_path) {
  if (!override_path.empty()) return load(override_path);
  return load(find_data_file("accelerators.json", ""));
}

const Accelerator& Catalog::find(std::string_view id) const {
  const std::string q = norm(id);
  for (const auto& a : chips_) {
    if (norm(a.id) == q) return a;
    for (const auto& al : a.aliases)
      if (norm(al) == q) return a;
  }
  std::vector<std::string> names;
  for (const auto& a : chips_) names.push_back(a.id);
  std::string list;
  for (const auto& n : close_names(id, names)) list += (list.empty() ? "" : ", ") + n;
  fail("unknown chip '%.*s' in %s (close: %s; `pivot plan --list` shows all %zu)",
       static_cast<int>(id.size()), id.data(), path_.c_str(), list.c_str(), chips_.size());
}

Efficiency Catalog::efficiency(const Accelerator& chip) const {
  auto it = efficiency_.find(chip.efficiency_class);
  return it != efficiency_.end() ? it->second : Efficiency{};
}

void Catalog::add(Accelerator chip) {
  chips_.push_back(std::move(chip));
}

std::vector<std::string> close_names(std::string_view query, const std::vector<std::string>& names,
                                     size_t n) {
  const std::string q = norm(query);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& name : names) {
    const std::string k = norm(name);
    size_t d = edit_distance(q, k);
    if (!q.empty() && (k.find(q) != std::string::npos || q.find(k) != std::string::npos)) d = 0;
    scored.emplace_back(d, name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace pivot::plan
