// AVX2 + FMA + F16C kernels. This file alone is compiled with -mavx2 -mfma -mf16c
// (src/backend/CMakeLists.txt); cpu_backend.cc calls into it only after checking
// the running CPU has those features.
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
using avx2::nibbles32;
using avx2::q5_values;

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

// Q5_0: d (f16), qh (u32), qs[16]; x = (q - 16) * d.
void dequant_q5_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 22, dst += 32) {
    const __m256i q = _mm256_sub_epi8(q5_values(src + 2, src + 6), _mm256_set1_epi8(16));
    store32(q, _mm256_set1_ps(f16(src)), _mm256_setzero_ps(), dst);
  }
}

// Q5_1: d (f16), m (f16), qh (u32), qs[16]; x = q * d + m.
void dequant_q5_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, src += 24, dst += 32)
    store32(q5_values(src + 4, src + 8), _mm256_set1_ps(f16(src)), _mm256_set1_ps(f16(src + 2)),
            dst);
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

// Fused decode kernels. Each 32-element group of a weight row is expanded once
// into 4 vectors of its integer values (as floats); every activation row m then
// takes t = Σ q·x over the group and adds scale·t (plus min·Σx for types with an
// offset), so the dequantization is shared by up to kRowDotRows rows. One
// accumulator per row: the group's own work hides the loop-carried FMA latency.
// Weight bytes ahead of the current block to prefetch (the rows of a task are
// contiguous, so this runs ahead into the next rows too).
constexpr int kPrefetchBytes = 1024;

template <int M>
struct Accs {
  static constexpr int kSets = 1;  // 2 (even / odd groups) spilled to the stack: slower
  __m256 a[kSets * M];
  Accs() {
    for (__m256& v : a) v = _mm256_setzero_ps();
  }
  __m256* set(int64_t group) { return a + M * (kSets == 2 ? (group & 1) : 0); }
  void store(float* y, int64_t ldy, const float* tail) const {
    for (int m = 0; m < M; ++m) {
      __m256 v = a[m];
      if (kSets == 2) v = _mm256_add_ps(v, a[M + m]);
      y[m * ldy] = static_cast<float>(hsum(v)) + (tail ? tail[m] : 0.0f);
    }
  }
};

// acc[m] += scale · Σ_g v[g] · x[m][8g .. 8g + 8), over `n` vectors (2 or 4).
template <int M, int n = 4>
inline void dot_group(const __m256* v, const float* x, int64_t ldx, __m256 scale, __m256* acc) {
  for (int m = 0; m < M; ++m) {
    const float* xm = x + m * ldx;
    __m256 t = _mm256_mul_ps(v[0], _mm256_loadu_ps(xm));
    for (int g = 1; g < n; ++g) t = _mm256_fmadd_ps(v[g], _mm256_loadu_ps(xm + 8 * g), t);
    acc[m] = _mm256_fmadd_ps(scale, t, acc[m]);
  }
}

// mt[m] += mn · xs[m][0]: the offset term of Q4_1 / Q5_1 / Q4_K, from the
// precomputed sum of the activation block (the same for every weight row).
template <int M>
inline void add_min(const float* xs, int64_t ldxs, float mn, float* mt) {
  for (int m = 0; m < M; ++m) mt[m] += mn * xs[m * ldxs];
}

// 16 bytes (signed or unsigned) -> 2 float vectors.
inline void s8x16(__m128i q, __m256* v) {
  v[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
  v[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)));
}
inline void u8x16(__m128i q, __m256* v) {
  v[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q));
  v[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(q, 8)));
}

// 16 packed nibbles -> low nibbles (elements 0..15), high nibbles (16..31).
inline void nibbles(const uint8_t* qs, __m128i* lo, __m128i* hi) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  *lo = _mm_and_si128(b, mask);
  *hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
}

struct FusedQ4_0 {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  [[maybe_unused]] const float* xs, [[maybe_unused]] int64_t ldxs) {
    Accs<M> acc;
    const __m128i eight = _mm_set1_epi8(8);
    for (int64_t i = 0; i < K / 32; ++i, w += 18) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      __m128i lo, hi;
      nibbles(w + 2, &lo, &hi);
      __m256 v[4];
      s8x16(_mm_sub_epi8(lo, eight), v);
      s8x16(_mm_sub_epi8(hi, eight), v + 2);
      dot_group<M>(v, x + 32 * i, ldx, _mm256_set1_ps(f16(w)), acc.set(i));
    }
    acc.store(y, ldy, nullptr);
  }
};

struct FusedQ4_1 {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  const float* xs, int64_t ldxs) {
    Accs<M> acc;
    float mt[M] = {};
    for (int64_t i = 0; i < K / 32; ++i, w += 20) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      __m128i lo, hi;
      nibbles(w + 4, &lo, &hi);
      __m256 v[4];
      u8x16(lo, v);
      u8x16(hi, v + 2);
      dot_group<M>(v, x + 32 * i, ldx, _mm256_set1_ps(f16(w)), acc.set(i));
      add_min<M>(xs + i, ldxs, f16(w + 2), mt);
    }
    acc.store(y, ldy, mt);
  }
};

struct FusedQ8_0 {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  [[maybe_unused]] const float* xs, [[maybe_unused]] int64_t ldxs) {
    Accs<M> acc;
    for (int64_t i = 0; i < K / 32; ++i, w += 34) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      __m256 v[4];
      for (int g = 0; g < 4; ++g)
        v[g] = _mm256_cvtepi32_ps(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + 2 + 8 * g))));
      dot_group<M>(v, x + 32 * i, ldx, _mm256_set1_ps(f16(w)), acc.set(i));
    }
    acc.store(y, ldy, nullptr);
  }
};

struct FusedQ5_0 {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  [[maybe_unused]] const float* xs, [[maybe_unused]] int64_t ldxs) {
    Accs<M> acc;
    for (int64_t i = 0; i < K / 32; ++i, w += 22) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      const __m256i q = _mm256_sub_epi8(q5_values(w + 2, w + 6), _mm256_set1_epi8(16));
      __m256 v[4];
      s8x16(_mm256_castsi256_si128(q), v);
      s8x16(_mm256_extracti128_si256(q, 1), v + 2);
      dot_group<M>(v, x + 32 * i, ldx, _mm256_set1_ps(f16(w)), acc.set(i));
    }
    acc.store(y, ldy, nullptr);
  }
};

struct FusedQ5_1 {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  const float* xs, int64_t ldxs) {
    Accs<M> acc;
    float mt[M] = {};
    for (int64_t i = 0; i < K / 32; ++i, w += 24) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      const __m256i q = q5_values(w + 4, w + 8);
      __m256 v[4];
      u8x16(_mm256_castsi256_si128(q), v);
      u8x16(_mm256_extracti128_si256(q, 1), v + 2);
      dot_group<M>(v, x + 32 * i, ldx, _mm256_set1_ps(f16(w)), acc.set(i));
      add_min<M>(xs + i, ldxs, f16(w + 2), mt);
    }
    acc.store(y, ldy, mt);
  }
};

// Q4_K: layout as dequant_q4_k; sub-block j of each super-block is scaled by
// d·scale_j and offset by -dmin·min_j.
struct FusedQ4_K {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  const float* xs, int64_t ldxs) {
    Accs<M> acc;
    float mt[M] = {};
    const __m256i mask = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < K / 256; ++b, w += 144, x += 256) {
      const float d = f16(w), dmin = f16(w + 2);
      for (int c = 0; c < 4; ++c) {
        _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 48 * c, _MM_HINT_T0);
        const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16 + 32 * c));
        for (int h = 0; h < 2; ++h) {
          const int j = 2 * c + h;
          int sc, mn;
          scale_min_k4(j, w + 4, &sc, &mn);
          const __m256i q = _mm256_and_si256(h ? _mm256_srli_epi16(bytes, 4) : bytes, mask);
          __m256 v[4];
          u8x16(_mm256_castsi256_si128(q), v);
          u8x16(_mm256_extracti128_si256(q, 1), v + 2);
          __m256* a = acc.set(j);
          dot_group<M>(v, x + 32 * j, ldx, _mm256_set1_ps(d * sc), a);
          add_min<M>(xs + 8 * b + j, ldxs, -dmin * mn, mt);
        }
      }
    }
    acc.store(y, ldy, mt);
  }
};

// Q6_K: layout as dequant_q6_k; each 16 elements have their own int8 scale.
struct FusedQ6_K {
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  [[maybe_unused]] const float* xs, [[maybe_unused]] int64_t ldxs) {
    Accs<M> acc;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
    for (int64_t b = 0; b < K / 256; ++b, w += 210, x += 256) {
      const auto* sc = reinterpret_cast<const int8_t*>(w + 192);
      const float d = f16(w + 208);
      for (int h = 0; h < 2; ++h) {
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 128 + 32 * h));
        for (int s = 0; s < 4; ++s) {
          if (s % 2 == 0)
            _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 64 * (h * 2 + s / 2),
                         _MM_HINT_T0);
          const __m256i ql =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 64 * h + 32 * (s % 2)));
          const __m256i lo = _mm256_and_si256(s / 2 ? _mm256_srli_epi16(ql, 4) : ql, m4);
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * s), m2);
          const __m256i q =
              _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(32));
          const int e = 128 * h + 32 * s, g = e / 16;
          __m256 v[4];
          s8x16(_mm256_castsi256_si128(q), v);
          s8x16(_mm256_extracti128_si256(q, 1), v + 2);
          __m256* a = acc.set(s);
          dot_group<M, 2>(v, x + e, ldx, _mm256_set1_ps(d * sc[g]), a);
          dot_group<M, 2>(v + 2, x + e + 16, ldx, _mm256_set1_ps(d * sc[g + 1]), a);
        }
      }
    }
    acc.store(y, ldy, nullptr);
  }
};

// F16 / F32 rows: plain dot products, any K (a scalar tail after the last 32).
template <bool kHalf>
struct FusedFloat {
  static __m256 load8(const uint8_t* w, int64_t i) {
    if constexpr (kHalf)
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * i)));
    else
      return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i);
  }
  static float at(const uint8_t* w, int64_t i) {
    if constexpr (kHalf) {
      return f16(w + 2 * i);
    } else {
      float f;
      std::memcpy(&f, w + 4 * i, 4);
      return f;
    }
  }
  template <int M>
  static void run(const uint8_t* w, const float* x, int64_t ldx, int64_t K, float* y, int64_t ldy,
                  [[maybe_unused]] const float* xs, [[maybe_unused]] int64_t ldxs) {
    Accs<M> acc;
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 32 <= K; i += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + (kHalf ? 2 : 4) * i + kPrefetchBytes,
                   _MM_HINT_T0);
      __m256 v[4];
      for (int g = 0; g < 4; ++g) v[g] = load8(w, i + 8 * g);
      dot_group<M>(v, x + i, ldx, one, acc.set(i / 32));
    }
    float tail[M] = {};
    for (; i < K; ++i)
      for (int m = 0; m < M; ++m) tail[m] += at(w, i) * x[m * ldx + i];
    acc.store(y, ldy, tail);
  }
};

template <typename T>
void fused(const uint8_t* w, const float* x, int64_t ldx, int M, int64_t K, float* y, int64_t ldy,
           const float* xs, int64_t ldxs) {
  for_row_groups(M, [&](auto n, int m0) {
    T::template run<decltype(n)::value>(w, x + m0 * ldx, ldx, K, y + m0 * ldy, ldy, xs + m0 * ldxs,
                                        ldxs);
  });
}

RowDot row_dot(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return fused<FusedFloat<false>>;
    case GgmlType::F16:
      return fused<FusedFloat<true>>;
    case GgmlType::Q4_0:
      return fused<FusedQ4_0>;
    case GgmlType::Q4_1:
      return fused<FusedQ4_1>;
    case GgmlType::Q5_0:
      return fused<FusedQ5_0>;
    case GgmlType::Q5_1:
      return fused<FusedQ5_1>;
    case GgmlType::Q8_0:
      return fused<FusedQ8_0>;
    case GgmlType::Q4_K:
      return fused<FusedQ4_K>;
    case GgmlType::Q6_K:
      return fused<FusedQ6_K>;
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
    case GgmlType::Q5_0:
      return dequant_q5_0;
    case GgmlType::Q5_1:
      return dequant_q5_1;
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
  static const Kernels k{"avx2",
                         dot_rows,
                         special,
                         row_dot,
                         quantize_q8_avx2,
                         row_dot_q8_avx2,
                         row_dot_q8_x8_avx2,
                         f16_strip_dot_avx2(),
                         activations_avx2()};
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
