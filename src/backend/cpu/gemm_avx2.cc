// The prefill GEMM's AVX2+FMA kernels (gemm.h): the tile (kGemmMr x 16 outputs in
// 12 ymm accumulators, one broadcast activation from the packed micro-panel against
// two packed weight vectors per step; the weights f32, or F16 halves widened by F16C
// as they are loaded) and the strip packer (8 x 8 transposes). Compiled with -mavx2
// -mfma -mf16c (src/backend/CMakeLists.txt); called only after the run-time CPU check
// in cpu_backend.cc.
#include "gemm.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
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

// 8 elements of row r at k, as f32 (halves widened by F16C: exact).
inline __m256 load8(const float* r, int64_t k) {
  return _mm256_loadu_ps(r + k);
}
inline __m256 load8(const uint16_t* r, int64_t k) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r + k)));
}
inline float at(const float* r, int64_t k) {
  return r[k];
}
inline float at(const uint16_t* r, int64_t k) {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(r[k])));
}

// Accumulators are named scalars, not an array, so they stay in registers. All
// kGemmMr rows are computed (padding rows of xp are zeros); mr rows are stored.
// W: float (tile) or uint16_t halves widened as they are loaded (tile_f16).
template <typename W>
void tile_t(int mr, int nr, int64_t kc, const float* xp, const W* p, float* c, int64_t ldc,
            bool accumulate) {
  __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0,
         a4 = a0, b4 = a0, a5 = a0, b5 = a0;
  for (int64_t k = 0; k < kc; ++k, p += kGemmNr, xp += kGemmMr) {
    const __m256 w0 = load8(p, 0), w1 = load8(p, 8);
    __m256 v = _mm256_broadcast_ss(xp);
    a0 = _mm256_fmadd_ps(v, w0, a0);
    b0 = _mm256_fmadd_ps(v, w1, b0);
    v = _mm256_broadcast_ss(xp + 1);
    a1 = _mm256_fmadd_ps(v, w0, a1);
    b1 = _mm256_fmadd_ps(v, w1, b1);
    v = _mm256_broadcast_ss(xp + 2);
    a2 = _mm256_fmadd_ps(v, w0, a2);
    b2 = _mm256_fmadd_ps(v, w1, b2);
    v = _mm256_broadcast_ss(xp + 3);
    a3 = _mm256_fmadd_ps(v, w0, a3);
    b3 = _mm256_fmadd_ps(v, w1, b3);
    v = _mm256_broadcast_ss(xp + 4);
    a4 = _mm256_fmadd_ps(v, w0, a4);
    b4 = _mm256_fmadd_ps(v, w1, b4);
    v = _mm256_broadcast_ss(xp + 5);
    a5 = _mm256_fmadd_ps(v, w0, a5);
    b5 = _mm256_fmadd_ps(v, w1, b5);
  }
  put(c, a0, b0, nr, accumulate);
  if (mr > 1) put(c + ldc, a1, b1, nr, accumulate);
  if (mr > 2) put(c + 2 * ldc, a2, b2, nr, accumulate);
  if (mr > 3) put(c + 3 * ldc, a3, b3, nr, accumulate);
  if (mr > 4) put(c + 4 * ldc, a4, b4, nr, accumulate);
  if (mr > 5) put(c + 5 * ldc, a5, b5, nr, accumulate);
}

// Rows v[0 .. 7] of an 8 x 8 block stored transposed: column c at dst + c * kGemmNr
// (the usual unpack / shuffle / permute 8 x 8 transpose).
inline void transpose8x8(const __m256* v, float* dst) {
  const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
  const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
  const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
  const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * kGemmNr, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * kGemmNr, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * kGemmNr, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * kGemmNr, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * kGemmNr, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * kGemmNr, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * kGemmNr, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * kGemmNr, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// Columns k .. k + 7 of rows r[0 .. 7], transposed to dst (transpose8x8).
template <typename T>
inline void transpose8(const T* const* r, int64_t k, float* dst) {
  __m256 v[8];
  for (int i = 0; i < 8; ++i) v[i] = load8(r[i], k);
  transpose8x8(v, dst);
}

// pack_strip / pack_strip_f16 (gemm.h): whole strips by 8 x 8 transposes.
template <typename T>
void pack_strip_t(const T* const* rows, int64_t nr, int64_t kc, float* dst) {
  int64_t k = 0;
  if (nr == kGemmNr) {
    for (; k + 8 <= kc; k += 8, dst += 8 * kGemmNr) {
      transpose8(rows, k, dst);
      transpose8(rows + 8, k, dst + 8);
    }
  }
  for (; k < kc; ++k, dst += kGemmNr) {
    for (int64_t j = 0; j < nr; ++j) dst[j] = at(rows[j], k);
    for (int64_t j = nr; j < kGemmNr; ++j) dst[j] = 0.0f;
  }
}

}  // namespace

const GemmKernels* gemm_kernels_avx2() {
  static_assert(kGemmMr == 6, "tile_t holds 6 rows");
  static const GemmKernels k{"avx2", tile_t<float>, tile_t<uint16_t>, pack_strip_t<float>,
                             pack_strip_t<uint16_t>};
  return &k;
}

}  // namespace pivot::cpu

#else

namespace pivot::cpu {
const GemmKernels* gemm_kernels_avx2() {
  return nullptr;
}
}  // namespace pivot::cpu

#endif
