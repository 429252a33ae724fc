// Packing and the blocked loop of the prefill GEMM (gemm.h), and the portable
// kernels.
#include "gemm.h"

#include <algorithm>
#include <cstdint>

#include "pivot/quant.h"

namespace pivot::cpu {
namespace {

inline float widen(float v) {
  return v;
}
inline float widen(uint16_t h) {
  return fp16_to_fp32(h);
}

template <typename W>
void tile_scalar(int mr, int nr, int64_t kc, const float* xp, const W* p, float* c, int64_t ldc,
                 bool accumulate) {
  float s[kGemmMr][kGemmNr] = {};
  for (int64_t k = 0; k < kc; ++k, xp += kGemmMr, p += kGemmNr) {
    float w[kGemmNr];
    for (int j = 0; j < kGemmNr; ++j) w[j] = widen(p[j]);
    for (int i = 0; i < kGemmMr; ++i)
      for (int j = 0; j < kGemmNr; ++j) s[i][j] += xp[i] * w[j];
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + s[i][j];
}

// Sequential writes, 16 sequential read streams: much cheaper than scattering each
// row at a 64-byte stride.
void pack_strip_scalar(const float* const* rows, int64_t nr, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k, dst += kGemmNr) {
    for (int64_t j = 0; j < nr; ++j) dst[j] = rows[j][k];
    std::fill(dst + nr, dst + kGemmNr, 0.0f);
  }
}

void pack_strip_f16_scalar(const uint16_t* const* rows, int64_t nr, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k, dst += kGemmNr) {
    for (int64_t j = 0; j < nr; ++j) dst[j] = fp16_to_fp32(rows[j][k]);
    std::fill(dst + nr, dst + kGemmNr, 0.0f);
  }
}

}  // namespace

const GemmKernels& gemm_kernels_scalar() {
  static const GemmKernels k{"scalar", tile_scalar<float>, tile_scalar<uint16_t>, pack_strip_scalar,
                             pack_strip_f16_scalar};
  return k;
}

int64_t gemm_x_floats(int64_t M, int64_t K) {
  return (M + kGemmMr - 1) / kGemmMr * kGemmMr * K;
}

void gemm_pack_x_panel(const float* rows, int64_t ldx, int n_rows, int64_t M, int64_t K, int64_t p,
                       float* xp) {
  const int64_t Mp = (M + kGemmMr - 1) / kGemmMr * kGemmMr;
  const float* src[kGemmMr];
  for (int i = 0; i < n_rows; ++i) src[i] = rows + i * ldx;
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKc) {
    const int64_t kc = std::min(kGemmKc, K - k0);
    float* dst = xp + k0 * Mp + p * kc * kGemmMr;
    if (n_rows == kGemmMr) {
      for (int64_t k = k0; k < k0 + kc; ++k, dst += kGemmMr)
        for (int i = 0; i < kGemmMr; ++i) dst[i] = src[i][k];
    } else {
      for (int64_t k = k0; k < k0 + kc; ++k, dst += kGemmMr)
        for (int i = 0; i < kGemmMr; ++i) dst[i] = i < n_rows ? src[i][k] : 0.0f;
    }
  }
}

void gemm_pack_x(const float* x, int64_t ldx, int64_t M, int64_t K, int64_t p0, int64_t p1,
                 float* xp) {
  for (int64_t p = p0; p < p1; ++p)
    gemm_pack_x_panel(x + p * kGemmMr * ldx, ldx,
                      static_cast<int>(std::min<int64_t>(kGemmMr, M - p * kGemmMr)), M, K, p, xp);
}

int64_t gemm_panel_floats(int64_t n_rows, int64_t K) {
  return (n_rows + kGemmNr - 1) / kGemmNr * kGemmNr * K;
}

void gemm_pack_strip(const GemmKernels& g, const float* const* rows, int64_t nr, int64_t K,
                     float* strip) {
  g.pack_strip(rows, nr, K, strip);
}

void gemm_panel(const GemmKernels& g, const float* xp, int64_t M, int64_t K, const float* panel,
                int64_t n_rows, float* y, int64_t ldy) {
  const int64_t n_strips = (n_rows + kGemmNr - 1) / kGemmNr;
  const int64_t Mp = (M + kGemmMr - 1) / kGemmMr * kGemmMr;
  for (int64_t k0 = 0; k0 < K; k0 += kGemmKc) {
    const int64_t kc = std::min(kGemmKc, K - k0);
    for (int64_t m0 = 0; m0 < M; m0 += kGemmMr) {
      const int mr = static_cast<int>(std::min<int64_t>(kGemmMr, M - m0));
      const float* x = xp + k0 * Mp + m0 * kc;
      for (int64_t s = 0; s < n_strips; ++s) {
        const int nr = static_cast<int>(std::min<int64_t>(kGemmNr, n_rows - s * kGemmNr));
        g.tile(mr, nr, kc, x, panel + s * kGemmNr * K + k0 * kGemmNr, y + m0 * ldy + s * kGemmNr,
               ldy, k0 > 0);
      }
    }
  }
}

static_assert(kGemmKc <= kChunk, "a K block is dequantized by one DequantChunk call");

void gemm_pack_weights(const GemmKernels& g, GgmlType type, DequantChunk dq, const uint8_t* src,
                       size_t row_bytes, int64_t ns, int64_t kc, float* stage, float* strip) {
  if (type == GgmlType::F16) {
    const uint16_t* halves[kGemmNr];
    for (int64_t r = 0; r < ns; ++r)
      halves[r] = reinterpret_cast<const uint16_t*>(src + r * row_bytes);
    return g.pack_strip_f16(halves, ns, kc, strip);
  }
  const float* rows[kGemmNr];
  for (int64_t r = 0; r < ns; ++r, src += row_bytes) {
    if (type == GgmlType::F32) {
      rows[r] = reinterpret_cast<const float*>(src);
      continue;
    }
    float* dst = stage + r * kc;
    if (dq) {
      dq(src, dst, kc);
    } else {
      dequantize_row(type, src, dst, kc);
    }
    rows[r] = dst;
  }
  g.pack_strip(rows, ns, kc, strip);
}

void gemm_prefetch_rows(const uint8_t* src, size_t row_bytes, int64_t n_rows, size_t bytes) {
  for (int64_t r = 0; r < n_rows; ++r, src += row_bytes)
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(src + b, 0, 2);
}

int64_t gemm_block_floats(int64_t n_rows) {
  return (n_rows + kGemmNr - 1) / kGemmNr * kGemmNr * kGemmKc;
}

void gemm_panel_block(const GemmKernels& g, const float* xp, int64_t M, int64_t K, int64_t k0,
                      const float* block, int64_t n_rows, float* y, int64_t ldy, int64_t m_begin,
                      int64_t m_end) {
  const int64_t n_strips = (n_rows + kGemmNr - 1) / kGemmNr;
  const int64_t Mp = (M + kGemmMr - 1) / kGemmMr * kGemmMr;
  const int64_t kc = std::min(kGemmKc, K - k0);
  for (int64_t m0 = m_begin; m0 < m_end; m0 += kGemmMr) {
    const int mr = static_cast<int>(std::min<int64_t>(kGemmMr, m_end - m0));
    const float* x = xp + k0 * Mp + m0 * kc;
    for (int64_t s = 0; s < n_strips; ++s) {
      const int nr = static_cast<int>(std::min<int64_t>(kGemmNr, n_rows - s * kGemmNr));
      g.tile(mr, nr, kc, x, block + s * kGemmNr * kc, y + m0 * ldy + s * kGemmNr, ldy, k0 > 0);
    }
  }
}

void gemm_panel_block_f16(const GemmKernels& g, const float* xp, int64_t M, int64_t K, int64_t k0,
                          const uint16_t* groups, int64_t n_rows, float* y, int64_t ldy,
                          int64_t m_begin, int64_t m_end) {
  const int64_t n_strips = n_rows / kGemmNr;
  const int64_t Mp = (M + kGemmMr - 1) / kGemmMr * kGemmMr;
  const int64_t kc = std::min(kGemmKc, K - k0);
  for (int64_t m0 = m_begin; m0 < m_end; m0 += kGemmMr) {
    const int mr = static_cast<int>(std::min<int64_t>(kGemmMr, m_end - m0));
    const float* x = xp + k0 * Mp + m0 * kc;
    for (int64_t s = 0; s < n_strips; ++s)
      g.tile_f16(mr, kGemmNr, kc, x, groups + s * kGemmNr * K + k0 * kGemmNr,
                 y + m0 * ldy + s * kGemmNr, ldy, k0 > 0);
  }
}

float* gemm_align(float* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<float*>((a + 63) & ~uintptr_t{63});
}

}  // namespace pivot::cpu
