// GGUF blocks decoded on the GPU (and on the host, for tests/cuda): the
// per-type pieces of the matvec kernels (matvec.cu) and the element decoders of
// the general path (dequant.cu). Layouts and formulas: include/pivot/quant.h,
// src/format/quant*.cc; element decoders repeat those formulas operation for
// operation, so they equal the reference dequantization bit for bit.
#pragma once

#include "common.cuh"
#include "pivot/ggml_type.h"

namespace pivot::cuda {

// --- matvec pieces. Each type: kElems/kBytes per block, kLanes lanes share one
// block, kFrag x values per lane; load_x() fetches lane t's x slice of block b;
// dot() adds lane t's share of block·x for MC activation rows to acc[0..MC).

PIVOT_HD void ld_x4(const float* p, float* v) {
  const float4 f = *reinterpret_cast<const float4*>(p);
  v[0] = f.x;
  v[1] = f.y;
  v[2] = f.z;
  v[3] = f.w;
}

struct F32W {
  static constexpr int kElems = 4, kBytes = 16, kLanes = 1, kFrag = 4;
  PIVOT_HD static void load_x(const float* x, int64_t b, int, float* v) { ld_x4(x + 4 * b, v); }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int, const float (*v)[kFrag], float* acc) {
    float w[4];
    ld_x4(reinterpret_cast<const float*>(blk), w);
#pragma unroll
    for (int m = 0; m < MC; ++m)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[m] += w[i] * v[m][i];
  }
};

template <bool kBf16>
struct Half8W {  // F16 or BF16, 8 elements (16 bytes) per lane
  static constexpr int kElems = 8, kBytes = 16, kLanes = 1, kFrag = 8;
  PIVOT_HD static void load_x(const float* x, int64_t b, int, float* v) {
    ld_x4(x + 8 * b, v);
    ld_x4(x + 8 * b + 4, v + 4);
  }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int, const float (*v)[kFrag], float* acc) {
    const uint4 q = *reinterpret_cast<const uint4*>(blk);
    const uint32_t u[4] = {q.x, q.y, q.z, q.w};
    float w[8];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if (kBf16) {
        w[2 * i] = as_float(u[i] << 16);
        w[2 * i + 1] = as_float(u[i] & 0xffff0000u);
      } else {
        w[2 * i] = f16_bits(u[i] & 0xffffu);
        w[2 * i + 1] = f16_bits(u[i] >> 16);
      }
    }
#pragma unroll
    for (int m = 0; m < MC; ++m)
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[m] += w[i] * v[m][i];
  }
};

// Q4_0: d (f16), qs[16]; element j < 16 is the low nibble of qs[j], j + 16 the high
// one; x = d * (q - 8). Lane t of 4 takes qs[4t, 4t + 4): elements 4t.. and 16 + 4t..
struct Q4_0W {
  static constexpr int kElems = 32, kBytes = 18, kLanes = 4, kFrag = 8;
  PIVOT_HD static void load_x(const float* x, int64_t b, int t, float* v) {
    ld_x4(x + 32 * b + 4 * t, v);
    ld_x4(x + 32 * b + 16 + 4 * t, v + 4);
  }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int t, const float (*v)[kFrag], float* acc) {
    const float d = ld_f16(blk);
    const uint32_t w = ld_u32_a2(blk + 2 + 4 * t);
    const uint32_t lo = w & 0x0f0f0f0fu, hi = (w >> 4) & 0x0f0f0f0fu;
    const float q[8] = {byte_f<0>(lo, 8), byte_f<1>(lo, 8), byte_f<2>(lo, 8), byte_f<3>(lo, 8),
                        byte_f<0>(hi, 8), byte_f<1>(hi, 8), byte_f<2>(hi, 8), byte_f<3>(hi, 8)};
#pragma unroll
    for (int m = 0; m < MC; ++m) {
      float s = 0;
#pragma unroll
      for (int i = 0; i < 8; ++i) s += q[i] * v[m][i];
      acc[m] += d * s;
    }
  }
};

// Q4_1: d (f16), m (f16), qs[16] as Q4_0; x = d * q + m.
struct Q4_1W {
  static constexpr int kElems = 32, kBytes = 20, kLanes = 4, kFrag = 8;
  PIVOT_HD static void load_x(const float* x, int64_t b, int t, float* v) {
    Q4_0W::load_x(x, b, t, v);
  }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int t, const float (*v)[kFrag], float* acc) {
    const float d = ld_f16(blk), mn = ld_f16(blk + 2);
    const uint32_t w = *reinterpret_cast<const uint32_t*>(blk + 4 + 4 * t);
    const uint32_t lo = w & 0x0f0f0f0fu, hi = (w >> 4) & 0x0f0f0f0fu;
    const float q[8] = {byte_f<0>(lo), byte_f<1>(lo), byte_f<2>(lo), byte_f<3>(lo),
                        byte_f<0>(hi), byte_f<1>(hi), byte_f<2>(hi), byte_f<3>(hi)};
#pragma unroll
    for (int m = 0; m < MC; ++m) {
      float s = 0, sx = 0;
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        s += q[i] * v[m][i];
        sx += v[m][i];
      }
      acc[m] += d * s + mn * sx;
    }
  }
};

// Q8_0: d (f16), qs[32] (int8); x = d * q. Lane t of 8 takes elements 4t .. 4t + 3.
struct Q8_0W {
  static constexpr int kElems = 32, kBytes = 34, kLanes = 8, kFrag = 4;
  PIVOT_HD static void load_x(const float* x, int64_t b, int t, float* v) {
    ld_x4(x + 32 * b + 4 * t, v);
  }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int t, const float (*v)[kFrag], float* acc) {
    const float d = ld_f16(blk);
    const uint32_t w = ld_u32_a2(blk + 2 + 4 * t) ^ 0x80808080u;  // int8 -> uint8 + 128
    const float q[4] = {byte_f<0>(w, 128), byte_f<1>(w, 128), byte_f<2>(w, 128), byte_f<3>(w, 128)};
#pragma unroll
    for (int m = 0; m < MC; ++m) {
      float s = 0;
#pragma unroll
      for (int i = 0; i < 4; ++i) s += q[i] * v[m][i];
      acc[m] += d * s;
    }
  }
};

// Q4_K: d, dmin (f16), scales[12] (8 six-bit scale/min pairs), qs[128]. Element
// 64c + 32s + l is nibble s of qs[32c + l]; x = d * sc_j * q - dmin * m_j, j =
// element / 32. Lane t of 32: c = t / 8, bytes qs[32c + 4(t % 8)] .. + 3.
struct Q4_KW {
  static constexpr int kElems = 256, kBytes = 144, kLanes = 32, kFrag = 8;
  PIVOT_HD static void load_x(const float* x, int64_t b, int t, float* v) {
    const float* p = x + 256 * b + 64 * (t / 8) + 4 * (t % 8);
    ld_x4(p, v);
    ld_x4(p + 32, v + 4);
  }
  PIVOT_HD static void scale_min(const uint8_t* s, int j, float* sc, float* mn) {
    if (j < 4) {
      *sc = static_cast<float>(s[j] & 63);
      *mn = static_cast<float>(s[j + 4] & 63);
    } else {
      *sc = static_cast<float>((s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4));
      *mn = static_cast<float>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
  }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int t, const float (*v)[kFrag], float* acc) {
    const float d = ld_f16(blk), dmin = ld_f16(blk + 2);
    const int c = t / 8;
    float sc0, m0, sc1, m1;
    scale_min(blk + 4, 2 * c, &sc0, &m0);
    scale_min(blk + 4, 2 * c + 1, &sc1, &m1);
    const uint32_t w = *reinterpret_cast<const uint32_t*>(blk + 16 + 32 * c + 4 * (t % 8));
    const uint32_t lo = w & 0x0f0f0f0fu, hi = (w >> 4) & 0x0f0f0f0fu;
    const float q[8] = {byte_f<0>(lo), byte_f<1>(lo), byte_f<2>(lo), byte_f<3>(lo),
                        byte_f<0>(hi), byte_f<1>(hi), byte_f<2>(hi), byte_f<3>(hi)};
#pragma unroll
    for (int m = 0; m < MC; ++m) {
      float s0 = 0, s1 = 0, x0 = 0, x1 = 0;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        s0 += q[i] * v[m][i];
        x0 += v[m][i];
        s1 += q[4 + i] * v[m][4 + i];
        x1 += v[m][4 + i];
      }
      acc[m] += d * (sc0 * s0 + sc1 * s1) - dmin * (m0 * x0 + m1 * x1);
    }
  }
};

// Q6_K: ql[128], qh[64], scales[16] (int8), d (f16). Element 128h + 32s + l: low
// nibble is nibble s / 2 of ql[64h + 32(s % 2) + l], high 2 bits are bits 2s of
// qh[32h + l]; x = d * sc[e / 16] * (q - 32). Lane t: h = t / 16, l = 2(t % 16) + {0, 1},
// all four s.
struct Q6_KW {
  static constexpr int kElems = 256, kBytes = 210, kLanes = 32, kFrag = 8;
  PIVOT_HD static void load_x(const float* x, int64_t b, int t, float* v) {
    const float* p = x + 256 * b + 128 * (t / 16) + 2 * (t % 16);
#pragma unroll
    for (int s = 0; s < 4; ++s) {
      const float2 f = *reinterpret_cast<const float2*>(p + 32 * s);
      v[2 * s] = f.x;
      v[2 * s + 1] = f.y;
    }
  }
  template <int MC>
  PIVOT_HD static void dot(const uint8_t* blk, int t, const float (*v)[kFrag], float* acc) {
    const int h = t / 16, l = 2 * (t % 16);
    const uint32_t qa = ld_u16(blk + 64 * h + l);       // s = 0 (low), s = 2 (high nibbles)
    const uint32_t qb = ld_u16(blk + 64 * h + 32 + l);  // s = 1, s = 3
    const uint32_t qh = ld_u16(blk + 128 + 32 * h + l);
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192 + 8 * h + l / 16);
    const float d = ld_f16(blk + 208);
    float q[8];
#pragma unroll
    for (int s = 0; s < 4; ++s)
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const uint32_t ql = ((s % 2 ? qb : qa) >> (8 * i + 4 * (s / 2))) & 0xf;
        const uint32_t hi = (qh >> (8 * i + 2 * s)) & 3;
        q[2 * s + i] = int_f(ql | hi << 4, 32);
      }
    float dsc[4];
#pragma unroll
    for (int s = 0; s < 4; ++s) dsc[s] = d * static_cast<float>(sc[2 * s]);
#pragma unroll
    for (int m = 0; m < MC; ++m) {
      float a = 0;
#pragma unroll
      for (int s = 0; s < 4; ++s)
        a += dsc[s] * (q[2 * s] * v[m][2 * s] + q[2 * s + 1] * v[m][2 * s + 1]);
      acc[m] += a;
    }
  }
};

// --- element decoders

// Element e of the block at b.
template <GgmlType T>
PIVOT_HD float elem(const uint8_t* b, int e);

template <>
PIVOT_HD float elem<GgmlType::F32>(const uint8_t* b, int e) {
  return reinterpret_cast<const float*>(b)[e];
}
template <>
PIVOT_HD float elem<GgmlType::F16>(const uint8_t* b, int e) {
  return ld_f16(b + 2 * e);
}
template <>
PIVOT_HD float elem<GgmlType::BF16>(const uint8_t* b, int e) {
  return bf16_bits(ld_u16(b + 2 * e));
}
template <>
PIVOT_HD float elem<GgmlType::Q4_0>(const uint8_t* b, int e) {
  const int q = (b[2 + e % 16] >> (4 * (e / 16))) & 0xf;
  return ld_f16(b) * static_cast<float>(q - 8);
}
template <>
PIVOT_HD float elem<GgmlType::Q4_1>(const uint8_t* b, int e) {
  const int q = (b[4 + e % 16] >> (4 * (e / 16))) & 0xf;
  const float v = ld_f16(b) * static_cast<float>(q);
  return v + ld_f16(b + 2);
}
PIVOT_HD int q5_bit(const uint8_t* qh, int e) {
  return (qh[e / 8] >> (e % 8)) & 1;  // bit e of the little-endian u32
}
template <>
PIVOT_HD float elem<GgmlType::Q5_0>(const uint8_t* b, int e) {
  const int q = ((b[6 + e % 16] >> (4 * (e / 16))) & 0xf) | q5_bit(b + 2, e) << 4;
  return ld_f16(b) * static_cast<float>(q - 16);
}
template <>
PIVOT_HD float elem<GgmlType::Q5_1>(const uint8_t* b, int e) {
  const int q = ((b[8 + e % 16] >> (4 * (e / 16))) & 0xf) | q5_bit(b + 4, e) << 4;
  const float v = ld_f16(b) * static_cast<float>(q);
  return v + ld_f16(b + 2);
}
template <>
PIVOT_HD float elem<GgmlType::Q8_0>(const uint8_t* b, int e) {
  return static_cast<float>(static_cast<int8_t>(b[2 + e])) * ld_f16(b);
}
template <>
PIVOT_HD float elem<GgmlType::Q2_K>(const uint8_t* b, int e) {
  const int h = e / 128, s = (e / 32) % 4, l = e % 32;
  const int q = (b[16 + 32 * h + l] >> (2 * s)) & 3;
  const uint8_t sc = b[e / 16];
  const float dl = ld_f16(b + 80) * static_cast<float>(sc & 0xf);
  const float ml = ld_f16(b + 82) * static_cast<float>(sc >> 4);
  const float v = dl * static_cast<float>(q);
  return v - ml;
}
template <>
PIVOT_HD float elem<GgmlType::Q3_K>(const uint8_t* b, int e) {
  const int h = e / 128, s = (e / 32) % 4, l = e % 32, j = e / 16;
  const uint8_t* sc = b + 96;
  const int lo = (b[32 + 32 * h + l] >> (2 * s)) & 3;
  const int hi = (b[l] >> (e / 32)) & 1;
  const int scl = (j < 8 ? sc[j] & 0xf : sc[j - 8] >> 4) | ((sc[8 + j % 4] >> (2 * (j / 4))) & 3)
                                                               << 4;
  const float dl = ld_f16(b + 108) * static_cast<float>(scl - 32);
  return dl * static_cast<float>(lo - (hi ? 0 : 4));
}
PIVOT_HD void scale_min_k4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}
template <>
PIVOT_HD float elem<GgmlType::Q4_K>(const uint8_t* b, int e) {
  const int j = e / 32, l = e % 32;
  int sc, m;
  scale_min_k4(j, b + 4, &sc, &m);
  const int q = (b[16 + 32 * (j / 2) + l] >> (4 * (j % 2))) & 0xf;
  const float dl = ld_f16(b) * static_cast<float>(sc);
  const float ml = ld_f16(b + 2) * static_cast<float>(m);
  const float v = dl * static_cast<float>(q);
  return v - ml;
}
template <>
PIVOT_HD float elem<GgmlType::Q5_K>(const uint8_t* b, int e) {
  const int j = e / 32, l = e % 32;
  int sc, m;
  scale_min_k4(j, b + 4, &sc, &m);
  const int q = ((b[48 + 32 * (j / 2) + l] >> (4 * (j % 2))) & 0xf) | ((b[16 + l] >> j) & 1) << 4;
  const float dl = ld_f16(b) * static_cast<float>(sc);
  const float ml = ld_f16(b + 2) * static_cast<float>(m);
  const float v = dl * static_cast<float>(q);
  return v - ml;
}
template <>
PIVOT_HD float elem<GgmlType::Q6_K>(const uint8_t* b, int e) {
  const int h = e / 128, s = (e / 32) % 4, l = e % 32;
  const int lo = (b[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 0xf;
  const int hi = (b[128 + 32 * h + l] >> (2 * s)) & 3;
  const float dl = ld_f16(b + 208) * static_cast<float>(static_cast<int8_t>(b[192 + e / 16]));
  return dl * static_cast<float>((lo | hi << 4) - 32);
}
template <>
PIVOT_HD float elem<GgmlType::Q8_K>(const uint8_t* b, int e) {
  return *reinterpret_cast<const float*>(b) * static_cast<float>(static_cast<int8_t>(b[4 + e]));
}

template <GgmlType T>
struct Layout;
#define PIVOT_LAYOUT(T, E, B)                    \
  template <>                                    \
  struct Layout<GgmlType::T> {                   \
    static constexpr int kElems = E, kBytes = B; \
  };
PIVOT_LAYOUT(F32, 1, 4)
PIVOT_LAYOUT(F16, 1, 2)
PIVOT_LAYOUT(BF16, 1, 2)
PIVOT_LAYOUT(Q4_0, 32, 18)
PIVOT_LAYOUT(Q4_1, 32, 20)
PIVOT_LAYOUT(Q5_0, 32, 22)
PIVOT_LAYOUT(Q5_1, 32, 24)
PIVOT_LAYOUT(Q8_0, 32, 34)
PIVOT_LAYOUT(Q2_K, 256, 84)
PIVOT_LAYOUT(Q3_K, 256, 110)
PIVOT_LAYOUT(Q4_K, 256, 144)
PIVOT_LAYOUT(Q5_K, 256, 176)
PIVOT_LAYOUT(Q6_K, 256, 210)
PIVOT_LAYOUT(Q8_K, 256, 292)
#undef PIVOT_LAYOUT

template <GgmlType T>
PIVOT_HD float row_elem(const uint8_t* row, int64_t k) {
  using L = Layout<T>;
  return elem<T>(row + (k / L::kElems) * L::kBytes, static_cast<int>(k % L::kElems));
}

}  // namespace pivot::cuda
