// AVX2 Q8 decode kernels for weights in the x8 layout (repack_x8.h): Q4_0 and
// Q4_1 against Q8 activation rows (kernels.h: Q8Rows, RowDotQ8 with R a multiple
// of 8 and w at the first row of a group). Compiled with -mavx2 -mfma -mf16c
// (src/backend/CMakeLists.txt), called only after a run-time CPU check.
//
// Per block of 32 and group of 8 rows: 4 chunk loads; one and / shift / and per
// chunk gives the low nibbles (elements 4j .. 4j + 3 of each row, one row per
// 32-bit lane) and the high nibbles (elements 16 + 4j ..); each meets its 4
// activation codes broadcast to all lanes in _mm256_maddubs_epi16 (u <= 15,
// |q| <= 127: a pair is at most 3810 in magnitude). The 8 products of a block add
// up in s16 (at most 30480, no saturation), one _mm256_madd_epi16 leaves each
// row's integer dot in its lane, and the 8 rows' f16 scales convert in one
// instruction. Offsets go through the activation sums s = d_x Σ q: Q4_0 adds
// d_w (d_x · dot - 8 s) (its codes stand for u - 8), Q4_1 adds d_w d_x dot + m_w s.
// Against the row-major kernels (kernels_q8_avx2.cc) this halves the multiplies
// per weight and reads each task's rows as one linear stream.
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "repack_x8.h"

namespace pivot::cpu {
namespace {

// Software prefetch distance in bytes along a group's stream (about 7 blocks).
// Whole-model decode of a Llama-3.2-1B-shaped Q4_0 file, huge-page weights: 12.0 /
// 21.0 tokens/s without (1 / 2 threads), 15.5 / 23.9 at 1024, no better at 2048 or
// 3072: the hardware prefetchers alone keep too few lines in flight.
constexpr int kAhead = 1024;
// 4 activation codes as one 32-bit lane, broadcast.
inline __m256i bcast4(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, 4);
  return _mm256_set1_epi32(v);
}

// One group of 8 weight rows against M <= 4 activation rows: y[m * ldy + r].
template <bool kMin, int M>
void group_x8(const uint8_t* w, const Q8Rows& x, int64_t K, float* y, int64_t ldy) {
  constexpr int kHeader = kMin ? 32 : 16, kBlock = kHeader + 128;
  const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  __m256 acc[M];
  for (int m = 0; m < M; ++m) acc[m] = _mm256_setzero_ps();
  for (int64_t g = 0; g < K / 32; ++g, w += kBlock) {
    for (int b = 0; b < kBlock; b += 64)  // every line of the block kAhead further on
      _mm_prefetch(reinterpret_cast<const char*>(w) + kAhead + b, _MM_HINT_T0);
    __m256i p[M];
    for (int m = 0; m < M; ++m) p[m] = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + kHeader + 32 * j));
      const __m256i lo = _mm256_and_si256(v, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      for (int m = 0; m < M; ++m) {
        const int8_t* q = x.q + m * x.ldq + 32 * g + 4 * j;
        p[m] = _mm256_add_epi16(p[m], _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(q)),
                                                       _mm256_maddubs_epi16(hi, bcast4(q + 16))));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
    for (int m = 0; m < M; ++m) {
      const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(p[m], ones));
      const __m256 dx = _mm256_set1_ps(x.d[m * x.ldd + g]);
      if constexpr (kMin) {
        const __m256 mw =
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16)));
        acc[m] = _mm256_fmadd_ps(dw, _mm256_mul_ps(dx, dot), acc[m]);
        acc[m] = _mm256_fmadd_ps(mw, _mm256_set1_ps(x.s[m * x.ldd + g]), acc[m]);
      } else {
        const __m256 s8 = _mm256_set1_ps(8.0f * x.s[m * x.ldd + g]);
        acc[m] = _mm256_fmadd_ps(dw, _mm256_fmsub_ps(dx, dot, s8), acc[m]);
      }
    }
  }
  for (int m = 0; m < M; ++m) _mm256_storeu_ps(y + m * ldy, acc[m]);
}

template <bool kMin>
void rows_x8(const uint8_t* w, size_t rb, int64_t R, const Q8Rows& x, int M, int64_t K, float* y,
             int64_t ldy) {
  for (int64_t r = 0; r + kX8Rows <= R; r += kX8Rows) {
    const uint8_t* g = w + r * rb;
    // Activation rows in groups of up to 4; the group's weights (K / 32 · 144 or
    // 160 bytes) are still in cache for the second group.
    for_row_groups(M, [&](auto n, int m0) {
      const Q8Rows xm{x.q + m0 * x.ldq, x.ldq, x.d + m0 * x.ldd, x.s + m0 * x.ldd, x.ldd};
      group_x8<kMin, decltype(n)::value>(g, xm, K, y + m0 * ldy + r, ldy);
    });
  }
}

}  // namespace

RowDotQ8 row_dot_q8_x8_avx2(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return rows_x8<false>;
    case GgmlType::Q4_1:
      return rows_x8<true>;
    default:
      return nullptr;
  }
}

}  // namespace pivot::cpu

#endif
