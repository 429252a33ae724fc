// AVX2 + FMA + F16C kernels. This file alone is compiled with -mavx2 -mfma -mf16c
// (src/backend/CMakeLists.txt); cpu_backend.cc calls into it only after checking
// the running CPU has those features.
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace pivot::cpu {
namespace {

float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

double hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void dot_rows(const float* a, const float* x, int64_t n, int64_t ldx, int nx, double* acc) {
  __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                 _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 av = _mm256_loadu_ps(a + i);
    for (int j = 0; j < nx; ++j) s[j] = _mm256_fmadd_ps(av, _mm256_loadu_ps(x + j * ldx + i), s[j]);
  }
  for (int j = 0; j < nx; ++j) {
    double t = hsum(s[j]);
    for (int64_t k = i; k < n; ++k) t += a[k] * x[j * ldx + k];
    acc[j] += t;
  }
}

// 8 signed bytes -> 8 floats.
__m256 i8_to_ps(__m128i q) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
}

// 32 values (int8 in a __m256i) * d + m -> dst[0..32).
void store32(__m256i q, __m256 d, __m256 m, float* dst) {
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  _mm256_storeu_ps(dst + 0, _mm256_fmadd_ps(i8_to_ps(lo), d, m));
  _mm256_storeu_ps(dst + 8, _mm256_fmadd_ps(i8_to_ps(_mm_srli_si128(lo, 8)), d, m));
  _mm256_storeu_ps(dst + 16, _mm256_fmadd_ps(i8_to_ps(hi), d, m));
  _mm256_storeu_ps(dst + 24, _mm256_fmadd_ps(i8_to_ps(_mm_srli_si128(hi, 8)), d, m));
}

// 16 packed nibbles -> 32 bytes: low nibbles are elements 0..15, high 16..31.
__m256i nibbles32(const uint8_t* qs) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), mask), _mm_and_si128(b, mask));
}

// Q4_0: d (f16), qs[16]; x = (q - 8) * d.
void dequant_q4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    const __m256i q = _mm256_sub_epi8(nibbles32(src + 2), _mm256_set1_epi8(8));
    store32(q, _mm256_set1_ps(f16(src)), _mm256_setzero_ps(), dst);
  }
}

// Q4_1: d (f16), m (f16), qs[16]; x = q * d + m.
void dequant_q4_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 20, dst += 32)
    store32(nibbles32(src + 4), _mm256_set1_ps(f16(src)), _mm256_set1_ps(f16(src + 2)), dst);
}

// Q8_0: d (f16), qs[32] int8; x = q * d.
void dequant_q8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2));
    store32(q, _mm256_set1_ps(f16(src)), _mm256_setzero_ps(), dst);
  }
}

void dequant_f16(const uint8_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(
        dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  for (; i < n; ++i) dst[i] = f16(src + 2 * i);
}

// Q4_K super-block (256): d, dmin (f16), scales[12] (6-bit scale and min per
// 32-element sub-block j), qs[128]: sub-blocks 2c and 2c+1 are the low and high
// nibbles of qs[32c .. 32c + 32). x = d * scale_j * q - dmin * min_j.
void scale_min_k4(int j, const uint8_t* q, int* d, int* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

void dequant_q4_k(const uint8_t* src, float* dst, int64_t n) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < n / 256; ++b, src += 144, dst += 256) {
    const float d = f16(src), dmin = f16(src + 2);
    for (int c = 0; c < 4; ++c) {
      const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 16 + 32 * c));
      for (int h = 0; h < 2; ++h) {
        int sc, mn;
        scale_min_k4(2 * c + h, src + 4, &sc, &mn);
        const __m256i q = _mm256_and_si256(h ? _mm256_srli_epi16(bytes, 4) : bytes, mask);
        store32(q, _mm256_set1_ps(d * sc), _mm256_set1_ps(-dmin * mn), dst + 64 * c + 32 * h);
      }
    }
  }
}

// Q6_K super-block (256): ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16]
// (int8, one per 16 elements), d (f16). Element 128h + 32s + l has low bits from
// ql[64h + 32(s%2) + l] >> 4(s/2), high bits from qh[32h + l] >> 2s; x = d*sc*(q-32).
void dequant_q6_k(const uint8_t* src, float* dst, int64_t n) {
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  for (int64_t b = 0; b < n / 256; ++b, src += 210, dst += 256) {
    const auto* sc = reinterpret_cast<const int8_t*>(src + 192);
    const float d = f16(src + 208);
    for (int h = 0; h < 2; ++h) {
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 128 + 32 * h));
      for (int s = 0; s < 4; ++s) {
        const __m256i ql =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 64 * h + 32 * (s % 2)));
        const __m256i lo = _mm256_and_si256(s / 2 ? _mm256_srli_epi16(ql, 4) : ql, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * s), m2);
        const __m256i q =
            _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(32));
        float* out = dst + 128 * h + 32 * s;
        const int g = (128 * h + 32 * s) / 16;
        const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
        const __m256 d0 = _mm256_set1_ps(d * sc[g]), d1 = _mm256_set1_ps(d * sc[g + 1]);
        _mm256_storeu_ps(out + 0, _mm256_mul_ps(i8_to_ps(q0), d0));
        _mm256_storeu_ps(out + 8, _mm256_mul_ps(i8_to_ps(_mm_srli_si128(q0, 8)), d0));
        _mm256_storeu_ps(out + 16, _mm256_mul_ps(i8_to_ps(q1), d1));
        _mm256_storeu_ps(out + 24, _mm256_mul_ps(i8_to_ps(_mm_srli_si128(q1, 8)), d1));
      }
    }
  }
}

// Fused decode kernels: dequantize a block of 32 into 4 vectors and accumulate
// into 4 independent chains (one FMA chain would be latency-bound).
float sum4(__m256 a[4]) {
  return static_cast<float>(
      hsum(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3]))));
}

template <typename Block>
float row_dot_32(const uint8_t* w, const float* x, int64_t K, Block block) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  for (int64_t i = 0; i < K; i += 32, x += 32) {
    __m256 v[4];
    w = block(w, v);
    for (int g = 0; g < 4; ++g) acc[g] = _mm256_fmadd_ps(v[g], _mm256_loadu_ps(x + 8 * g), acc[g]);
  }
  return sum4(acc);
}

// 32 int8 values -> 4 float vectors, times d plus m.
void expand32(__m256i q, __m256 d, __m256 m, __m256 v[4]) {
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  v[0] = _mm256_fmadd_ps(i8_to_ps(lo), d, m);
  v[1] = _mm256_fmadd_ps(i8_to_ps(_mm_srli_si128(lo, 8)), d, m);
  v[2] = _mm256_fmadd_ps(i8_to_ps(hi), d, m);
  v[3] = _mm256_fmadd_ps(i8_to_ps(_mm_srli_si128(hi, 8)), d, m);
}

float row_dot_q4_0(const uint8_t* w, const float* x, int64_t K) {
  return row_dot_32(w, x, K, [](const uint8_t* b, __m256 v[4]) {
    expand32(_mm256_sub_epi8(nibbles32(b + 2), _mm256_set1_epi8(8)), _mm256_set1_ps(f16(b)),
             _mm256_setzero_ps(), v);
    return b + 18;
  });
}

float row_dot_q4_1(const uint8_t* w, const float* x, int64_t K) {
  return row_dot_32(w, x, K, [](const uint8_t* b, __m256 v[4]) {
    expand32(nibbles32(b + 4), _mm256_set1_ps(f16(b)), _mm256_set1_ps(f16(b + 2)), v);
    return b + 20;
  });
}

float row_dot_q8_0(const uint8_t* w, const float* x, int64_t K) {
  return row_dot_32(w, x, K, [](const uint8_t* b, __m256 v[4]) {
    expand32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2)), _mm256_set1_ps(f16(b)),
             _mm256_setzero_ps(), v);
    return b + 34;
  });
}

// Any type with a DequantChunk: dequantize 256 at a time into L1, then 4-chain dot.
template <DequantChunk dq, int64_t kBytesPerChunk>
float row_dot_chunked(const uint8_t* w, const float* x, int64_t K) {
  alignas(32) float buf[kChunk];
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  double tail = 0;
  for (int64_t i = 0; i < K; i += kChunk) {
    const int64_t n = std::min<int64_t>(kChunk, K - i);
    dq(w, buf, n);
    w += kBytesPerChunk * n / kChunk;
    int64_t j = 0;
    for (; j + 32 <= n; j += 32)
      for (int g = 0; g < 4; ++g)
        acc[g] = _mm256_fmadd_ps(_mm256_load_ps(buf + j + 8 * g),
                                 _mm256_loadu_ps(x + i + j + 8 * g), acc[g]);
    for (; j < n; ++j) tail += buf[j] * x[i + j];
  }
  return sum4(acc) + static_cast<float>(tail);
}

float row_dot_f32(const uint8_t* w, const float* x, int64_t K) {
  const auto* a = reinterpret_cast<const float*>(w);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= K; i += 32)
    for (int g = 0; g < 4; ++g)
      acc[g] =
          _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * g), _mm256_loadu_ps(x + i + 8 * g), acc[g]);
  double tail = 0;
  for (; i < K; ++i) tail += a[i] * x[i];
  return sum4(acc) + static_cast<float>(tail);
}

RowDot row_dot(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return row_dot_f32;
    case GgmlType::F16:
      return row_dot_chunked<dequant_f16, 512>;
    case GgmlType::Q4_0:
      return row_dot_q4_0;
    case GgmlType::Q4_1:
      return row_dot_q4_1;
    case GgmlType::Q8_0:
      return row_dot_q8_0;
    case GgmlType::Q4_K:
      return row_dot_chunked<dequant_q4_k, 144>;
    case GgmlType::Q6_K:
      return row_dot_chunked<dequant_q6_k, 210>;
    default:
      return nullptr;
  }
}

DequantChunk special(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return dequant_q4_0;
    case GgmlType::Q4_1:
      return dequant_q4_1;
    case GgmlType::Q8_0:
      return dequant_q8_0;
    case GgmlType::F16:
      return dequant_f16;
    case GgmlType::Q4_K:
      return dequant_q4_k;
    case GgmlType::Q6_K:
      return dequant_q6_k;
    default:
      return nullptr;
  }
}

}  // namespace

const Kernels* avx2_kernels() {
  static const Kernels k{"avx2", dot_rows, special, row_dot};
  return &k;
}

}  // namespace pivot::cpu

#else

namespace pivot::cpu {
const Kernels* avx2_kernels() {
  return nullptr;
}
}  // namespace pivot::cpu

#endif
