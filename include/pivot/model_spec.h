// Hyper-parameters of a decoder-only transformer, read from GGUF metadata.
//
// Keys are "<arch>.<name>" as gguf-py's constants.py spells them (arch =
// general.architecture, e.g. "llama"). Defaults follow llama.cpp where a key is
// optional. Errors: pivot::Error naming the missing or malformed key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pivot/backend.h"
#include "pivot/gguf.h"

namespace pivot {

enum class RopeScaling : uint8_t {
  kNone,
  kLinear,  // positions divided by rope.scaling.factor
  kLlama3,  // per-frequency factors (Llama 3.1): rope_freqs.weight or computed
};

struct ModelSpec {
  std::string arch;         // general.architecture
  std::string name;         // general.name, or the file name
  int64_t n_vocab = 0;      // <arch>.vocab_size, else token_embd.weight ne[1]
  int64_t n_ctx_train = 0;  // <arch>.context_length
  int64_t n_embd = 0;       // <arch>.embedding_length
  int64_t n_layer = 0;      // <arch>.block_count
  int64_t n_ff = 0;         // <arch>.feed_forward_length
  int64_t n_head = 0;       // <arch>.attention.head_count
  int64_t n_head_kv = 0;    // <arch>.attention.head_count_kv (default n_head)
  int64_t head_dim = 0;     // <arch>.attention.key_length (default n_embd / n_head)
  float rms_eps = 1e-5f;    // <arch>.attention.layer_norm_rms_epsilon

  RopeMode rope_mode = RopeMode::kNorm;           // set by the architecture
  int32_t n_rot = 0;                              // <arch>.rope.dimension_count (default head_dim)
  float rope_freq_base = 10000.0f;                // <arch>.rope.freq_base
  RopeScaling rope_scaling = RopeScaling::kNone;  // <arch>.rope.scaling.type
  float rope_scaling_factor = 1.0f;               // <arch>.rope.scaling.factor
  int64_t rope_orig_ctx = 0;                      // <arch>.rope.scaling.original_context_length
  // Llama-3 scaling (defaults are Llama 3.1's; GGUF rarely stores them).
  float rope_low_freq_factor = 1.0f;   // <arch>.rope.scaling.low_freq_factor
  float rope_high_freq_factor = 4.0f;  // <arch>.rope.scaling.high_freq_factor

  // Sliding-window attention (Gemma 2/3, Mistral v0.1): a query at position p of a
  // window layer sees keys p - n_swa < j <= p; other layers see all of 0 ..= p.
  int64_t n_swa = 0;              // <arch>.attention.sliding_window (0: no window)
  std::vector<bool> swa_layers;   // per layer, true = windowed; empty = none windowed
  float rope_freq_base_swa = 0;   // <arch>.rope.freq_base_swa (0: absent, arch decides)
  float final_logit_softcap = 0;  // <arch>.final_logit_softcapping (0: none)
  float attn_logit_softcap = 0;   // <arch>.attn_logit_softcapping (0: none)

  bool tied_output = false;  // no output.weight: the logits reuse token_embd.weight

  static ModelSpec from_gguf(const GgufFile& file);

  // Fills swa_layers as llama.cpp's swa pattern n does: layer il is windowed unless
  // il % n == n - 1 (n = 6: five windowed layers, then one full); n = 0: all windowed.
  void set_swa_pattern(int64_t n);
  bool is_swa(int64_t il) const {
    return n_swa > 0 && static_cast<size_t>(il) < swa_layers.size() && swa_layers[il];
  }

  // Bytes of an F32 KV cache for n_ctx positions (K and V, every layer).
  uint64_t kv_cache_bytes(int64_t n_ctx) const;
};

// Llama-3 frequency factors for the n_rot/2 rotary pairs (the values
// convert_hf_to_gguf.py writes to rope_freqs.weight); all 1 without that scaling.
void llama3_freq_factors(const ModelSpec& spec, float* out);

}  // namespace pivot
