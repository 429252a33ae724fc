// Blocked prefill attention (attention_cpu.h): S = Q·Kᵀ and O = softmax(S)·V as
// packed GEMMs over the block's key range, masked rows cleared before the second.
#include "attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace pivot::cpu {

namespace {

// Each buffer starts 64-byte aligned (gemm.h): 16 floats of slack apiece.
constexpr int64_t kSlack = 16;

}  // namespace

int64_t attention_block_scratch(int64_t n_q, int64_t group, int64_t n_keys, int64_t D) {
  const int64_t rows = n_q * group;
  return rows * D                        // queries, contiguous
         + gemm_x_floats(rows, D)        // queries packed as GEMM activations
         + gemm_panel_floats(n_keys, D)  // keys packed as GEMM weight rows
         + rows * n_keys                 // scores, then probabilities
         + gemm_x_floats(rows, n_keys)   // probabilities packed as GEMM activations
         + gemm_panel_floats(D, n_keys)  // values packed k-major
         + rows * D                      // unnormalised outputs
         + rows                          // row sums
         + 8 * kSlack;
}

void attention_block(const GemmKernels& g, const Activations& act, const AttentionBlock& b,
                     float* scratch) {
  const int64_t D = b.D, rows = b.n_q * b.group, n = b.j_hi - b.j_lo + 1;
  float* qbuf = gemm_align(scratch);
  float* qp = gemm_align(qbuf + rows * D);
  float* kpanel = gemm_align(qp + gemm_x_floats(rows, D));
  float* s = gemm_align(kpanel + gemm_panel_floats(n, D));
  float* sp = gemm_align(s + rows * n);
  float* vpanel = gemm_align(sp + gemm_x_floats(rows, n));
  float* o = gemm_align(vpanel + gemm_panel_floats(D, n));
  float* sum = o + rows * D;

  for (int64_t i = 0; i < b.n_q; ++i)
    std::memcpy(qbuf + i * b.group * D, b.q + i * b.q_stride,
                static_cast<size_t>(b.group * D) * sizeof(float));
  for (int64_t j = 0; j < n; j += kGemmNr)
    gemm_pack_strip(g, b.k_rows + j, std::min<int64_t>(kGemmNr, n - j), D, kpanel + j * D);
  gemm_pack_x(qbuf, D, rows, D, 0, (rows + kGemmMr - 1) / kGemmMr, qp);
  gemm_panel(g, qp, rows, D, kpanel, n, s, n);

  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / b.group, lo = b.first[i] - b.j_lo, hi = b.last[i] - b.j_lo;
    float* sr = s + r * n;
    float max_s = -INFINITY;
    for (int64_t j = lo; j <= hi; ++j) max_s = std::max(max_s, sr[j] *= b.scale);
    const double total = act.exp_shift(sr + lo, hi - lo + 1, max_s);
    std::fill(sr, sr + lo, 0.0f);
    std::fill(sr + hi + 1, sr + n, 0.0f);
    sum[r] = static_cast<float>(1.0 / total);
  }

  // V as the "weight" of O = P·V: strip t holds columns d in [16t, 16t + 16), k-major.
  for (int64_t t = 0; t * kGemmNr < D; ++t) {
    const int64_t d0 = t * kGemmNr, w = std::min<int64_t>(kGemmNr, D - d0);
    float* strip = vpanel + t * kGemmNr * n;
    for (int64_t j = 0; j < n; ++j) {
      float* dst = strip + j * kGemmNr;
      std::memcpy(dst, b.v_rows[j] + d0, static_cast<size_t>(w) * sizeof(float));
      std::fill(dst + w, dst + kGemmNr, 0.0f);
    }
  }
  gemm_pack_x(s, n, rows, n, 0, (rows + kGemmMr - 1) / kGemmMr, sp);
  gemm_panel(g, sp, rows, n, vpanel, D, o, D);

  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / b.group, g = r % b.group;
    float* dst = b.out + i * b.q_stride + g * D;
    for (int64_t d = 0; d < D; ++d) dst[d] = o[r * D + d] * sum[r];
  }
}

}  // namespace pivot::cpu
