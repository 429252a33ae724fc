// Packing and the blocked loop of the prefill GEMM (gemm.h), and the portable
// tile kernel.
#include "gemm.h"

#include <algorithm>

namespace pivot::cpu {
namespace {

void tile_scalar(int mr, int nr, int64_t kc, const float* x, int64_t ldx, const float* p, float* c,
                 int64_t ldc, bool accumulate) {
  for (int i = 0; i < mr; ++i) {
    float s[kGemmNr] = {};
    for (int64_t k = 0; k < kc; ++k) {
      const float a = x[i * ldx + k];
      for (int j = 0; j < kGemmNr; ++j) s[j] += a * p[k * kGemmNr + j];
    }
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + s[j];
  }
}

}  // namespace

GemmTile gemm_tile_scalar() {
  return tile_scalar;
}

int64_t gemm_panel_floats(int64_t n_rows, int64_t K) {
  return (n_rows + kGemmNr - 1) / kGemmNr * kGemmNr * K;
}

// Sequential writes, 16 sequential read streams: much cheaper than scattering each
// row at a 64-byte stride.
void gemm_pack_strip(const float* const* rows, int64_t nr, int64_t K, float* strip) {
  if (nr == kGemmNr) {
    for (int64_t k = 0; k < K; ++k, strip += kGemmNr)
      for (int j = 0; j < kGemmNr; ++j) strip[j] = rows[j][k];
    return;
  }
  for (int64_t k = 0; k < K; ++k, strip += kGemmNr) {
    for (int64_t j = 0; j < nr; ++j) strip[j] = rows[j][k];
    std::fill(strip + nr, strip + kGemmNr, 0.0f);
  }
}

void gemm_panel(GemmTile tile, const float* x, int64_t M, int64_t K, const float* panel,
                int64_t n_rows, float* y, int64_t ldy) {
  const int64_t n_strips = (n_rows + kGemmNr - 1) / kGemmNr;
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKc) {
    const int64_t kc = std::min(kGemmKc, K - k0);
    for (int64_t m0 = 0; m0 < M; m0 += kGemmMr) {
      const int mr = static_cast<int>(std::min<int64_t>(kGemmMr, M - m0));
      for (int64_t s = 0; s < n_strips; ++s) {
        const int nr = static_cast<int>(std::min<int64_t>(kGemmNr, n_rows - s * kGemmNr));
        tile(mr, nr, kc, x + m0 * K + k0, K, panel + s * kGemmNr * K + k0 * kGemmNr,
             y + m0 * ldy + s * kGemmNr, ldy, k0 > 0);
      }
    }
  }
}

}  // namespace pivot::cpu
