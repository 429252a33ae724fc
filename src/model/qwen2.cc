// The `qwen2` architecture (Qwen2, Qwen2.5): Llama with biases on the Q/K/V
// projections and NeoX-style RoPE (GGUF keeps Wq/Wk in Hugging Face order).
#include "llama.h"

namespace pivot {
namespace {

std::unique_ptr<Model> make_qwen2(const GgufFile& file, Backend& backend,
                                  const ModelOptions& opts) {
  return make_llama_family(file, backend, opts, {.rope_mode = RopeMode::kNeox});
}

}  // namespace

PIVOT_REGISTER_ARCH(qwen2, &make_qwen2);

}  // namespace pivot
