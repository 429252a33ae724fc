// The decode kernel for F16 weights in the strip layout (f16_strips.h,
// Kernels::f16_strip_dot): per group of 16 rows and per k, one 32-byte read of the
// 16 weights, two vcvtph2ps, and per activation row one broadcast and two FMAs
// into 16 lane-per-row sums, so the 16 outputs of a row are stored as they are.
// Compiled with -mavx2 -mfma -mf16c (src/backend/CMakeLists.txt).
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>

#include "f16_strips.h"

namespace pivot::cpu {
namespace {

constexpr int64_t kAheadHalves = 512;  // software prefetch 1 KiB ahead of the stream

inline __m256 half8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// One group against activation rows x[m * ldx], m < M. With one or two rows the
// FMA latency would bound the loop (one FMA per sum per k), so even and odd k go
// to separate sums (S = 2).
template <int M>
void group_dot(const uint16_t* g, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy) {
  constexpr int S = M <= 2 ? 2 : 1;
  __m256 lo[S][M], hi[S][M];
  for (int s = 0; s < S; ++s)
    for (int m = 0; m < M; ++m) lo[s][m] = hi[s][m] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + S <= K; k += S) {
    _mm_prefetch(reinterpret_cast<const char*>(g + kF16StripRows * k + kAheadHalves), _MM_HINT_T0);
    for (int s = 0; s < S; ++s) {
      const uint16_t* w = g + kF16StripRows * (k + s);
      const __m256 w0 = half8(w), w1 = half8(w + 8);
      for (int m = 0; m < M; ++m) {
        const __m256 v = _mm256_broadcast_ss(x + m * ldx + k + s);
        lo[s][m] = _mm256_fmadd_ps(v, w0, lo[s][m]);
        hi[s][m] = _mm256_fmadd_ps(v, w1, hi[s][m]);
      }
    }
  }
  for (; k < K; ++k) {  // odd K with S = 2
    const uint16_t* w = g + kF16StripRows * k;
    const __m256 w0 = half8(w), w1 = half8(w + 8);
    for (int m = 0; m < M; ++m) {
      const __m256 v = _mm256_broadcast_ss(x + m * ldx + k);
      lo[0][m] = _mm256_fmadd_ps(v, w0, lo[0][m]);
      hi[0][m] = _mm256_fmadd_ps(v, w1, hi[0][m]);
    }
  }
  for (int m = 0; m < M; ++m) {
    __m256 a = lo[0][m], b = hi[0][m];
    if constexpr (S == 2) {
      a = _mm256_add_ps(a, lo[1][m]);
      b = _mm256_add_ps(b, hi[1][m]);
    }
    _mm256_storeu_ps(y + m * ldy, a);
    _mm256_storeu_ps(y + m * ldy + 8, b);
  }
}

void f16_strip_dot(const uint16_t* w, int64_t n_rows, const float* x, int64_t ldx, int M, int64_t K,
                   float* y, int64_t ldy) {
  for (int64_t r = 0; r < n_rows; r += kF16StripRows, w += kF16StripRows * K, y += kF16StripRows)
    for_row_groups(M, [&](auto n, int m0) {
      group_dot<decltype(n)::value>(w, x + m0 * ldx, ldx, K, y + m0 * ldy, ldy);
    });
}

}  // namespace

F16StripDot f16_strip_dot_avx2() {
  return f16_strip_dot;
}

}  // namespace pivot::cpu

#else

namespace pivot::cpu {
F16StripDot f16_strip_dot_avx2() {
  return nullptr;
}
}  // namespace pivot::cpu

#endif
