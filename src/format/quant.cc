// GGUF block formats: f16/bf16 conversions, the 32-element "legacy" blocks, and
// dispatch by type. K-quant blocks are in quant_kquants.cc.
//
// Layouts are those of ggml-common.h. Dequantization and the legacy quantizers
// reproduce gguf-py (gguf/quants.py) bit for bit: same float32 operations in the
// same order, same rounding (trunc(x + 0.5) where it truncates, round-half-away
// where it uses np_roundf), same argmax tie-break (first index).
#include "pivot/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "pivot/error.h"
#include "quant_kquants.h"

// Results must match gguf-py bit for bit, so a*b+c must not become a fused multiply-add.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace pivot {

using quant_detail::load_f16;
using quant_detail::store_f16;

// ---------------------------------------------------------------------------------------
// IEEE binary16 and bfloat16.

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN with its payload kept
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: mant * 2^-24; shift the leading one up to the implicit bit.
    uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {
    if (ax == 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u);
    // NaN: keep the top payload bits, as numpy does; never turn it into inf.
    const uint32_t payload = (ax & 0x007fffffu) >> 13;
    return static_cast<uint16_t>(sign | 0x7c00u | (payload != 0 ? payload : 1u));
  }
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  uint32_t h, rem, half;
  if (ax >= 0x38800000u) {  // normal half: |f| >= 2^-14
    h = ((ax >> 23) - 112) << 10 | ((ax & 0x007fffffu) >> 13);
    rem = ax & 0x1fffu;
    half = 0x1000u;
  } else {
    const uint32_t e = ax >> 23;
    if (e < 102) return static_cast<uint16_t>(sign);  // below 2^-25: rounds to zero
    const uint32_t m = (ax & 0x007fffffu) | 0x00800000u;
    const uint32_t shift = 126 - e;  // 14..24: the value in units of 2^-24 is m >> shift
    h = m >> shift;
    rem = m & ((1u << shift) - 1);
    half = 1u << (shift - 1);
  }
  if (rem > half || (rem == half && (h & 1u))) ++h;  // a carry moves into the exponent
  return static_cast<uint16_t>(sign | h);
}

float bf16_to_fp32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t fp32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

namespace {

// ---------------------------------------------------------------------------------------
// Legacy blocks, 32 elements. Nibble packing: element j (j < 16) is the low nibble of
// qs[j], element j + 16 the high nibble. Q5 types keep bit 4 of element j in bit j of
// the little-endian uint32 qh.

constexpr int kQ = 32;

// trunc(v) clamped to [0, hi]; NaN gives 0 (gguf-py: trunc, astype(uint8), clip).
int trunc_clamp(float v, int hi) {
  const float t = std::trunc(v);
  if (!(t > 0.0f)) return 0;
  return t >= static_cast<float>(hi) ? hi : static_cast<int>(t);
}

// The element with the largest magnitude, first one on ties (numpy argmax).
float signed_absmax(const float* x) {
  float amax = std::fabs(x[0]);
  float max = x[0];
  for (int j = 1; j < kQ; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float* min, float* max) {
  *min = *max = x[0];
  for (int j = 1; j < kQ; ++j) {
    *min = std::min(*min, x[j]);
    *max = std::max(*max, x[j]);
  }
}

float inverse_or_zero(float d) {
  return d == 0.0f ? 0.0f : 1.0f / d;
}

void pack_nibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < kQ / 2; ++j)
    qs[j] = static_cast<uint8_t>((q[j] & 0xf) | (q[j + kQ / 2] & 0xf) << 4);
}

void pack_high_bits(const int* q, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < kQ; ++j) qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh_bytes, &qh, 4);
}

// Q4_0: d (f16), qs[16]; x = d * (q - 8).
void dequant_q4_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < kQ / 2; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0xf) - 8);
    y[j + kQ / 2] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

void quant_q4_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x) / -8.0f;
  const float id = inverse_or_zero(d);
  int q[kQ];
  for (int j = 0; j < kQ; ++j) {
    const float t = x[j] * id;
    q[j] = trunc_clamp(t + 8.5f, 15);
  }
  store_f16(b, d);
  pack_nibbles(q, b + 2);
}

// Q4_1: d (f16), m (f16), qs[16]; x = d * q + m.
void dequant_q4_1(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < kQ / 2; ++j) {
    const float lo = d * static_cast<float>(qs[j] & 0xf);
    const float hi = d * static_cast<float>(qs[j] >> 4);
    y[j] = lo + m;
    y[j + kQ / 2] = hi + m;
  }
}

void quant_q4_1(const float* x, uint8_t* b) {
  float min, max;
  min_max(x, &min, &max);
  const float d = (max - min) / 15.0f;
  const float id = inverse_or_zero(d);
  int q[kQ];
  for (int j = 0; j < kQ; ++j) {
    const float t = (x[j] - min) * id;
    q[j] = trunc_clamp(t + 0.5f, 15);
  }
  store_f16(b, d);
  store_f16(b + 2, min);
  pack_nibbles(q, b + 4);
}

// Q5_0: d (f16), qh (u32), qs[16]; x = d * (q - 16).
void dequant_q5_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < kQ / 2; ++j) {
    const int lo = (qs[j] & 0xf) | static_cast<int>((qh >> j) & 1) << 4;
    const int hi = (qs[j] >> 4) | static_cast<int>((qh >> (j + kQ / 2)) & 1) << 4;
    y[j] = d * static_cast<float>(lo - 16);
    y[j + kQ / 2] = d * static_cast<float>(hi - 16);
  }
}

void quant_q5_0(const float* x, uint8_t* b) {
  const float d = signed_absmax(x) / -16.0f;
  const float id = inverse_or_zero(d);
  int q[kQ];
  for (int j = 0; j < kQ; ++j) {
    const float t = x[j] * id;
    q[j] = trunc_clamp(t + 16.5f, 31);
  }
  store_f16(b, d);
  pack_high_bits(q, b + 2);
  pack_nibbles(q, b + 6);
}

// Q5_1: d (f16), m (f16), qh (u32), qs[16]; x = d * q + m.
void dequant_q5_1(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < kQ / 2; ++j) {
    const int lo = (qs[j] & 0xf) | static_cast<int>((qh >> j) & 1) << 4;
    const int hi = (qs[j] >> 4) | static_cast<int>((qh >> (j + kQ / 2)) & 1) << 4;
    const float dlo = d * static_cast<float>(lo);
    const float dhi = d * static_cast<float>(hi);
    y[j] = dlo + m;
    y[j + kQ / 2] = dhi + m;
  }
}

void quant_q5_1(const float* x, uint8_t* b) {
  float min, max;
  min_max(x, &min, &max);
  const float d = (max - min) / 31.0f;
  const float id = inverse_or_zero(d);
  int q[kQ];
  for (int j = 0; j < kQ; ++j) {
    const float t = (x[j] - min) * id;
    q[j] = trunc_clamp(t + 0.5f, 31);
  }
  store_f16(b, d);
  store_f16(b + 2, min);
  pack_high_bits(q, b + 4);
  pack_nibbles(q, b + 8);
}

// Q8_0: d (f16), qs[32] (int8); x = d * q.
void dequant_q8_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  for (int j = 0; j < kQ; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

void quant_q8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < kQ; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = inverse_or_zero(d);
  store_f16(b, d);
  for (int j = 0; j < kQ; ++j) {
    const float r = std::round(x[j] * id);  // half away from zero, as np_roundf
    const int q = r >= 127.0f ? 127 : r <= -128.0f ? -128 : static_cast<int>(r);
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
  }
}

// ---------------------------------------------------------------------------------------
// Dispatch.

using BlockDequant = void (*)(const uint8_t*, float*);
using BlockQuant = void (*)(const float*, uint8_t*);

struct Codec {
  GgmlType type;
  BlockDequant dequant;
  BlockQuant quant;  // nullptr: dequantize only
};

// Block types; F32, F16 and BF16 are handled inline below.
constexpr Codec kCodecs[] = {
    {GgmlType::Q4_0, dequant_q4_0, quant_q4_0},
    {GgmlType::Q4_1, dequant_q4_1, quant_q4_1},
    {GgmlType::Q5_0, dequant_q5_0, quant_q5_0},
    {GgmlType::Q5_1, dequant_q5_1, quant_q5_1},
    {GgmlType::Q8_0, dequant_q8_0, quant_q8_0},
    {GgmlType::Q2_K, quant_detail::dequant_q2_k, quant_detail::quant_q2_k},
    {GgmlType::Q3_K, quant_detail::dequant_q3_k, quant_detail::quant_q3_k},
    {GgmlType::Q4_K, quant_detail::dequant_q4_k, quant_detail::quant_q4_k},
    {GgmlType::Q5_K, quant_detail::dequant_q5_k, quant_detail::quant_q5_k},
    {GgmlType::Q6_K, quant_detail::dequant_q6_k, quant_detail::quant_q6_k},
    {GgmlType::Q8_K, quant_detail::dequant_q8_k, quant_detail::quant_q8_k},
};

const Codec* find_codec(GgmlType type) {
  for (const auto& c : kCodecs)
    if (c.type == type) return &c;
  return nullptr;
}

bool is_plain(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
}

// Checks n against the type's block size; returns the number of blocks.
int64_t block_count(GgmlType type, int64_t n, const char* what) {
  const uint32_t id = static_cast<uint32_t>(type);
  const auto traits = ggml_type_traits(id);
  if (!traits) fail("%s: unknown ggml type id %u", what, id);
  if (n < 0 || n % traits->block_size != 0)
    fail("%s %s: n = %lld is not a non-negative multiple of the block size %u", what,
         ggml_type_name(id).c_str(), static_cast<long long>(n), traits->block_size);
  return n / traits->block_size;
}

}  // namespace

bool can_dequantize(GgmlType type) {
  return is_plain(type) || find_codec(type) != nullptr;
}

bool can_quantize(GgmlType type) {
  const Codec* c = find_codec(type);
  return is_plain(type) || (c != nullptr && c->quant != nullptr);
}

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = block_count(type, n, "dequantize");
  const auto* s = static_cast<const uint8_t*>(src);
  switch (type) {
    case GgmlType::F32:
      if (n > 0) std::memcpy(dst, s, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_f16(s + 2 * i);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        dst[i] = bf16_to_fp32(h);
      }
      return;
    default:
      break;
  }
  const Codec* c = find_codec(type);
  if (c == nullptr)
    fail("dequantize: type %s is not supported",
         ggml_type_name(static_cast<uint32_t>(type)).c_str());
  const auto t = ggml_type_traits(type);
  for (int64_t i = 0; i < nb; ++i) c->dequant(s + i * t.type_size, dst + i * t.block_size);
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
  const int64_t nb = block_count(type, n, "quantize");
  auto* d = static_cast<uint8_t*>(dst);
  switch (type) {
    case GgmlType::F32:
      if (n > 0) std::memcpy(d, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) store_f16(d + 2 * i, src[i]);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_bf16(src[i]);
        std::memcpy(d + 2 * i, &h, 2);
      }
      return;
    default:
      break;
  }
  const Codec* c = find_codec(type);
  if (c == nullptr || c->quant == nullptr)
    fail("quantize: type %s is not supported", ggml_type_name(static_cast<uint32_t>(type)).c_str());
  const auto t = ggml_type_traits(type);
  for (int64_t i = 0; i < nb; ++i) c->quant(src + i * t.block_size, d + i * t.type_size);
}

}  // namespace pivot
