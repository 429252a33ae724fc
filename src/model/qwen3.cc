// The `qwen3` architecture (dense Qwen3): Llama with NeoX-style RoPE, no QKV
// bias, and an RMSNorm over each query and key head before RoPE. The head size
// (qwen3.attention.key_length) may differ from embedding_length / head_count.
#include "llama.h"

namespace pivot {
namespace {

std::unique_ptr<Model> make_qwen3(const GgufFile& file, Backend& backend,
                                  const ModelOptions& opts) {
  return make_llama_family(file, backend, opts, {.rope_mode = RopeMode::kNeox, .qk_norm = true});
}

}  // namespace

PIVOT_REGISTER_ARCH(qwen3, &make_qwen3);

}  // namespace pivot
