// AVX2 Q8 decode kernels for the K-quants Q4_K, Q5_K, Q6_K (kernels.h: Q8Rows,
// RowDotQ8; the 32-element block types are in kernels_q8_avx2.cc). Compiled with
// -mavx2 -mfma -mf16c (src/backend/CMakeLists.txt), called only after a run-time
// CPU check. One weight row per pass against up to kRowDotRows activation rows;
// each 32-element sub-block meets the activation's Q8 block of the same 32
// elements in maddubs + madd, scaled once in f32 (the activation scale differs
// per 32, so sub-blocks cannot be summed in integers first).
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "avx2_util.h"

namespace pivot::cpu {
namespace {

using avx2::f16;
using avx2::hsum;
using avx2::load32;

// Rows are read front to back, one at a time: prefetch this far ahead.
constexpr int kPrefetchBytes = 1024;

// The 8 six-bit scales (bytes 0..7) or mins (bytes 8..15) of a Q4_K / Q5_K
// super-block from its 12 packed bytes q (scale_min_k4's layout, all 8 at once:
// sub-blocks 4..7 take the low / high nibble of q[8..11] and bits 6..7 of
// q[0..3] / q[4..7]).
inline __m128i k4_scales_mins(const uint8_t* q) {
  uint32_t a, b, c;
  std::memcpy(&a, q, 4);
  std::memcpy(&b, q + 4, 4);
  std::memcpy(&c, q + 8, 4);
  const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, top = 0x30303030;
  return _mm_setr_epi32(static_cast<int>(a & m6), static_cast<int>((c & m4) | ((a >> 2) & top)),
                        static_cast<int>(b & m6),
                        static_cast<int>(((c >> 4) & m4) | ((b >> 2) & top)));
}

// Q4_K (kQh = false) / Q5_K (true): sub-block j of a super-block is the low
// (j even) or high nibbles of qs[32 (j / 2) ..], plus bit j of qh[0..32) << 4.
// Per super-block the 8 scales and mins are decoded together and turned into
// f32 vectors: sub-block j's factor d · sc_j · d_x[j] is lane j, and the mins
// meet the activation sums s of the 8 sub-blocks in one vector FMA.
template <bool kQh>
struct QK_4_5 {
  template <int M>
  static void run(const uint8_t* w, const Q8Rows& x, int64_t K, float* y, int64_t ldy) {
    constexpr int kBytes = kQh ? 176 : 144, kQs = kQh ? 48 : 16;
    __m256 acc[M], off[M];
    for (int m = 0; m < M; ++m) acc[m] = off[m] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < K / 256; ++b, w += kBytes) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 64, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 128, _MM_HINT_T0);
      const __m128i sm = k4_scales_mins(w + 4);
      const __m256 sc =
          _mm256_mul_ps(_mm256_set1_ps(f16(w)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm)));
      const __m256 mn =
          _mm256_mul_ps(_mm256_set1_ps(f16(w + 2)),
                        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))));
      __m256 f[M];
      for (int m = 0; m < M; ++m) {
        f[m] = _mm256_mul_ps(sc, _mm256_loadu_ps(x.d + m * x.ldd + 8 * b));
        off[m] = _mm256_fmadd_ps(mn, _mm256_loadu_ps(x.s + m * x.ldd + 8 * b), off[m]);
      }
      const __m256i qh = kQh ? load32(w + 16) : _mm256_setzero_si256();
      for (int c = 0; c < 4; ++c) {
        const __m256i bytes = load32(w + kQs + 32 * c);
        for (int h = 0; h < 2; ++h) {
          const int j = 2 * c + h;
          __m256i u = _mm256_and_si256(h ? _mm256_srli_epi16(bytes, 4) : bytes, m4);
          if constexpr (kQh)
            u = _mm256_or_si256(
                u, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, j), one), 4));
          const __m256i lane = _mm256_set1_epi32(j);
          for (int m = 0; m < M; ++m) {
            const __m256i p = _mm256_madd_epi16(
                _mm256_maddubs_epi16(u, load32(x.q + m * x.ldq + 256 * b + 32 * j)), ones);
            acc[m] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(f[m], lane), _mm256_cvtepi32_ps(p),
                                     acc[m]);
          }
        }
      }
    }
    for (int m = 0; m < M; ++m) y[m * ldy] = hsum(acc[m]) - hsum(off[m]);
  }
};

// Q6_K: unsigned 6-bit codes u with offset 32 and an int8 scale per 16
// elements (layout in quant.h). The offset stays inside the integer dot:
// maddubs(u, q) - maddubs(32, q) is exact in s16 (|pair| <= 2 · 32 · 128); the
// madd with the two scales of the sub-block (lanes 0..7: elements 0..15, lanes
// 8..15: elements 16..31) sums it to i32; one FMA by d · d_x.
struct Q6_K {
  template <int M>
  static void run(const uint8_t* w, const Q8Rows& x, int64_t K, float* y, int64_t ldy) {
    __m256 acc[M];
    for (int m = 0; m < M; ++m) acc[m] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    const __m256i k32 = _mm256_set1_epi8(32);
    // Bytes 0,1 of each 32-bit lane to the low 128 bits, bytes 2,3 to the high.
    const __m256i spread = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2,
                                            3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    for (int64_t b = 0; b < K / 256; ++b, w += 210) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 64, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 128, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 192, _MM_HINT_T0);
      // i16 scales 0..15; sub-block k uses scales 2k (elements 0..15) and 2k + 1.
      const __m256i sc16 =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 192)));
      const float d = f16(w + 208);
      for (int h = 0; h < 2; ++h) {
        const __m256i qh = load32(w + 128 + 32 * h);
        for (int s = 0; s < 4; ++s) {
          const int k = 4 * h + s;
          const __m256i ql = load32(w + 64 * h + 32 * (s % 2));
          const __m256i lo = _mm256_and_si256(s / 2 ? _mm256_srli_epi16(ql, 4) : ql, m4);
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * s), m2);
          const __m256i u = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
          const __m256i mul =
              _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(k)), spread);
          for (int m = 0; m < M; ++m) {
            const __m256i q = load32(x.q + m * x.ldq + 256 * b + 32 * k);
            const __m256i p =
                _mm256_sub_epi16(_mm256_maddubs_epi16(u, q), _mm256_maddubs_epi16(k32, q));
            acc[m] = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d[m * x.ldd + 8 * b + k]),
                                     _mm256_cvtepi32_ps(_mm256_madd_epi16(p, mul)), acc[m]);
          }
        }
      }
    }
    for (int m = 0; m < M; ++m) y[m * ldy] = hsum(acc[m]);
  }
};

template <typename T>
void row_dot(const uint8_t* w, const Q8Rows& x, int M, int64_t K, float* y, int64_t ldy) {
  for_row_groups(M, [&](auto n, int m0) {
    const Q8Rows xm{x.q + m0 * x.ldq, x.ldq, x.d + m0 * x.ldd, x.s + m0 * x.ldd, x.ldd};
    T::template run<decltype(n)::value>(w, xm, K, y + m0 * ldy, ldy);
  });
}

template <typename T>
void rows_dot(const uint8_t* w, size_t rb, int64_t R, const Q8Rows& x, int M, int64_t K, float* y,
              int64_t ldy) {
  for (int64_t r = 0; r < R; ++r) row_dot<T>(w + r * rb, x, M, K, y + r, ldy);
}

}  // namespace

RowDotQ8 row_dot_q8_kquants_avx2(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_K:
      return rows_dot<QK_4_5<false>>;
    case GgmlType::Q5_K:
      return rows_dot<QK_4_5<true>>;
    case GgmlType::Q6_K:
      return rows_dot<Q6_K>;
    default:
      return nullptr;
  }
}

}  // namespace pivot::cpu

#endif
