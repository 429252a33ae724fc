// AVX2 Q8 decode kernels (kernels.h: Q8Rows, RowDotQ8). Compiled with -mavx2
// -mfma -mf16c (src/backend/CMakeLists.txt) and called only after a run-time CPU
// check. Per 32-element weight group: the weight codes as unsigned bytes u meet
// the activation codes q (int8) in _mm256_maddubs_epi16 (u8 x s8 -> pairs of
// s16; |u| <= 63 and |q| <= 127 cannot saturate), _mm256_madd_epi16 sums the
// pairs into 8 x i32 (times a per-16 scale for Q6_K), one FMA adds
// (d_w · d_x) · i32 into a float accumulator per activation row. Signed weight
// codes (Q8_0) take the sign trick: |w| x (q · sign w), |w| <= 128. Integer
// offsets (Q4_0: -8, Q5_0: -16) stay inside the integer dot; the mins of Q4_1 /
// Q5_1 come from the activation block sums s. Up to 4 weight rows per pass
// (decode: one activation row, so the activation codes are loaded once per 4
// weight blocks and the 4 f16 scales convert in one instruction). The K-quants
// are in kernels_q8_kquants_avx2.cc.
#include "kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "avx2_util.h"

namespace pivot::cpu {
namespace {

using avx2::f16;
using avx2::hsum;
using avx2::load32;
using avx2::nibbles32;
using avx2::q5_values;

// The multi-row kernels read R rows side by side (R short streams, which the
// hardware prefetchers follow badly: 60% of the read bandwidth for 680-byte
// rows). They prefetch the next pass's R rows instead, front to back as one
// linear range: the i-th prefetch of a pass (one per row and block, i < R · K / 32)
// goes kAheadBytes past byte i · block_bytes of the next pass (next_pass). Measured on
// Q8_0 rows of 640 weights: 6.7 -> 10.1-10.5 GB/s (read bandwidth 9.7), on rows
// of 2048: 9.1 -> 9.9 GB/s.
constexpr int kAheadBytes = 768;

// Prefetch address for row r (< R) at block g of a pass, w = block g of its first
// row: the pass starts at w - g · block_bytes, the next one R · rb later, and its
// (g · R + r)-th block-sized piece is due now.
inline const char* next_pass(const uint8_t* w, size_t rb, int R, int64_t g, int r,
                             int block_bytes) {
  return reinterpret_cast<const char*>(w) + R * rb + (g * (R - 1) + r) * block_bytes + kAheadBytes;
}

int u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// R <= 4 f16 values, one per weight row, at w + r * rb + at, as f32 lanes 0..R-1
// (the insert lanes must be compile-time constants).
template <int R>
__m128 f16_rows(const uint8_t* w, size_t rb, int at) {
  __m128i h = _mm_cvtsi32_si128(u16(w + at));
  if constexpr (R > 1) h = _mm_insert_epi16(h, u16(w + rb + at), 1);
  if constexpr (R > 2) h = _mm_insert_epi16(h, u16(w + 2 * rb + at), 2);
  if constexpr (R > 3) h = _mm_insert_epi16(h, u16(w + 3 * rb + at), 3);
  return _mm_cvtph_ps(h);
}

// The 32-element block types: per block an f16 scale d at byte 0, for Q4_1 /
// Q5_1 an f16 min at byte 2, then the codes. kOffset: the integer subtracted
// from the unsigned codes (taken inside the integer dot: maddubs(u, q) -
// maddubs(o, q) is exact in s16, |pair| <= 2 · 31 · 128); kSigned: int8 codes.
struct Q4_0 {
  static constexpr int kBytes = 18, kOffset = 8;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kQs = 2, kQh = -1;  // nibble bytes, high bits (-1: none)
  static __m256i codes(const uint8_t* b) { return nibbles32(b + 2); }
};
struct Q4_1 {
  static constexpr int kBytes = 20, kOffset = 0;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kQs = 4, kQh = -1;  // nibble bytes, high bits (-1: none)
  static __m256i codes(const uint8_t* b) { return nibbles32(b + 4); }
};
struct Q5_0 {
  static constexpr int kBytes = 22, kOffset = 16;
  static constexpr bool kSigned = false, kMin = false;
  static constexpr int kQs = 6, kQh = 2;  // nibble bytes, high bits (-1: none)
  static __m256i codes(const uint8_t* b) { return q5_values(b + 2, b + 6); }
};
struct Q5_1 {
  static constexpr int kBytes = 24, kOffset = 0;
  static constexpr bool kSigned = false, kMin = true;
  static constexpr int kQs = 8, kQh = 4;  // nibble bytes, high bits (-1: none)
  static __m256i codes(const uint8_t* b) { return q5_values(b + 4, b + 8); }
};
struct Q8_0 {
  static constexpr int kBytes = 34, kOffset = 0;
  static constexpr bool kSigned = true, kMin = false;
  static __m256i codes(const uint8_t* b) { return load32(b + 2); }
};

// R weight rows x M activation rows of a 32-element block type T, one pass: per
// block the activation codes are loaded once for all R rows, the R weight scales
// are converted together (one vcvtph2ps) and each row's codes meet all M
// activation rows. R · M accumulators; R <= 4, M <= 4, R · M <= 8.
template <typename T, int R, int M>
void blocks32(const uint8_t* w, size_t rb, const Q8Rows& x, int64_t K, float* y, int64_t ldy) {
  __m256 acc[R][M];
  float off[R][M];
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < M; ++m) {
      acc[r][m] = _mm256_setzero_ps();
      off[r][m] = 0;
    }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t g = 0; g < K / 32; ++g, w += T::kBytes) {
    __m256i xq[M], xo[M];
    for (int m = 0; m < M; ++m) {
      xq[m] = load32(x.q + m * x.ldq + 32 * g);
      if constexpr (T::kOffset != 0)
        xo[m] = _mm256_maddubs_epi16(_mm256_set1_epi8(T::kOffset), xq[m]);
    }
    const __m128 dw = f16_rows<R>(w, rb, 0);
    for (int r = 0; r < R; ++r) {
      const uint8_t* b = w + r * rb;
      _mm_prefetch(next_pass(w, rb, R, g, r, T::kBytes), _MM_HINT_T0);
      const __m256i u = T::codes(b);
      const __m256i au = T::kSigned ? _mm256_sign_epi8(u, u) : u;
      for (int m = 0; m < M; ++m) {
        const __m256 sm = _mm256_castps128_ps256(_mm_mul_ps(dw, _mm_set1_ps(x.d[m * x.ldd + g])));
        const __m256 scale = r == 0 ? _mm256_broadcastss_ps(_mm256_castps256_ps128(sm))
                                    : _mm256_permutevar8x32_ps(sm, _mm256_set1_epi32(r));
        __m256i p = T::kSigned ? _mm256_maddubs_epi16(au, _mm256_sign_epi8(xq[m], u))
                               : _mm256_maddubs_epi16(au, xq[m]);
        if constexpr (T::kOffset != 0) p = _mm256_sub_epi16(p, xo[m]);
        acc[r][m] =
            _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), acc[r][m]);
      }
      if constexpr (T::kMin) {
        const float mn = f16(b + 2);
        for (int m = 0; m < M; ++m) off[r][m] += mn * x.s[m * x.ldd + g];
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < M; ++m) y[m * ldy + r] = hsum(acc[r][m]) + off[r][m];
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1 against one activation row (the decode step), 4 weight rows per
// pass, two rows per 256-bit vector: the 16 code bytes of row a and of row b
// fill one register, so one and / shift / and yields the low nibbles
// (elements 0..15) and high nibbles (16..31) of both rows, which meet the
// activation codes 0..15 and 16..31 (each broadcast to both halves) in two
// maddubs (Q5_x: bit 4 of each code from the two rows' qh words, both in one
// register); their s16 sum (|.| <= 2 · 2 · 31 · 128) and madd leave row a in
// lanes 0..3 and row b in lanes 4..7. Fewer instructions per weight block
// than blocks32 (which unpacks each row separately): the decode of 4-bit
// weights is compute-bound at one thread.
template <typename T>
void nibbles_4x1(const uint8_t* w, size_t rb, const Q8Rows& x, int64_t K, float* y, int64_t ldy) {
  constexpr int kQs = T::kQs;
  __m256 acc01 = _mm256_setzero_ps(), acc23 = _mm256_setzero_ps();
  __m128 off = _mm_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  const __m256i idx01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  const __m256i idx23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
  // Q5_x: byte j / 8 of qh (row a: bytes 0..3, row b: 4..7 of the broadcast word),
  // then bit j % 8 of it; elements 0..15 for the low nibbles, 16..31 for the high.
  const __m256i bits = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i ctrl_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4,
                                           4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5);
  const __m256i ctrl_hi = _mm256_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 6, 6, 6,
                                           6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
  const auto pair = [&](const uint8_t* a, const uint8_t* b, __m256i xl, __m256i xh, __m256i xo) {
    const __m256i v = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + kQs))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + kQs)), 1);
    __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if constexpr (T::kQh >= 0) {  // bit j of row a's / b's qh -> bit 4 of element j
      uint32_t qa, qb;
      std::memcpy(&qa, a + T::kQh, 4);
      std::memcpy(&qb, b + T::kQh, 4);
      const __m256i q = _mm256_set1_epi64x(static_cast<int64_t>(qa | uint64_t{qb} << 32));
      const auto bit4 = [&](__m256i ctrl) {
        const __m256i t = _mm256_and_si256(_mm256_shuffle_epi8(q, ctrl), bits);
        return _mm256_and_si256(_mm256_cmpeq_epi8(t, bits), _mm256_set1_epi8(0x10));
      };
      lo = _mm256_or_si256(lo, bit4(ctrl_lo));
      hi = _mm256_or_si256(hi, bit4(ctrl_hi));
    }
    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh));
    if constexpr (T::kOffset != 0) p = _mm256_sub_epi16(p, xo);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
  };
  for (int64_t g = 0; g < K / 32; ++g, w += T::kBytes) {
    const int8_t* xg = x.q + 32 * g;
    const __m256i xl =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xg)));
    const __m256i xh =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xg + 16)));
    __m256i xo = _mm256_setzero_si256();
    if constexpr (T::kOffset != 0) {
      const __m256i o = _mm256_set1_epi8(T::kOffset);
      xo = _mm256_add_epi16(_mm256_maddubs_epi16(o, xl), _mm256_maddubs_epi16(o, xh));
    }
    const __m256 s = _mm256_castps128_ps256(_mm_mul_ps(f16_rows<4>(w, rb, 0), _mm_set1_ps(x.d[g])));
    for (int r = 0; r < 4; ++r) _mm_prefetch(next_pass(w, rb, 4, g, r, T::kBytes), _MM_HINT_T0);
    acc01 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, idx01), pair(w, w + rb, xl, xh, xo), acc01);
    acc23 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, idx23),
                            pair(w + 2 * rb, w + 3 * rb, xl, xh, xo), acc23);
    if constexpr (T::kMin) off = _mm_fmadd_ps(f16_rows<4>(w, rb, 2), _mm_set1_ps(x.s[g]), off);
  }
  // Lane sums: hadd twice leaves rows 0, 2 in lanes 0, 1 and rows 1, 3 in lanes 4, 5.
  const __m256 h = _mm256_hadd_ps(acc01, acc23);
  const __m256 h2 = _mm256_hadd_ps(h, h);
  alignas(32) float t[8], o[4];
  _mm256_store_ps(t, h2);
  _mm_store_ps(o, off);
  y[0] = t[0] + o[0];
  y[1] = t[4] + o[1];
  y[2] = t[1] + o[2];
  y[3] = t[5] + o[3];
  (void)ldy;
}

// Weight rows per pass for M activation rows (R · M <= 8 accumulators).
template <typename T, int M>
void blocks32_rows(const uint8_t* w, size_t rb, int64_t R, const Q8Rows& x, int64_t K, float* y,
                   int64_t ldy) {
  constexpr int kR = M == 1 ? 4 : M == 2 ? 2 : 1;
  constexpr bool kNibbles = M == 1 && !T::kSigned;  // Q4_0, Q4_1, Q5_0, Q5_1
  int64_t r = 0;
  for (; r + kR <= R; r += kR) {
    if constexpr (kNibbles)
      nibbles_4x1<T>(w + r * rb, rb, x, K, y + r, ldy);
    else
      blocks32<T, kR, M>(w + r * rb, rb, x, K, y + r, ldy);
  }
  for (; r < R; ++r) blocks32<T, 1, M>(w + r * rb, rb, x, K, y + r, ldy);
}

template <typename T>
void rows_dot32(const uint8_t* w, size_t rb, int64_t R, const Q8Rows& x, int M, int64_t K, float* y,
                int64_t ldy) {
  for_row_groups(M, [&](auto n, int m0) {
    const Q8Rows xm{x.q + m0 * x.ldq, x.ldq, x.d + m0 * x.ldd, x.s + m0 * x.ldd, x.ldd};
    blocks32_rows<T, decltype(n)::value>(w, rb, R, xm, K, y + m0 * ldy, ldy);
  });
}

}  // namespace

void quantize_q8_avx2(const float* x, int64_t n, int8_t* q, float* d, float* s) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / 32; ++b) {
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + 32 * b + 8 * i);
      mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const __m256 id = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
    __m256i i[4];
    for (int k = 0; k < 4; ++k) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], id));
    // Sum of the codes, then pack 32 x i32 -> 32 x i8 in element order.
    __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    const __m256i p16 = _mm256_packs_epi32(i[0], i[1]);  // lanes: 0-3 8-11 | 4-7 12-15
    const __m256i p16b = _mm256_packs_epi32(i[2], i[3]);
    const __m256i p8 = _mm256_packs_epi16(p16, p16b);  // 0-3 8-11 16-19 24-27 | 4-7 ...
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * b),
                        _mm256_permutevar8x32_epi32(p8, order));
    d[b] = amax / 127.0f;
    s[b] = d[b] * static_cast<float>(_mm_cvtsi128_si32(s4));
  }
}

RowDotQ8 row_dot_q8_avx2(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return rows_dot32<Q4_0>;
    case GgmlType::Q4_1:
      return rows_dot32<Q4_1>;
    case GgmlType::Q5_0:
      return rows_dot32<Q5_0>;
    case GgmlType::Q5_1:
      return rows_dot32<Q5_1>;
    case GgmlType::Q8_0:
      return rows_dot32<Q8_0>;
    default:
      return row_dot_q8_kquants_avx2(type);
  }
}

}  // namespace pivot::cpu

#endif
