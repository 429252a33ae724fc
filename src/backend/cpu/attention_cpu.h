// Prefill attention for the cpu backend: one KV head and a block of queries at a
// time, so the queries of all heads sharing that KV head (GQA group) read each
// key and value once. Scores and the weighted sum of values are two GEMMs on the
// prefill GEMM's kernels (gemm.h); softmax in f32 with an f64 row sum, as
// the per-query path. Causal and sliding-window limits are exact per query.
#pragma once

#include <cstdint>

#include "gemm.h"
#include "kernels.h"

namespace pivot::cpu {

// What one block reads and writes. Query i (i < n_q) of the block, head g of the
// group (g < group) is the D floats at q + i * q_stride + g * D; its output goes
// to the same offset in out. It attends to keys first[i] ..= last[i] (absolute
// positions, j_lo <= first[i] <= last[i] <= j_hi); key j's K and V rows (D floats)
// are k_rows[j - j_lo] and v_rows[j - j_lo].
struct AttentionBlock {
  const float* q = nullptr;
  float* out = nullptr;
  int64_t q_stride = 0, n_q = 0, group = 0, D = 0;
  const float* const* k_rows = nullptr;
  const float* const* v_rows = nullptr;
  int64_t j_lo = 0, j_hi = 0;
  const int64_t* first = nullptr;
  const int64_t* last = nullptr;
  float scale = 1.0f;  // applied to q·k before softmax
};

// Floats of scratch attention_block needs for n_q queries, group heads, n_keys keys.
int64_t attention_block_scratch(int64_t n_q, int64_t group, int64_t n_keys, int64_t D);

// The softmax's exponentials are act.exp_shift's.
void attention_block(const GemmKernels& g, const Activations& act, const AttentionBlock& b,
                     float* scratch);

}  // namespace pivot::cpu
