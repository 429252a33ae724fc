// Private to src/format: helpers shared by quant.cc and quant_kquants.cc, and the
// per-block K-quant codecs that quant.cc dispatches to.
//
// A block codec reads or writes exactly one block: `b` points at type_size bytes
// (any alignment), `x` / `y` at block_size floats.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "pivot/quant.h"

namespace pivot::quant_detail {

static_assert(std::endian::native == std::endian::little, "GGUF blocks are little-endian");

inline float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

inline void store_f16(uint8_t* p, float f) {
  const uint16_t h = fp32_to_fp16(f);
  std::memcpy(p, &h, 2);
}

// Round to nearest, ties to even, exact for |v| < 2^22 (ggml's nearest_int): adding
// 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. No UB for any v.
inline int nearest_int(float v) {
  const float t = v + 12582912.0f;
  uint32_t bits;
  std::memcpy(&bits, &t, 4);
  return static_cast<int>(bits & 0x007fffffu) - 0x00400000;
}

// K-quant super-blocks: 256 elements each.
constexpr int kQK = 256;

void dequant_q2_k(const uint8_t* b, float* y);
void dequant_q3_k(const uint8_t* b, float* y);
void dequant_q4_k(const uint8_t* b, float* y);
void dequant_q5_k(const uint8_t* b, float* y);
void dequant_q6_k(const uint8_t* b, float* y);
void dequant_q8_k(const uint8_t* b, float* y);

void quant_q2_k(const float* x, uint8_t* b);
void quant_q3_k(const float* x, uint8_t* b);
void quant_q4_k(const float* x, uint8_t* b);
void quant_q5_k(const float* x, uint8_t* b);
void quant_q6_k(const float* x, uint8_t* b);
void quant_q8_k(const float* x, uint8_t* b);

}  // namespace pivot::quant_detail
