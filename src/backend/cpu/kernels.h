// Inner kernels of the cpu backend's matmul, chosen once at start-up by CPU
// features (runtime dispatch): AVX2+FMA+F16C where available, portable scalar
// code otherwise. Both compute in f32 from the GGUF blocks defined in quant.h.
#pragma once

#include <cstdint>

#include "pivot/ggml_type.h"

namespace pivot::cpu {

// Elements per chunk a DequantChunk produces: one K-quant super-block, or 8
// blocks of 32, so every supported type's rows split into whole chunks.
inline constexpr int64_t kChunk = 256;

// Dequantizes n elements (n <= kChunk, a multiple of the block size) starting at
// block-aligned `src` into `dst`.
using DequantChunk = void (*)(const uint8_t* src, float* dst, int64_t n);

// acc[j] += Σ_i a[i] · x[j * ldx + i] for j < nx (nx <= 4), n elements.
using DotRows = void (*)(const float* a, const float* x, int64_t n, int64_t ldx, int nx,
                         double* acc);

// y[m * ldy] = Σ_i W[i] · x[m * ldx + i] for m < M: one weight row of K elements
// in GGUF blocks against M f32 activation rows, dequantized in registers once
// per block and shared by all M rows (the decode path: weights read once).
// xs[m * ldxs + b] = Σ x[m * ldx + 32b .. 32b + 32) for b < K / 32 (block_sums_32):
// types with an offset (Q4_1, Q5_1, Q4_K) use it instead of re-adding x per row.
// Any M >= 1 works; groups of kRowDotRows rows share one dequantization.
using RowDot = void (*)(const uint8_t* w, const float* x, int64_t ldx, int M, int64_t K, float* y,
                        int64_t ldy, const float* xs, int64_t ldxs);
inline constexpr int kRowDotRows = 4;

// xs[m * (K / 32) + b] = Σ of block b of activation row m (the xs of RowDot).
inline void block_sums_32(const float* x, int64_t ldx, int64_t M, int64_t K, float* xs) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t b = 0; b < K / 32; ++b) {
      const float* p = x + m * ldx + 32 * b;
      float s[4] = {};
      for (int i = 0; i < 32; i += 4)
        for (int l = 0; l < 4; ++l) s[l] += p[i + l];
      xs[m * (K / 32) + b] = (s[0] + s[1]) + (s[2] + s[3]);
    }
}

struct Kernels {
  const char* name;  // "avx2", "scalar"
  DotRows dot_rows;
  DequantChunk (*dequant)(GgmlType type);  // nullptr: use quant.h's dequantize_row
  RowDot (*row_dot)(GgmlType type);        // nullptr: dequantize, then dot_rows
};

const Kernels& scalar_kernels();
const Kernels* avx2_kernels();  // nullptr if not compiled in (non-x86 builds)

}  // namespace pivot::cpu
