// Portable Q8 decode kernels (kernels.h: Q8Rows, RowDotQ8): each 32-element
// group of a weight row is decoded to integers w (with the f32 scale and offset
// that turn them back into weights), dotted exactly with the activation codes,
// then scaled once. The AVX2 versions (kernels_q8_avx2.cc) compute the same sums.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "pivot/quant.h"

namespace pivot::cpu {
namespace {

float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

// One group of 32 weights: weight_i = scale · w[i] + offset.
struct Group {
  int32_t w[32];
  float scale;
  float offset;
};

// Group g of a row (g-th 32 elements), per type; layouts as in quant.h.
template <GgmlType T>
void decode(const uint8_t* row, int64_t g, Group* out) {
  if constexpr (T == GgmlType::Q4_0 || T == GgmlType::Q4_1) {
    constexpr int kBytes = T == GgmlType::Q4_0 ? 18 : 20, kQs = T == GgmlType::Q4_0 ? 2 : 4;
    const uint8_t* b = row + g * kBytes;
    for (int l = 0; l < 16; ++l) {
      out->w[l] = b[kQs + l] & 0xf;
      out->w[l + 16] = b[kQs + l] >> 4;
    }
    if constexpr (T == GgmlType::Q4_0)
      for (int& v : out->w) v -= 8;  // the integer offset, inside the exact dot
    out->scale = f16(b);
    out->offset = T == GgmlType::Q4_0 ? 0.0f : f16(b + 2);
  } else if constexpr (T == GgmlType::Q5_0 || T == GgmlType::Q5_1) {
    constexpr int kBytes = T == GgmlType::Q5_0 ? 22 : 24, kQh = T == GgmlType::Q5_0 ? 2 : 4;
    const uint8_t* b = row + g * kBytes;
    uint32_t qh;
    std::memcpy(&qh, b + kQh, 4);
    for (int l = 0; l < 16; ++l) {
      out->w[l] = (b[kQh + 4 + l] & 0xf) | ((qh >> l) & 1) << 4;
      out->w[l + 16] = (b[kQh + 4 + l] >> 4) | ((qh >> (l + 16)) & 1) << 4;
    }
    if constexpr (T == GgmlType::Q5_0)
      for (int& v : out->w) v -= 16;
    out->scale = f16(b);
    out->offset = T == GgmlType::Q5_0 ? 0.0f : f16(b + 2);
  } else if constexpr (T == GgmlType::Q8_0) {
    const uint8_t* b = row + g * 34;
    for (int l = 0; l < 32; ++l) out->w[l] = static_cast<int8_t>(b[2 + l]);
    out->scale = f16(b);
    out->offset = 0;
  } else if constexpr (T == GgmlType::Q4_K || T == GgmlType::Q5_K) {
    constexpr int kBytes = T == GgmlType::Q4_K ? 144 : 176, kQs = T == GgmlType::Q4_K ? 16 : 48;
    const uint8_t* b = row + (g / 8) * kBytes;
    const int j = static_cast<int>(g % 8);
    int sc, mn;
    scale_min_k4(j, b + 4, &sc, &mn);
    for (int l = 0; l < 32; ++l) {
      out->w[l] = (b[kQs + 32 * (j / 2) + l] >> (4 * (j % 2))) & 0xf;
      if constexpr (T == GgmlType::Q5_K) out->w[l] |= ((b[16 + l] >> j) & 1) << 4;
    }
    out->scale = f16(b) * static_cast<float>(sc);
    out->offset = -f16(b + 2) * static_cast<float>(mn);
  } else {  // Q6_K: the int8 scale of each 16 is folded into w.
    const uint8_t* b = row + (g / 8) * 210;
    const int h = static_cast<int>(g % 8) / 4, s = static_cast<int>(g % 4);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int l = 0; l < 32; ++l) {
      const int lo = (b[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 0xf;
      const int hi = (b[128 + 32 * h + l] >> (2 * s)) & 3;
      out->w[l] = ((lo | hi << 4) - 32) * sc[(128 * h + 32 * s + l) / 16];
    }
    out->scale = f16(b + 208);
    out->offset = 0;
  }
}

template <GgmlType T>
void row_dot(const uint8_t* w, const Q8Rows& x, int M, int64_t K, float* y, int64_t ldy) {
  for (int m = 0; m < M; ++m) {
    const int8_t* q = x.q + m * x.ldq;
    const float* d = x.d + m * x.ldd;
    const float* s = x.s + m * x.ldd;
    float acc = 0, off = 0;
    Group grp;
    for (int64_t g = 0; g < K / 32; ++g) {
      decode<T>(w, g, &grp);
      int32_t dot = 0;
      for (int l = 0; l < 32; ++l) dot += grp.w[l] * q[32 * g + l];
      acc += grp.scale * d[g] * static_cast<float>(dot);
      off += grp.offset * s[g];
    }
    y[m * ldy] = acc + off;
  }
}

template <GgmlType T>
void rows_dot(const uint8_t* w, size_t row_bytes, int64_t R, const Q8Rows& x, int M, int64_t K,
              float* y, int64_t ldy) {
  for (int64_t r = 0; r < R; ++r) row_dot<T>(w + r * row_bytes, x, M, K, y + r, ldy);
}

}  // namespace

void quantize_q8_scalar(const float* x, int64_t n, int8_t* q, float* d, float* s) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0;
    for (int l = 0; l < 32; ++l) amax = std::fmax(amax, std::fabs(xb[l]));
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    int32_t sum = 0;
    for (int l = 0; l < 32; ++l) {
      const auto v = static_cast<int8_t>(std::nearbyint(xb[l] * id));
      q[32 * b + l] = v;
      sum += v;
    }
    d[b] = amax / 127.0f;
    s[b] = d[b] * static_cast<float>(sum);
  }
}

RowDotQ8 row_dot_q8_scalar(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return rows_dot<GgmlType::Q4_0>;
    case GgmlType::Q4_1:
      return rows_dot<GgmlType::Q4_1>;
    case GgmlType::Q5_0:
      return rows_dot<GgmlType::Q5_0>;
    case GgmlType::Q5_1:
      return rows_dot<GgmlType::Q5_1>;
    case GgmlType::Q8_0:
      return rows_dot<GgmlType::Q8_0>;
    case GgmlType::Q4_K:
      return rows_dot<GgmlType::Q4_K>;
    case GgmlType::Q5_K:
      return rows_dot<GgmlType::Q5_K>;
    case GgmlType::Q6_K:
      return rows_dot<GgmlType::Q6_K>;
    default:
      return nullptr;
  }
}

}  // namespace pivot::cpu
