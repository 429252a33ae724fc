// PlanModel <-> JSON (include/pivot/plan_model.h): the planner inputs a bench file
// carries so that calibration does not need the model file itself.
#include <nlohmann/json.hpp>

#include "pivot/error.h"
#include "pivot/plan_model.h"

namespace pivot::plan {
namespace {

using json = nlohmann::ordered_json;

// Integer fields in one table, so writing and reading cannot drift apart.
constexpr std::pair<const char*, int64_t PlanModel::*> kIntFields[] = {
    {"n_layer", &PlanModel::n_layer},
    {"n_embd", &PlanModel::n_embd},
    {"n_ff", &PlanModel::n_ff},
    {"n_head", &PlanModel::n_head},
    {"n_head_kv", &PlanModel::n_head_kv},
    {"head_dim", &PlanModel::head_dim},
    {"n_vocab", &PlanModel::n_vocab},
    {"n_ctx_train", &PlanModel::n_ctx_train},
    {"n_expert", &PlanModel::n_expert},
    {"n_expert_used", &PlanModel::n_expert_used},
    {"n_expert_shared", &PlanModel::n_expert_shared},
    {"n_ff_expert", &PlanModel::n_ff_expert},
    {"n_layer_dense_lead", &PlanModel::n_layer_dense_lead},
    {"q_lora_rank", &PlanModel::q_lora_rank},
    {"kv_lora_rank", &PlanModel::kv_lora_rank},
    {"qk_nope_head_dim", &PlanModel::qk_nope_head_dim},
    {"qk_rope_head_dim", &PlanModel::qk_rope_head_dim},
    {"v_head_dim", &PlanModel::v_head_dim}};

}  // namespace

std::string PlanModel::to_json() const {
  json j;
  j["id"] = id;
  j["name"] = name;
  j["source"] = source;
  j["arch"] = arch;
  for (const auto& [key, field] : kIntFields) j[key] = this->*field;
  j["tied_embeddings"] = tied_embeddings;
  j["qkv_bias"] = qkv_bias;
  j["qk_norm"] = qk_norm;
  j["native_dtype"] = native_dtype;
  auto opt = [&](const char* key, const auto& v) {
    if (v) j[key] = *v;
  };
  opt("file_weight_bytes", file_weight_bytes);
  opt("file_embd_bytes", file_embd_bytes);
  opt("file_output_bytes", file_output_bytes);
  if (!file_weight_type.empty()) j["file_weight_type"] = file_weight_type;
  if (!file_type.empty()) j["file_type"] = file_type;
  opt("published_params", published_params);
  opt("published_params_active", published_params_active);
  return j.dump();
}

PlanModel PlanModel::from_json(std::string_view text, const std::string& label) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("%s: not valid JSON: %s", label.c_str(), e.what());
  }
  if (!j.is_object()) fail("%s: expected a JSON object", label.c_str());
  auto str = [&](const char* key, bool required) -> std::string {
    if (!j.contains(key)) {
      if (required) fail("%s: missing field '%s'", label.c_str(), key);
      return "";
    }
    if (!j[key].is_string()) fail("%s: field '%s': expected a string", label.c_str(), key);
    return j[key].get<std::string>();
  };
  auto boolean = [&](const char* key) {
    if (!j.contains(key)) return false;
    if (!j[key].is_boolean()) fail("%s: field '%s': expected true or false", label.c_str(), key);
    return j[key].get<bool>();
  };
  auto count = [&](const char* key) -> std::optional<uint64_t> {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_number_unsigned())
      fail("%s: field '%s': expected an integer >= 0, got %s", label.c_str(), key,
           j[key].dump().c_str());
    return j[key].get<uint64_t>();
  };
  auto real = [&](const char* key) -> std::optional<double> {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_number() || j[key].get<double>() < 0)
      fail("%s: field '%s': expected a number >= 0", label.c_str(), key);
    return j[key].get<double>();
  };
  PlanModel m;
  m.id = str("id", true);
  m.name = str("name", false);
  m.source = str("source", false);
  m.arch = str("arch", true);
  for (const auto& [key, field] : kIntFields) {
    auto v = count(key);
    if (v && *v > (uint64_t(1) << 40))
      fail("%s: field '%s': %llu is too large", label.c_str(), key,
           static_cast<unsigned long long>(*v));
    m.*field = v ? int64_t(*v) : 0;
  }
  m.tied_embeddings = boolean("tied_embeddings");
  m.qkv_bias = boolean("qkv_bias");
  m.qk_norm = boolean("qk_norm");
  m.native_dtype = str("native_dtype", false);
  if (m.native_dtype.empty()) m.native_dtype = "bf16";
  m.file_weight_bytes = count("file_weight_bytes");
  m.file_embd_bytes = count("file_embd_bytes");
  m.file_output_bytes = count("file_output_bytes");
  m.file_weight_type = str("file_weight_type", false);
  m.file_type = str("file_type", false);
  if (m.file_weight_bytes && m.file_weight_type.empty())
    fail("%s: 'file_weight_bytes' needs 'file_weight_type'", label.c_str());
  m.published_params = real("published_params");
  m.published_params_active = real("published_params_active");
  m.validate(label);
  return m;
}

}  // namespace pivot::plan
