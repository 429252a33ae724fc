// The Llama-family forward pass (src/model/llama.cc), shared by architectures
// that differ from Llama only in the switches below. Each such architecture is a
// tiny file that registers a factory calling make_llama_family() (qwen2.cc, qwen3.cc).
#pragma once

#include <memory>

#include "pivot/backend.h"
#include "pivot/gguf.h"
#include "pivot/model.h"

namespace pivot {

struct LlamaVariant {
  // How Q/K pairs are rotated. kNorm for "llama" (convert_hf_to_gguf.py permutes
  // Wq/Wk so adjacent pairs rotate); kNeox for Qwen2/Qwen3, stored unpermuted.
  RopeMode rope_mode = RopeMode::kNorm;
  // Qwen3: RMS-normalise each head of q and k (blk.N.attn_q_norm.weight /
  // attn_k_norm.weight, F32 {head_dim}) after the projection, before RoPE.
  bool qk_norm = false;
};

// A model of the Llama family on `backend`. Optional in every variant:
// attn_q/k/v biases (Qwen2), output.weight (tied to token_embd when absent),
// rope_freqs.weight. Throws pivot::Error naming a missing or misshapen tensor.
std::unique_ptr<Model> make_llama_family(const GgufFile& file, Backend& backend,
                                         const ModelOptions& opts, const LlamaVariant& variant);

}  // namespace pivot
