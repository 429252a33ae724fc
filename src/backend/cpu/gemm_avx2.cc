// The prefill GEMM's AVX2+FMA tile kernel (gemm.h): kGemmMr x 16 outputs in 12 ymm
// accumulators, one broadcast activation against two packed weight vectors per
// step. Compiled with -mavx2 -mfma (src/backend/CMakeLists.txt); called only after
// the run-time CPU check in cpu_backend.cc.
#include "gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace pivot::cpu {
namespace {

static_assert(kGemmNr == 16, "the AVX2 tile holds 16 columns in two ymm registers");

// Stores (or adds) one row's 16 results; masked when the strip is partial.
inline void put(float* c, __m256 lo, __m256 hi, int nr, bool accumulate) {
  if (nr == kGemmNr) {
    if (accumulate) {
      lo = _mm256_add_ps(lo, _mm256_loadu_ps(c));
      hi = _mm256_add_ps(hi, _mm256_loadu_ps(c + 8));
    }
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
    return;
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
  const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
  if (accumulate) {
    lo = _mm256_add_ps(lo, _mm256_maskload_ps(c, m0));
    hi = _mm256_add_ps(hi, _mm256_maskload_ps(c + 8, m1));
  }
  _mm256_maskstore_ps(c, m0, lo);
  _mm256_maskstore_ps(c + 8, m1, hi);
}

// Accumulators are named scalars, not an array, so they stay in registers.
template <int MR>
void tile(int nr, int64_t kc, const float* x, int64_t ldx, const float* p, float* c, int64_t ldc,
          bool accumulate) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0,
         a4 = a0, b4 = a0, a5 = a0, b5 = a0;
  const float* x0 = x;
  // Rows past MR alias row 0 (never read), so no pointer leaves the array.
  const float* x1 = x + (MR > 1 ? ldx : 0);
  const float* x2 = x + (MR > 2 ? 2 * ldx : 0);
  const float* x3 = x + (MR > 3 ? 3 * ldx : 0);
  const float* x4 = x + (MR > 4 ? 4 * ldx : 0);
  const float* x5 = x + (MR > 5 ? 5 * ldx : 0);
  for (int64_t k = 0; k < kc; ++k, p += kGemmNr) {
    const __m256 w0 = _mm256_loadu_ps(p), w1 = _mm256_loadu_ps(p + 8);
    __m256 v = _mm256_broadcast_ss(x0 + k);
    a0 = _mm256_fmadd_ps(v, w0, a0);
    b0 = _mm256_fmadd_ps(v, w1, b0);
    if constexpr (MR > 1) {
      v = _mm256_broadcast_ss(x1 + k);
      a1 = _mm256_fmadd_ps(v, w0, a1);
      b1 = _mm256_fmadd_ps(v, w1, b1);
    }
    if constexpr (MR > 2) {
      v = _mm256_broadcast_ss(x2 + k);
      a2 = _mm256_fmadd_ps(v, w0, a2);
      b2 = _mm256_fmadd_ps(v, w1, b2);
    }
    if constexpr (MR > 3) {
      v = _mm256_broadcast_ss(x3 + k);
      a3 = _mm256_fmadd_ps(v, w0, a3);
      b3 = _mm256_fmadd_ps(v, w1, b3);
    }
    if constexpr (MR > 4) {
      v = _mm256_broadcast_ss(x4 + k);
      a4 = _mm256_fmadd_ps(v, w0, a4);
      b4 = _mm256_fmadd_ps(v, w1, b4);
    }
    if constexpr (MR > 5) {
      v = _mm256_broadcast_ss(x5 + k);
      a5 = _mm256_fmadd_ps(v, w0, a5);
      b5 = _mm256_fmadd_ps(v, w1, b5);
    }
  }
  put(c, a0, b0, nr, accumulate);
  if constexpr (MR > 1) put(c + ldc, a1, b1, nr, accumulate);
  if constexpr (MR > 2) put(c + 2 * ldc, a2, b2, nr, accumulate);
  if constexpr (MR > 3) put(c + 3 * ldc, a3, b3, nr, accumulate);
  if constexpr (MR > 4) put(c + 4 * ldc, a4, b4, nr, accumulate);
  if constexpr (MR > 5) put(c + 5 * ldc, a5, b5, nr, accumulate);
}

void tile_avx2(int mr, int nr, int64_t kc, const float* x, int64_t ldx, const float* p, float* c,
               int64_t ldc, bool accumulate) {
  switch (mr) {
    case 6:
      return tile<6>(nr, kc, x, ldx, p, c, ldc, accumulate);
    case 5:
      return tile<5>(nr, kc, x, ldx, p, c, ldc, accumulate);
    case 4:
      return tile<4>(nr, kc, x, ldx, p, c, ldc, accumulate);
    case 3:
      return tile<3>(nr, kc, x, ldx, p, c, ldc, accumulate);
    case 2:
      return tile<2>(nr, kc, x, ldx, p, c, ldc, accumulate);
    default:
      return tile<1>(nr, kc, x, ldx, p, c, ldc, accumulate);
  }
}

}  // namespace

GemmTile gemm_tile_avx2() {
  static_assert(kGemmMr == 6, "tile_avx2 dispatches mr 1..6");
  return tile_avx2;
}

}  // namespace pivot::cpu

#else

namespace pivot::cpu {
GemmTile gemm_tile_avx2() {
  return nullptr;
}
}  // namespace pivot::cpu

#endif
