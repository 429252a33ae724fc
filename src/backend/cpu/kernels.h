// Inner kernels of the cpu backend's matmul, chosen once at start-up by CPU
// features (runtime dispatch): AVX2+FMA+F16C where available, portable scalar
// code otherwise. Both compute in f32 from the GGUF blocks defined in quant.h,
// except the Q8 decode kernels (RowDotQ8), which take integer dot products
// against 8-bit activations (BackendOptions::activations == kQ8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

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

// Calls f(std::integral_constant<int, n>{}, m0) for each group of up to
// kRowDotRows activation rows: m0 the group's first row, n its row count as a
// compile-time constant (the decode kernels keep one register set per row).
template <typename F>
inline void for_row_groups(int M, F f) {
  for (int m0 = 0; m0 < M; m0 += kRowDotRows) {
    switch (M - m0) {
      case 1:
        f(std::integral_constant<int, 1>{}, m0);
        break;
      case 2:
        f(std::integral_constant<int, 2>{}, m0);
        break;
      case 3:
        f(std::integral_constant<int, 3>{}, m0);
        break;
      default:
        static_assert(kRowDotRows == 4);
        f(std::integral_constant<int, 4>{}, m0);
        break;
    }
  }
}

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

// Q8 activations (the decode path's kQ8 numerics). Each activation row of K
// elements (K a multiple of 32) is cut into blocks of 32; block b of row m is
//   amax = max |x_i| over the block,  d = amax / 127 (f32),
//   q_i  = nearbyint(x_i * (127 / amax)) as int8 (round half to even; all 0 if amax = 0),
//   s    = d * Σ q_i (f32; the offset types' term, see below),
// and stands for x'_i = q_i * d. Storage: q at q + m * ldq + 32 b (int8),
// d and s at d[m * ldd + b], s[m * ldd + b].
struct Q8Rows {
  const int8_t* q;
  int64_t ldq;
  const float* d;
  const float* s;
  int64_t ldd;
};

// Quantizes one row of n floats (n a multiple of 32) as above: q[n], d[n/32], s[n/32].
using QuantizeQ8 = void (*)(const float* x, int64_t n, int8_t* q, float* d, float* s);

// y[m * ldy + r] = Σ_i W_r[i] · x'[m][i] for r < R, m < M: R weight rows of K
// elements in GGUF blocks (row r at w + r * row_bytes) against M Q8 activation
// rows. Per weight block (or K-quant sub-block) of 32 the weight codes u and
// activation codes q meet in an exact integer dot product; it is scaled once by
// d_w · d_x in f32. Types with an offset (W = d_w (u - o), or d_w u + m_w) take
// the integer offset o inside the integer dot (Q4_0: 8, Q5_0: 16) or add m_w·s
// from the activation's s, so results equal the f32 dot of dequantized W with x'
// up to f32 summation order. Any R, M >= 1 work; a kernel set may share one
// pass over the activations between several weight rows and one pass over the
// weights between up to kRowDotRows activation rows.
using RowDotQ8 = void (*)(const uint8_t* w, size_t row_bytes, int64_t R, const Q8Rows& x, int M,
                          int64_t K, float* y, int64_t ldy);

// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed
// scale bytes q of a super-block (layout in src/format/quant_kquants.cc).
inline void scale_min_k4(int j, const uint8_t* q, int* d, int* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Elementwise activations and the softmax exponential of a kernel set
// (activations_avx2.cc: an 8-lane exp within 0.62 FLT_EPSILON (relative, measured) of std::exp; the
// scalar set calls std::exp / std::tanh). Any n >= 0; d may alias a or b.
struct Activations {
  // d[i] = a[i] / (1 + e^(−a[i])) · b[i] (SwiGLU's SiLU(gate) · up).
  void (*silu_mul)(const float* a, const float* b, float* d, int64_t n);
  // d[i] = gelu_tanh(a[i]) · b[i] (GeGLU; op_check.h's tanh approximation).
  void (*gelu_mul)(const float* a, const float* b, float* d, int64_t n);
  // x[i] = e^(x[i] − shift) for i < n (softmax with shift = the row's max); returns
  // Σ x[i], summed in f32 lanes then f64.
  double (*exp_shift)(float* x, int64_t n, float shift);
};

// y[m * ldy + r] = Σ_k W[r][k] · x[m * ldx + k] for r < n_rows, m < M: n_rows (a
// multiple of 16) F16 weight rows in the strip layout (f16_strips.h), w at the
// first row of a group, against M f32 activation rows; f32 sums (decode).
using F16StripDot = void (*)(const uint16_t* w, int64_t n_rows, const float* x, int64_t ldx, int M,
                             int64_t K, float* y, int64_t ldy);
F16StripDot f16_strip_dot_avx2();  // nullptr if not compiled in

const Activations& activations_scalar();
const Activations* activations_avx2();  // nullptr if not compiled in

struct Kernels {
  const char* name;  // "avx2", "scalar"
  DotRows dot_rows;
  DequantChunk (*dequant)(GgmlType type);  // nullptr: use quant.h's dequantize_row
  RowDot (*row_dot)(GgmlType type);        // nullptr: dequantize, then dot_rows
  QuantizeQ8 quantize_q8;
  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K; nullptr for other types (which
  // keep f32 activations).
  RowDotQ8 (*row_dot_q8)(GgmlType type);
  // The same for weights repacked in the x8 layout (repack_x8.h): R a multiple of
  // 8, w at the first row of a group. nullptr (no kernel set) or returning nullptr
  // (no kernel for the type): the weights stay in GGUF rows.
  RowDotQ8 (*row_dot_q8_x8)(GgmlType type);
  // F16 weights in the strip layout; nullptr (no kernel): they stay in GGUF rows.
  F16StripDot f16_strip_dot;
  const Activations* act;
};

// The Q8 parts of each kernel set (kernels_q8_scalar.cc, kernels_q8_avx2.cc).
void quantize_q8_scalar(const float* x, int64_t n, int8_t* q, float* d, float* s);
RowDotQ8 row_dot_q8_scalar(GgmlType type);
void quantize_q8_avx2(const float* x, int64_t n, int8_t* q, float* d, float* s);
RowDotQ8 row_dot_q8_avx2(GgmlType type);
RowDotQ8 row_dot_q8_kquants_avx2(GgmlType type);  // Q4_K, Q5_K, Q6_K (row_dot_q8_avx2 asks it)
RowDotQ8 row_dot_q8_x8_avx2(GgmlType type);       // Q4_0, Q4_1 (kernels_q8_x8_avx2.cc)

const Kernels& scalar_kernels();
const Kernels* avx2_kernels();  // nullptr if not compiled in (non-x86 builds)

}  // namespace pivot::cpu
