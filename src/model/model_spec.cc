#include "pivot/model_spec.h"

#include <cmath>
#include <cstdint>
#include <numbers>

#include "pivot/error.h"

namespace pivot {
namespace {

// "<arch>.<key>" lookups that name the key in errors.
class Keys {
 public:
  Keys(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}
  const GgufValue* find(const std::string& k) const { return f_.find(arch_ + "." + k); }
  int64_t i64(const std::string& k) const {
    const GgufValue* v = find(k);
    if (!v) fail("%s: missing metadata key %s.%s", f_.path().c_str(), arch_.c_str(), k.c_str());
    return v->as_i64(arch_ + "." + k);
  }
  int64_t i64(const std::string& k, int64_t dflt) const {
    const GgufValue* v = find(k);
    return v ? v->as_i64(arch_ + "." + k) : dflt;
  }
  float f32(const std::string& k, float dflt) const {
    const GgufValue* v = find(k);
    return v ? static_cast<float>(v->as_f64(arch_ + "." + k)) : dflt;
  }

 private:
  const GgufFile& f_;
  std::string arch_;
};

}  // namespace

ModelSpec ModelSpec::from_gguf(const GgufFile& file) {
  ModelSpec s;
  s.arch = file.get("general.architecture").as_string("general.architecture");
  const GgufValue* name = file.find("general.name");
  s.name = name && name->is_string() ? name->as_string("general.name") : file.path();
  const Keys k(file, s.arch);

  s.n_embd = k.i64("embedding_length");
  s.n_layer = k.i64("block_count");
  s.n_ff = k.i64("feed_forward_length");
  s.n_head = k.i64("attention.head_count");
  s.n_head_kv = k.i64("attention.head_count_kv", s.n_head);
  s.n_ctx_train = k.i64("context_length", 2048);
  if (s.n_embd < 1 || s.n_layer < 1 || s.n_ff < 1 || s.n_head < 1 || s.n_head_kv < 1)
    fail(
        "%s: non-positive hyper-parameter (embedding_length %lld, block_count %lld, "
        "feed_forward_length %lld, head_count %lld, head_count_kv %lld)",
        file.path().c_str(), (long long)s.n_embd, (long long)s.n_layer, (long long)s.n_ff,
        (long long)s.n_head, (long long)s.n_head_kv);
  if (s.n_head % s.n_head_kv != 0)
    fail("%s: %s.attention.head_count %lld is not a multiple of head_count_kv %lld",
         file.path().c_str(), s.arch.c_str(), (long long)s.n_head, (long long)s.n_head_kv);
  s.head_dim = k.i64("attention.key_length", s.n_embd / s.n_head);
  if (s.head_dim < 2 || k.i64("attention.value_length", s.head_dim) != s.head_dim)
    fail("%s: unsupported head size (key_length %lld, value_length must equal it)",
         file.path().c_str(), (long long)s.head_dim);
  s.rms_eps = k.f32("attention.layer_norm_rms_epsilon", 1e-5f);

  s.n_rot = static_cast<int32_t>(k.i64("rope.dimension_count", s.head_dim));
  if (s.n_rot < 2 || s.n_rot % 2 != 0 || s.n_rot > s.head_dim)
    fail("%s: %s.rope.dimension_count %d must be even and <= head size %lld", file.path().c_str(),
         s.arch.c_str(), s.n_rot, (long long)s.head_dim);
  s.rope_freq_base = k.f32("rope.freq_base", 10000.0f);
  s.rope_scaling_factor = k.f32("rope.scaling.factor", 0.0f);
  const float linear_old = k.f32("rope.scale_linear", 0.0f);  // pre-2024 files
  std::string type;
  if (const GgufValue* t = k.find("rope.scaling.type")) type = t->as_string("rope.scaling.type");
  if (type.empty()) type = linear_old > 0 ? "linear" : "none";
  if (linear_old > 0 && s.rope_scaling_factor == 0) s.rope_scaling_factor = linear_old;
  if (s.rope_scaling_factor <= 0) s.rope_scaling_factor = 1.0f;
  if (type == "none")
    s.rope_scaling = RopeScaling::kNone;
  else if (type == "linear")
    s.rope_scaling = RopeScaling::kLinear;
  else if (type == "llama3")
    s.rope_scaling = RopeScaling::kLlama3;
  else
    fail("%s: %s.rope.scaling.type '%s' is not supported (none, linear, llama3)",
         file.path().c_str(), s.arch.c_str(), type.c_str());
  s.rope_orig_ctx = k.i64("rope.scaling.original_context_length", 8192);
  s.rope_low_freq_factor = k.f32("rope.scaling.low_freq_factor", 1.0f);
  s.rope_high_freq_factor = k.f32("rope.scaling.high_freq_factor", 4.0f);

  s.n_swa = k.i64("attention.sliding_window", 0);
  if (s.n_swa < 0 || s.n_swa > INT32_MAX)
    fail("%s: %s.attention.sliding_window %lld out of range", file.path().c_str(), s.arch.c_str(),
         (long long)s.n_swa);
  if (const GgufValue* pat = k.find("attention.sliding_window_pattern")) {
    const std::string key = s.arch + ".attention.sliding_window_pattern";
    if (pat->is_array()) {  // one bool per layer
      const GgufArray& a = pat->as_array(key);
      if (static_cast<int64_t>(a.items.size()) != s.n_layer)
        fail("%s: %s has %zu entries, block_count is %lld", file.path().c_str(), key.c_str(),
             a.items.size(), (long long)s.n_layer);
      for (const GgufValue& b : a.items) s.swa_layers.push_back(b.as_bool(key));
    } else {
      const int64_t n = pat->as_i64(key);
      if (n < 0) fail("%s: %s is negative", file.path().c_str(), key.c_str());
      s.set_swa_pattern(n);
    }
  }
  s.rope_freq_base_swa = k.f32("rope.freq_base_swa", 0.0f);
  s.final_logit_softcap = k.f32("final_logit_softcapping", 0.0f);
  s.attn_logit_softcap = k.f32("attn_logit_softcapping", 0.0f);

  const GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  if (!embd) fail("%s: missing tensor token_embd.weight", file.path().c_str());
  s.n_vocab = k.i64("vocab_size", static_cast<int64_t>(embd->ne[1]));
  s.tied_output = file.find_tensor("output.weight") == nullptr;
  return s;
}

void ModelSpec::set_swa_pattern(int64_t n) {
  swa_layers.assign(static_cast<size_t>(n_layer), true);
  for (int64_t il = 0; il < n_layer; ++il) swa_layers[il] = n == 0 || il % n < n - 1;
}

uint64_t ModelSpec::kv_cache_bytes(int64_t n_ctx) const {
  return 2ull * n_layer * n_head_kv * head_dim * n_ctx * sizeof(float);
}

// As Meta's apply_scaling() for Llama 3.1: long wavelengths are slowed by
// `factor`, short ones kept, the band between interpolated smoothly.
void llama3_freq_factors(const ModelSpec& s, float* out) {
  const int half = s.n_rot / 2;
  for (int i = 0; i < half; ++i) out[i] = 1.0f;
  if (s.rope_scaling != RopeScaling::kLlama3) return;
  const double factor = s.rope_scaling_factor, lo = s.rope_low_freq_factor,
               hi = s.rope_high_freq_factor, old_ctx = static_cast<double>(s.rope_orig_ctx);
  const double low_wavelen = old_ctx / lo, high_wavelen = old_ctx / hi;
  for (int i = 0; i < half; ++i) {
    const double freq = std::pow(double(s.rope_freq_base), -2.0 * i / s.n_rot);
    const double wavelen = 2 * std::numbers::pi / freq;
    if (wavelen < high_wavelen) {
      out[i] = 1.0f;
    } else if (wavelen > low_wavelen) {
      out[i] = static_cast<float>(factor);
    } else {
      const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
      out[i] = static_cast<float>(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
}

}  // namespace pivot
