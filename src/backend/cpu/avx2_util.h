// Small AVX2 + F16C helpers shared by the cpu kernels (kernels_avx2.cc,
// kernels_q8_avx2.cc). Include only from files compiled with -mavx2 -mfma
// -mf16c (src/backend/CMakeLists.txt); everything is inline.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace pivot::cpu::avx2 {

// One IEEE half at p (unaligned) as f32.
inline float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// Sum of the 8 lanes (pairwise, in f32).
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 16 packed nibbles -> 32 bytes: low nibbles are elements 0..15, high 16..31
// (the Q4_0 / Q4_1 / Q5_x block order, quant.h).
inline __m256i nibbles32(const uint8_t* qs) {
  const __m256i b =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_blend_epi32(b, _mm256_srli_epi16(b, 4), 0xf0),
                          _mm256_set1_epi8(0x0f));
}

// Q5_0 / Q5_1 block of 32: nibble | (bit j of qh) << 4 for element j, in the
// order of nibbles32. Returns the 32 unsigned 5-bit values.
inline __m256i q5_values(const uint8_t* qh_bytes, const uint8_t* qs) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  // byte j of the result = byte j/8 of qh, then test bit j%8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_or_si256(nibbles32(qs), _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
}

}  // namespace pivot::cpu::avx2
