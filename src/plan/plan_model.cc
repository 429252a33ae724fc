// PlanModel: storage types, parameter counts and the three ways to get a model
// (GGUF, config.json, preset). Formulas and their sources: include/pivot/plan_model.h.
#include "pivot/plan_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pivot/error.h"
#include "pivot/ggml_type.h"
#include "pivot/gguf.h"

namespace pivot::plan {
namespace {

using json = nlohmann::json;

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("%s: cannot open", path.c_str());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// config.json field readers: errors name the file and the field.
int64_t field_int(const json& j, const char* key, const std::string& label, bool required,
                  int64_t def = 0) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) fail("%s: missing field '%s'", label.c_str(), key);
    return def;
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    fail("%s: field '%s': expected a non-negative integer, got %s", label.c_str(), key,
         it->dump().c_str());
  return it->get<int64_t>();
}

bool field_bool(const json& j, const char* key, const std::string& label, bool def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  if (!it->is_boolean())
    fail("%s: field '%s': expected true or false, got %s", label.c_str(), key, it->dump().c_str());
  return it->get<bool>();
}

int64_t gguf_int(const GgufFile& f, const std::string& key, bool required, int64_t def = 0) {
  const GgufValue* v = f.find(key);
  if (!v) {
    if (required) fail("%s: missing metadata key '%s'", f.path().c_str(), key.c_str());
    return def;
  }
  if (v->is_array()) {  // per-layer arrays (some hybrids): plan with the largest
    int64_t m = 0;
    for (const auto& item : std::get<GgufArray>(v->v).items) m = std::max(m, item.as_i64(key));
    return m;
  }
  return v->as_i64(key);
}

void check_shape(const PlanModel& m, const std::string& label) {
  if (m.n_layer <= 0 || m.n_embd <= 0 || m.n_head <= 0 || m.n_vocab <= 0)
    fail("%s: layers, hidden size, heads and vocab must all be positive", label.c_str());
  if (m.n_head_kv <= 0 || m.n_head % m.n_head_kv != 0)
    fail("%s: %lld heads are not a multiple of %lld KV heads", label.c_str(),
         static_cast<long long>(m.n_head), static_cast<long long>(m.n_head_kv));
  if (m.is_moe() && (m.n_expert_used <= 0 || m.n_expert_used > m.n_expert || m.n_ff_expert <= 0))
    fail("%s: MoE needs 0 < experts per token <= experts and an expert FFN size", label.c_str());
  if (!m.is_moe() && m.n_ff <= 0) fail("%s: feed-forward size must be positive", label.c_str());
}

}  // namespace

DType dtype_from_name(std::string_view name_in) {
  const std::string n = lower(name_in);
  if (n == "bf16" || n == "bfloat16") return {"bf16", 2, ComputeClass::kBf16};
  if (n == "f16" || n == "fp16" || n == "float16") return {"f16", 2, ComputeClass::kFp16};
  if (n == "fp8" || n == "f8" || n == "e4m3" || n == "float8")
    return {"fp8", 1, ComputeClass::kFp8};
  if (n == "int8" || n == "w8a8") return {"int8", 1, ComputeClass::kInt8};
  if (n == "f32" || n == "fp32" || n == "float32") return {"f32", 4, ComputeClass::kFp32};
  std::string u = upper(name_in);
  auto t = ggml_type_from_name(u);
  // llama.cpp file types (Q4_K_M, Q5_K_S, ...) name the dominant block type.
  if (!t && u.size() > 2 && (u.ends_with("_M") || u.ends_with("_S") || u.ends_with("_L")))
    t = ggml_type_from_name(u.substr(0, u.size() - 2));
  if (t) {
    GgmlTypeTraits tr = ggml_type_traits(*t);
    return {std::string(tr.name), static_cast<double>(tr.type_size) / tr.block_size,
            ComputeClass::kFp16};
  }
  fail(
      "unknown weight/KV type '%.*s' (known: bf16, f16, fp8, int8, f32, or a GGUF type such as "
      "Q8_0, Q4_K, Q4_K_M, Q6_K)",
      static_cast<int>(name_in.size()), name_in.data());
}

double PlanModel::embd_params() const {
  return double(n_vocab) * n_embd;
}

double PlanModel::lm_head_params() const {
  return double(n_vocab) * n_embd;
}

double PlanModel::attn_params_per_layer() const {
  const double d = double(n_embd);
  double p = 2 * d;  // attention and FFN RMSNorm weights
  if (is_mla()) {
    const double qk = double(qk_nope_head_dim + qk_rope_head_dim);
    p += q_lora_rank > 0 ? d * q_lora_rank + q_lora_rank + double(q_lora_rank) * n_head * qk
                         : d * n_head * qk;
    p += d * double(kv_lora_rank + qk_rope_head_dim) + kv_lora_rank;
    p += double(kv_lora_rank) * n_head * double(qk_nope_head_dim + v_head_dim);
    p += double(n_head) * v_head_dim * d;
    return p;
  }
  const double q = double(n_head) * head_dim, kv = double(n_head_kv) * head_dim;
  p += d * q + 2 * d * kv + q * d;
  if (qkv_bias) p += q + 2 * kv;
  if (qk_norm) p += 2.0 * head_dim;
  return p;
}

double PlanModel::expert_params() const {
  return 3.0 * n_embd * n_ff_expert;
}

double PlanModel::dense_ffn_params() const {
  return 3.0 * n_embd * n_ff;
}

double PlanModel::total_params() const {
  double p = embd_params() + (tied_embeddings ? 0 : lm_head_params()) + double(n_embd);
  p += n_layer * attn_params_per_layer();
  p += double(n_layer - n_moe_layers()) * dense_ffn_params();
  p += double(n_moe_layers()) *
       (double(n_embd) * n_expert + double(n_expert + n_expert_shared) * expert_params());
  return p;
}

double PlanModel::active_matmul_params_body() const {
  double p = n_layer * attn_params_per_layer() + double(n_embd);  // norms counted, as in total
  p += double(n_layer - n_moe_layers()) * dense_ffn_params();
  p += double(n_moe_layers()) *
       (double(n_embd) * n_expert + double(n_expert_used + n_expert_shared) * expert_params());
  return p;
}

double PlanModel::active_params() const {
  return active_matmul_params_body() + lm_head_params();
}

double PlanModel::kv_bytes_per_token(const DType& kv) const {
  if (is_mla())
    return double(n_layer) * double(kv_lora_rank + qk_rope_head_dim) * kv.bytes_per_elem;
  return 2.0 * n_layer * n_head_kv * head_dim * kv.bytes_per_elem;
}

void PlanModel::validate(const std::string& label) const {
  check_shape(*this, label);
}

bool PlanModel::is_file_type(const DType& w) const {
  return file_weight_bytes && w.name == default_weight_type().name;
}

double PlanModel::weight_bytes(const DType& w) const {
  if (is_file_type(w)) return double(*file_weight_bytes);
  return total_params() * w.bytes_per_elem;
}

double PlanModel::embd_bytes(const DType& w) const {
  if (is_file_type(w) && file_embd_bytes) return double(*file_embd_bytes);
  return embd_params() * w.bytes_per_elem;
}

double PlanModel::lm_head_bytes(const DType& w) const {
  if (tied_embeddings) return embd_bytes(w);
  if (is_file_type(w) && file_output_bytes) return double(*file_output_bytes);
  return lm_head_params() * w.bytes_per_elem;
}

double PlanModel::body_bytes(const DType& w) const {
  return weight_bytes(w) - embd_bytes(w) - (tied_embeddings ? 0 : lm_head_bytes(w));
}

DType PlanModel::weight_type(std::string_view name) const {
  if (name.empty()) return default_weight_type();
  if (file_weight_bytes) {
    const std::string u = upper(name), own = file_type.empty() ? file_weight_type : file_type;
    if (u == own || u == "GGUF:" + own) return default_weight_type();
  }
  return dtype_from_name(name);
}

DType PlanModel::default_weight_type() const {
  if (!file_weight_bytes) return dtype_from_name(native_dtype);
  DType d{"gguf:" + (file_type.empty() ? file_weight_type : file_type),
          double(*file_weight_bytes) / total_params(), ComputeClass::kFp16};
  if (file_weight_type == "BF16") d.compute = ComputeClass::kBf16;
  if (file_weight_type == "F32") d.compute = ComputeClass::kFp32;
  return d;
}

double experts_touched(const PlanModel& m, double tokens) {
  if (!m.is_moe()) return 0;
  const double e = double(m.n_expert), k = double(m.n_expert_used);
  return e * (1.0 - std::pow(1.0 - k / e, tokens));
}

PlanModel PlanModel::from_gguf(const GgufFile& f) {
  PlanModel m;
  m.arch = f.get("general.architecture").as_string("general.architecture");
  const std::string a = m.arch + ".";
  m.source = "gguf " + f.path();
  m.id = std::filesystem::path(f.path()).filename().string();
  const GgufValue* name = f.find("general.name");
  m.name = name && name->is_string() ? name->as_string("general.name") : m.id;
  m.n_layer = gguf_int(f, a + "block_count", true);
  m.n_embd = gguf_int(f, a + "embedding_length", true);
  m.n_head = gguf_int(f, a + "attention.head_count", true);
  m.n_head_kv = gguf_int(f, a + "attention.head_count_kv", false, m.n_head);
  m.head_dim = gguf_int(f, a + "attention.key_length", false, m.n_head ? m.n_embd / m.n_head : 0);
  m.n_ctx_train = gguf_int(f, a + "context_length", false);
  m.n_ff = gguf_int(f, a + "feed_forward_length", false);
  m.n_vocab = gguf_int(f, a + "vocab_size", false);
  if (m.n_vocab == 0) {
    const GgufValue* toks = f.find("tokenizer.ggml.tokens");
    if (!toks)
      fail("%s: no %svocab_size and no tokenizer.ggml.tokens", f.path().c_str(), a.c_str());
    m.n_vocab = int64_t(toks->as_array("tokenizer.ggml.tokens").items.size());
  }
  m.n_expert = gguf_int(f, a + "expert_count", false);
  m.n_expert_used = gguf_int(f, a + "expert_used_count", false);
  m.n_expert_shared = gguf_int(f, a + "expert_shared_count", false);
  m.n_ff_expert = gguf_int(f, a + "expert_feed_forward_length", false);
  m.n_layer_dense_lead = gguf_int(f, a + "leading_dense_block_count", false);
  m.kv_lora_rank = gguf_int(f, a + "attention.kv_lora_rank", false);
  if (m.kv_lora_rank > 0) {  // deepseek2: key_length is nope + rope unless the _mla keys exist
    m.q_lora_rank = gguf_int(f, a + "attention.q_lora_rank", false);
    m.qk_rope_head_dim = gguf_int(f, a + "rope.dimension_count", true);
    int64_t k = gguf_int(f, a + "attention.key_length_mla", false, m.head_dim);
    m.qk_nope_head_dim = k - m.qk_rope_head_dim;
    m.v_head_dim = gguf_int(f, a + "attention.value_length_mla", false,
                            gguf_int(f, a + "attention.value_length", false, m.head_dim));
  }
  m.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  m.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  m.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  uint64_t total = 0;
  std::map<std::string, uint64_t> by_type;
  for (const auto& t : f.tensors()) {
    total += t.n_bytes;
    by_type[ggml_type_name(static_cast<uint32_t>(t.type))] += t.n_bytes;
  }
  m.file_weight_bytes = total;
  if (const GgufTensorInfo* e = f.find_tensor("token_embd.weight")) m.file_embd_bytes = e->n_bytes;
  if (const GgufTensorInfo* o = f.find_tensor("output.weight")) m.file_output_bytes = o->n_bytes;
  m.file_type = gguf_file_type_name(f);
  if (m.file_type == "mixed") m.file_type.clear();  // named by the dominant type instead
  uint64_t best = 0;
  for (const auto& [type, bytes] : by_type)
    if (bytes > best) best = bytes, m.file_weight_type = type;
  m.native_dtype = m.file_weight_type;
  check_shape(m, f.path());
  return m;
}

PlanModel PlanModel::from_gguf_path(const std::string& path) {
  return from_gguf(GgufFile::open(path));
}

PlanModel PlanModel::from_hf_config(std::string_view text, const std::string& label) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    fail("%s: not valid JSON: %s", label.c_str(), e.what());
  }
  if (!root.is_object()) fail("%s: expected a JSON object", label.c_str());
  // Multimodal configs (Gemma 3, Qwen2-VL, ...) nest the language model.
  const json& j =
      root.contains("text_config") && root["text_config"].is_object() ? root["text_config"] : root;
  PlanModel m;
  m.source = "config.json " + label;
  m.id = m.name = label;
  auto mt = root.find("model_type");
  if (mt != root.end() && !mt->is_string())
    fail("%s: field 'model_type': expected a string, got %s", label.c_str(), mt->dump().c_str());
  m.arch = mt != root.end() ? mt->get<std::string>() : "unknown";
  m.n_embd = field_int(j, "hidden_size", label, true);
  m.n_layer = field_int(j, "num_hidden_layers", label, true);
  m.n_head = field_int(j, "num_attention_heads", label, true);
  m.n_head_kv = field_int(j, "num_key_value_heads", label, false, m.n_head);
  m.head_dim = field_int(j, "head_dim", label, false, m.n_head ? m.n_embd / m.n_head : 0);
  m.n_vocab = field_int(j, "vocab_size", label, true);
  m.n_ctx_train = field_int(j, "max_position_embeddings", label, false);
  // Hugging Face's Gemma configs default to tied embeddings (the others to untied);
  // multimodal configs may state it at the top level instead of in text_config.
  const bool tie_default = m.arch.starts_with("gemma");
  m.tied_embeddings = j.contains("tie_word_embeddings")
                          ? field_bool(j, "tie_word_embeddings", label, tie_default)
                          : field_bool(root, "tie_word_embeddings", label, tie_default);
  // Qwen2 has q/k/v biases without saying so in config.json.
  m.qkv_bias = field_bool(j, "attention_bias", label, m.arch == "qwen2" || m.arch == "qwen2_moe");
  m.qk_norm = m.arch.starts_with("qwen3");
  auto td = root.find("torch_dtype");
  if (td != root.end() && td->is_string()) {
    const std::string t = lower(td->get<std::string>());
    if (t == "bfloat16" || t == "float16" || t == "float32") m.native_dtype = t;
  }
  // Routed experts: DeepSeek n_routed_experts, Mixtral num_local_experts, Qwen MoE
  // num_experts.
  const char* experts_key = j.contains("n_routed_experts")    ? "n_routed_experts"
                            : j.contains("num_local_experts") ? "num_local_experts"
                                                              : "num_experts";
  m.n_expert = field_int(j, experts_key, label, false);
  if (m.n_expert > 0) {
    m.n_expert_used = field_int(j, "num_experts_per_tok", label, true);
    m.n_expert_shared = field_int(j, "n_shared_experts", label, false);
    // Mixtral's experts are intermediate_size wide (it has no moe_intermediate_size).
    m.n_ff_expert = field_int(
        j, j.contains("moe_intermediate_size") ? "moe_intermediate_size" : "intermediate_size",
        label, true);
    // Qwen2-MoE: one always-on shared expert of its own width, counted here in units
    // of a routed expert's FFN (5632 / 1408 = 4 for Qwen1.5-MoE-A2.7B).
    const int64_t shared_ff = field_int(j, "shared_expert_intermediate_size", label, false);
    if (shared_ff > 0 && m.n_expert_shared == 0 && m.n_ff_expert > 0)
      m.n_expert_shared = std::max<int64_t>(1, (shared_ff + m.n_ff_expert / 2) / m.n_ff_expert);
    m.n_layer_dense_lead = field_int(j, "first_k_dense_replace", label, false);
  }
  m.n_ff = field_int(j, "intermediate_size", label, m.n_expert == 0 || m.n_layer_dense_lead > 0);
  m.kv_lora_rank = field_int(j, "kv_lora_rank", label, false);
  if (m.kv_lora_rank > 0) {
    m.q_lora_rank = field_int(j, "q_lora_rank", label, false);
    m.qk_nope_head_dim = field_int(j, "qk_nope_head_dim", label, true);
    m.qk_rope_head_dim = field_int(j, "qk_rope_head_dim", label, true);
    m.v_head_dim = field_int(j, "v_head_dim", label, true);
    m.head_dim = m.qk_nope_head_dim + m.qk_rope_head_dim;
  }
  check_shape(m, label);
  return m;
}

namespace {

json load_presets(const std::string& path) {
  json j;
  try {
    j = json::parse(read_text(path));
  } catch (const json::exception& e) {
    fail("%s: not valid JSON: %s", path.c_str(), e.what());
  }
  if (!j.contains("presets") || !j["presets"].is_array())
    fail("%s: missing array 'presets'", path.c_str());
  return j["presets"];
}

}  // namespace

std::vector<std::string> PlanModel::preset_ids(const std::string& presets_path) {
  std::vector<std::string> ids;
  for (const auto& p : load_presets(presets_path)) ids.push_back(p.value("id", ""));
  return ids;
}

PlanModel PlanModel::from_preset(std::string_view id, const std::string& presets_path) {
  for (const auto& p : load_presets(presets_path)) {
    if (lower(p.value("id", "")) != lower(id)) continue;
    if (!p.contains("config"))
      fail("%s: preset '%s' has no 'config'", presets_path.c_str(), std::string(id).c_str());
    PlanModel m = from_hf_config(p["config"].dump(), presets_path + ": preset " + std::string(id));
    m.id = p["id"].get<std::string>();
    m.name = p.value("name", m.id);
    m.source = "preset " + p.value("source", presets_path);
    if (p.contains("published_params")) m.published_params = p["published_params"].get<double>();
    if (p.contains("published_params_active"))
      m.published_params_active = p["published_params_active"].get<double>();
    return m;
  }
  auto names = close_names(id, preset_ids(presets_path));
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  fail("unknown model '%s': not a preset, .gguf or config.json (close presets: %s)",
       std::string(id).c_str(), list.c_str());
}

PlanModel PlanModel::resolve(const std::string& spec, const std::string& presets_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    fs::path cfg = fs::path(spec) / "config.json";
    if (!fs::exists(cfg, ec)) fail("%s: directory without config.json", spec.c_str());
    return from_hf_config(read_text(cfg.string()), cfg.string());
  }
  if (fs::exists(spec, ec)) {
    if (spec.ends_with(".gguf")) return from_gguf_path(spec);
    return from_hf_config(read_text(spec), spec);
  }
  if (spec.ends_with(".gguf") || spec.ends_with(".json")) fail("%s: no such file", spec.c_str());
  return from_preset(spec, presets_path);
}

}  // namespace pivot::plan
