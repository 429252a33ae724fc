// AVX2 + FMA activation kernels (kernels.h: silu_mul, gelu_mul, exp_shift) on an
// 8-lane exp. Compiled with -mavx2 -mfma (src/backend/CMakeLists.txt).
//
// exp(x) = 2^n · e^r with n = round(x / ln 2) and r = x − n ln 2, the product n ln 2
// subtracted in two parts (Cody–Waite: ln 2 = kLn2Hi + kLn2Lo, kLn2Hi with its low
// 9 mantissa bits zero, so n · kLn2Hi is exact for the |n| <= 128 used here), |r| <=
// ln(2) / 2; e^r by its degree-7 Taylor polynomial (truncation r^8 / 8! < 2.2e-9
// relative) in Horner form with FMA; 2^n built in the exponent field. Relative error
// at most 0.62 FLT_EPSILON against std::exp over [-87.3, 88.7] (step 0.00073; the
// unit test checks 4 FLT_EPSILON over the whole range). Inputs below kMinX give 0
// (std::exp's subnormal results there are below FLT_MIN), above kMaxX +inf, NaN
// stays NaN.
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cmath>

#include "avx2_util.h"

namespace pivot::cpu {
namespace {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693145751953125f;       // ln 2 rounded to 12 significant bits
constexpr float kLn2Lo = 1.42860682030941723e-6f;  // ln 2 − kLn2Hi
constexpr float kMaxX = 88.7228391116729996f;      // ln(FLT_MAX)
constexpr float kMinX = -87.3365447505529719f;     // ln(FLT_MIN): smallest normal result

inline __m256 exp8(__m256 x) {
  const __m256 xc = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(kMaxX)), _mm256_set1_ps(kMinX));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  // 1 + r + r²/2! + ... + r⁷/7!
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // n in [-126, 128]: 2^n as n + 127 in the exponent field; n = 128 (x near kMaxX)
  // is split as 2^127 · 2 so the field never overflows.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i big = _mm256_cmpgt_epi32(ni, _mm256_set1_epi32(127));
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_sub_epi32(ni, _mm256_and_si256(big, _mm256_set1_epi32(1))),
                       _mm256_set1_epi32(127)),
      23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  y = _mm256_blendv_ps(y, _mm256_add_ps(y, y), _mm256_castsi256_ps(big));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(kMinX), _CMP_LT_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY),
                       _mm256_cmp_ps(x, _mm256_set1_ps(kMaxX), _CMP_GT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN in, NaN out
}

// The scalar tails go through the same 8-lane code (padded), so a result never
// depends on an element's position.
template <typename F>
inline void map8(int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) f(i, 8);
  if (i < n) f(i, static_cast<int>(n - i));
}

inline __m256 load_n(const float* p, int count) {
  if (count == 8) return _mm256_loadu_ps(p);
  alignas(32) float t[8] = {};
  for (int l = 0; l < count; ++l) t[l] = p[l];
  return _mm256_load_ps(t);
}

inline void store_n(float* p, __m256 v, int count) {
  if (count == 8) return _mm256_storeu_ps(p, v);
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (int l = 0; l < count; ++l) p[l] = t[l];
}

void silu_mul_avx2(const float* a, const float* b, float* d, int64_t n) {
  map8(n, [&](int64_t i, int c) {
    const __m256 x = load_n(a + i, c);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    const __m256 s = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    store_n(d + i, _mm256_mul_ps(s, load_n(b + i, c)), c);
  });
}

// gelu(x) = x / 2 · (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³); 1 + tanh(u) =
// 2 − 2 / (e^(2u) + 1), which is right at both ends (e^(2u) = 0 or +inf).
void gelu_mul_avx2(const float* a, const float* b, float* d, int64_t n) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;
  map8(n, [&](int64_t i, int c) {
    const __m256 x = load_n(a + i, c);
    const __m256 x2 = _mm256_mul_ps(x, x);
    const __m256 u =
        _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi), x),
                      _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x2, _mm256_set1_ps(1.0f)));
    const __m256 e = exp8(_mm256_add_ps(u, u));
    const __m256 one_plus_tanh =
        _mm256_sub_ps(_mm256_set1_ps(2.0f),
                      _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    const __m256 g = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), one_plus_tanh);
    store_n(d + i, _mm256_mul_ps(g, load_n(b + i, c)), c);
  });
}

double exp_shift_avx2(float* x, int64_t n, float shift) {
  __m256 sum = _mm256_setzero_ps();
  map8(n, [&](int64_t i, int c) {
    __m256 e = exp8(_mm256_sub_ps(load_n(x + i, c), _mm256_set1_ps(shift)));
    if (c < 8) {  // padding lanes hold exp(-shift): keep them out of the sum
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      e = _mm256_and_ps(e, _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(c), lane)));
    }
    sum = _mm256_add_ps(sum, e);
    store_n(x + i, e, c);
  });
  alignas(32) float s[8];
  _mm256_store_ps(s, sum);
  double total = 0;
  for (float v : s) total += v;
  return total;
}

}  // namespace

const Activations* activations_avx2() {
  static const Activations a{silu_mul_avx2, gelu_mul_avx2, exp_shift_avx2};
  return &a;
}

}  // namespace pivot::cpu

#else

namespace pivot::cpu {
const Activations* activations_avx2() {
  return nullptr;
}
}  // namespace pivot::cpu

#endif
