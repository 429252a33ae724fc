// K-quant blocks (Q2_K..Q6_K, Q8_K): 256-element super-blocks with sub-block scales.
//
// Dequantization reproduces gguf-py (gguf/quants.py) bit for bit. gguf-py has no
// K-quant quantizers; these follow the semantics of ggml's reference quantizers
// (quantize_row_q*_K_ref in ggml-quants.c): per sub-block a weighted least-squares
// fit of scale (and min), then 6-bit (Q4_K/Q5_K), 8-bit (Q6_K) or 4-bit (Q2_K/Q3_K)
// sub-block scales relative to one f16 super-block scale, then a final rounding of
// every element against the scales as they will be decoded.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant_kquants.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace pivot::quant_detail {
namespace {

// Below this a group is treated as all zeros (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// Q4_K / Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes:
// bytes 0-3 scales 0-3 (+ top 2 bits of scales 4-7), bytes 4-7 mins 0-3 (+ top 2 bits
// of mins 4-7), bytes 8-11 low nibbles of scales 4-7 | low nibbles of mins 4-7 << 4.
void get_scale_min_k4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void set_scale_min_k4(int j, uint8_t* s, uint8_t sc, uint8_t m) {
  if (j < 4) {
    s[j] = sc;
    s[j + 4] = m;
  } else {
    s[j + 4] = static_cast<uint8_t>((sc & 0xf) | ((m & 0xf) << 4));
    s[j - 4] |= static_cast<uint8_t>((sc >> 4) << 6);
    s[j] |= static_cast<uint8_t>((m >> 4) << 6);
  }
}

// Q3_K packs sixteen 6-bit scales (stored + 32) into 12 bytes: low nibbles in bytes
// 0-7 (scale j < 8 low, j >= 8 high nibble of byte j - 8), top 2 bits in bytes 8-11
// (scale j in byte 8 + j % 4 at bit 2 * (j / 4)).
int q3_k_scale(const uint8_t* s, int j) {
  const int lo = j < 8 ? s[j] & 0xf : s[j - 8] >> 4;
  const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | hi << 4) - 32;
}

int clampi(int v, int lo, int hi) {
  return std::max(lo, std::min(hi, v));
}

// Weighted fit of x ~ scale * L + min with L in [0, nmax] and min <= 0 (ggml's
// make_qkx2_quants): start from the min/max grid, then try nstep + 1 grid widths
// (nmax + rmin + rdelta * is) and keep the least-squares (scale, min) with the lowest
// weighted error (absolute error if use_mad). Returns scale; *neg_min = -min >= 0.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                    uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::memset(L, 0, static_cast<size_t>(n));
    *neg_min = -min;
    return 0.0f;
  }
  auto error_of = [&](float scale, float mn, const uint8_t* q) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float sl = scale * q[i];
      const float diff = sl + mn - x[i];
      err += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
    }
    return err;
  };
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<uint8_t>(clampi(nearest_int(iscale * (x[i] - min)), 0, nmax));
  float best_error = error_of(scale, min, L);
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      const float cur_error = error_of(this_scale, this_min, Laux);
      if (cur_error < best_error) {
        std::memcpy(L, Laux, static_cast<size_t>(n));
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// Symmetric fit of x ~ scale * (L - nmax), L - nmax in [-nmax, nmax - 1], weights x^2
// (ggml's make_qx_quants, rmse_type 1): 19 grid widths, keep the best least squares.
float fit_scale_symmetric(int n, int nmax, const float* x, uint8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  auto sums = [&](float iscale, float* sumlx, float* suml2, uint8_t* out) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      if (out != nullptr) out[i] = static_cast<uint8_t>(l + nmax);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float sumlx, suml2;
  sums(-nmax / max, &sumlx, &suml2, L);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(nmax + 0.1f * is) / max;
    sums(iscale, &sumlx, &suml2, nullptr);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      sums(iscale, &sumlx, &suml2, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q3_K sub-block fit (ggml's make_q3_quants with rmse): round with -nmax/max, then
// move single elements while that improves the weighted (x^2) least-squares fit.
// L gets l + nmax in [0, 2 * nmax - 1].
float fit_scale_q3(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        const int new_l = clampi(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return sumlx / suml2;
}

// Q4_K and Q5_K share everything but the quant width: eight 32-element sub-blocks,
// each with a 6-bit scale and 6-bit min. Writes d, dmin, scales; L gets 0..nmax.
void quant_k_scale_min(const float* x, uint8_t* b, uint8_t* L, int nmax, float rmin, int nstep) {
  float scales[8], mins[8], weights[32];
  uint8_t Laux[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xj[l]);
    scales[j] =
        fit_scale_min(32, nmax, xj, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t* sc = b + 4;
  std::memset(sc, 0, 12);
  for (int j = 0; j < 8; ++j) {
    const auto ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
    const auto lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
    set_scale_min_k4(j, sc, std::min<uint8_t>(63, ls), std::min<uint8_t>(63, lm));
  }
  store_f16(b, max_scale / 63.f);
  store_f16(b + 2, max_min / 63.f);
  // Re-round every element against the scales exactly as they decode.
  for (int j = 0; j < 8; ++j) {
    int s, m;
    get_scale_min_k4(j, sc, &s, &m);
    const float d = load_f16(b) * s;
    if (d == 0) continue;
    const float dm = load_f16(b + 2) * m;
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = static_cast<uint8_t>(clampi(nearest_int((x[32 * j + l] + dm) / d), 0, nmax));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Q2_K: scales[16] (4-bit scale | 4-bit min << 4), qs[64], d (f16), dmin (f16).
// Element 128h + 32s + l is bits 2s..2s+1 of qs[32h + l]; sub-block = element / 16;
// x = d * scale * q - dmin * min.

void dequant_q2_k(const uint8_t* b, float* y) {
  const uint8_t* sc = b;
  const uint8_t* qs = b + 16;
  const float d = load_f16(b + 80);
  const float dmin = load_f16(b + 82);
  for (int e = 0; e < kQK; ++e) {
    const int h = e / 128, s = (e / 32) % 4, l = e % 32;
    const int q = (qs[32 * h + l] >> (2 * s)) & 3;
    const float dl = d * static_cast<float>(sc[e / 16] & 0xf);
    const float ml = dmin * static_cast<float>(sc[e / 16] >> 4);
    const float v = dl * static_cast<float>(q);
    y[e] = v - ml;
  }
}

void quant_q2_k(const float* x, uint8_t* b) {
  uint8_t L[kQK], Laux[16];
  float weights[16], scales[16], mins[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = fit_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f,
                              15, true);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  uint8_t* sc = b;
  std::memset(b, 0, 84);
  if (max_scale > 0) {
    const float iscale = 15.f / max_scale;
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    store_f16(b + 80, max_scale / 15.f);
  }
  if (max_min > 0) {
    const float imin = 15.f / max_min;
    for (int j = 0; j < 16; ++j) sc[j] |= static_cast<uint8_t>(nearest_int(imin * mins[j]) << 4);
    store_f16(b + 82, max_min / 15.f);
  }
  for (int j = 0; j < 16; ++j) {
    const float d = load_f16(b + 80) * static_cast<float>(sc[j] & 0xf);
    if (d == 0) continue;
    const float dm = load_f16(b + 82) * static_cast<float>(sc[j] >> 4);
    for (int l = 0; l < 16; ++l)
      L[16 * j + l] = static_cast<uint8_t>(clampi(nearest_int((x[16 * j + l] + dm) / d), 0, 3));
  }
  uint8_t* qs = b + 16;
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* Lh = L + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>(Lh[0] | Lh[32] << 2 | Lh[64] << 4 | Lh[96] << 6);
    }
}

// ---------------------------------------------------------------------------------------
// Q3_K: hmask[32], qs[64], scales[12], d (f16). Element 128h + 32s + l: low 2 bits are
// bits 2s..2s+1 of qs[32h + l], the high bit is bit (e / 32) of hmask[l]; a clear high
// bit means -4. x = d * scale[e / 16] * q, q in [-4, 3].

void dequant_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sc = b + 96;
  const float d = load_f16(b + 108);
  for (int e = 0; e < kQK; ++e) {
    const int h = e / 128, s = (e / 32) % 4, l = e % 32;
    const int lo = (qs[32 * h + l] >> (2 * s)) & 3;
    const int hi = (hmask[l] >> (e / 32)) & 1;
    const float dl = d * static_cast<float>(q3_k_scale(sc, e / 16));
    y[e] = dl * static_cast<float>(lo - (hi ? 0 : 4));
  }
}

void quant_q3_k(const float* x, uint8_t* b) {
  int8_t L[kQK];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit_scale_q3(16, 4, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::memset(b, 0, 110);
  uint8_t* sc = b + 96;
  if (max_scale != 0) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int l = clampi(nearest_int(iscale * scales[j]), -32, 31) + 32;
      if (j < 8) {
        sc[j] = static_cast<uint8_t>(l & 0xf);
      } else {
        sc[j - 8] |= static_cast<uint8_t>((l & 0xf) << 4);
      }
      sc[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    store_f16(b + 108, 1 / iscale);
  }
  for (int j = 0; j < 16; ++j) {
    const float d = load_f16(b + 108) * static_cast<float>(q3_k_scale(sc, j));
    if (d == 0) continue;
    for (int l = 0; l < 16; ++l)
      L[16 * j + l] = static_cast<int8_t>(clampi(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
  }
  uint8_t* hmask = b;
  uint8_t* qs = b + 32;
  for (int e = 0; e < kQK; ++e) {
    if (L[e] > 3) {
      hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
      L[e] = static_cast<int8_t>(L[e] - 4);
    }
  }
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int8_t* Lh = L + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>(Lh[0] | Lh[32] << 2 | Lh[64] << 4 | Lh[96] << 6);
    }
}

// ---------------------------------------------------------------------------------------
// Q4_K: d (f16), dmin (f16), scales[12], qs[128]. Element 64c + 32s + l is nibble s of
// qs[32c + l]; sub-block j = element / 32; x = d * scale_j * q - dmin * min_j.

void dequant_q4_k(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {
    int s, m;
    get_scale_min_k4(j, b + 4, &s, &m);
    const float dl = d * static_cast<float>(s);
    const float ml = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xf;
      const float v = dl * static_cast<float>(q);
      y[32 * j + l] = v - ml;
    }
  }
}

void quant_q4_k(const float* x, uint8_t* b) {
  uint8_t L[kQK];
  quant_k_scale_min(x, b, L, 15, -1.0f, 20);
  uint8_t* qs = b + 16;
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | L[64 * c + 32 + l] << 4);
}

// Q5_K: d (f16), dmin (f16), scales[12], qh[32], qs[128]. As Q4_K, plus bit 4 of
// element e in bit (e / 32) of qh[e % 32].

void dequant_q5_k(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int j = 0; j < 8; ++j) {
    int s, m;
    get_scale_min_k4(j, b + 4, &s, &m);
    const float dl = d * static_cast<float>(s);
    const float ml = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const int q = ((qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xf) | ((qh[l] >> j) & 1) << 4;
      const float v = dl * static_cast<float>(q);
      y[32 * j + l] = v - ml;
    }
  }
}

void quant_q5_k(const float* x, uint8_t* b) {
  uint8_t L[kQK];
  quant_k_scale_min(x, b, L, 31, -0.5f, 15);
  uint8_t* qh = b + 16;
  uint8_t* qs = b + 48;
  std::memset(qh, 0, 32);
  for (int e = 0; e < kQK; ++e) qh[e % 32] |= static_cast<uint8_t>((L[e] >> 4) << (e / 32));
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      qs[32 * c + l] =
          static_cast<uint8_t>((L[64 * c + l] & 0xf) | (L[64 * c + 32 + l] & 0xf) << 4);
}

// ---------------------------------------------------------------------------------------
// Q6_K: ql[128], qh[64], scales[16] (int8), d (f16). Element 128h + 32s + l: low nibble
// is nibble (s / 2) of ql[64h + 32(s % 2) + l], high 2 bits are bits 2s..2s+1 of
// qh[32h + l]; x = d * scale[e / 16] * (q - 32).

void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_f16(b + 208);
  for (int e = 0; e < kQK; ++e) {
    const int h = e / 128, s = (e / 32) % 4, l = e % 32;
    const int lo = (ql[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 0xf;
    const int hi = (qh[32 * h + l] >> (2 * s)) & 3;
    const float dl = d * static_cast<float>(sc[e / 16]);
    y[e] = dl * static_cast<float>((lo | hi << 4) - 32);
  }
}

void quant_q6_k(const float* x, uint8_t* b) {
  uint8_t L[kQK];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = fit_scale_symmetric(16, 32, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::memset(b, 0, 210);
  if (max_abs_scale < kGroupMaxEps) return;  // all zeros, d = 0
  auto* sc = reinterpret_cast<int8_t*>(b + 192);
  const float iscale = -128.f / max_scale;
  store_f16(b + 208, 1 / iscale);
  for (int j = 0; j < 16; ++j)
    sc[j] = static_cast<int8_t>(clampi(nearest_int(iscale * scales[j]), -128, 127));
  for (int j = 0; j < 16; ++j) {
    const float d = load_f16(b + 208) * static_cast<float>(sc[j]);
    if (d == 0) continue;
    for (int l = 0; l < 16; ++l)
      L[16 * j + l] = static_cast<uint8_t>(clampi(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
  }
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* Lh = L + 128 * h + l;
      ql[64 * h + l] = static_cast<uint8_t>((Lh[0] & 0xf) | (Lh[64] & 0xf) << 4);
      ql[64 * h + 32 + l] = static_cast<uint8_t>((Lh[32] & 0xf) | (Lh[96] & 0xf) << 4);
      qh[32 * h + l] = static_cast<uint8_t>(Lh[0] >> 4 | (Lh[32] >> 4) << 2 | (Lh[64] >> 4) << 4 |
                                            (Lh[96] >> 4) << 6);
    }
}

// ---------------------------------------------------------------------------------------
// Q8_K: d (f32), qs[256] (int8), bsums[16] (int16, sum of each 16 qs; unused here).

void dequant_q8_k(const uint8_t* b, float* y) {
  float d;
  std::memcpy(&d, b, 4);
  for (int e = 0; e < kQK; ++e) y[e] = d * static_cast<float>(static_cast<int8_t>(b[4 + e]));
}

void quant_q8_k(const float* x, uint8_t* b) {
  std::memset(b, 0, 292);
  float max = 0, amax = 0;
  for (int e = 0; e < kQK; ++e) {
    if (std::fabs(x[e]) > amax) {
      amax = std::fabs(x[e]);
      max = x[e];
    }
  }
  if (amax == 0) return;
  const float iscale = -127.f / max;
  const float d = 1 / iscale;
  std::memcpy(b, &d, 4);
  int8_t qs[kQK];
  for (int e = 0; e < kQK; ++e)
    qs[e] = static_cast<int8_t>(clampi(nearest_int(iscale * x[e]), -128, 127));
  std::memcpy(b + 4, qs, kQK);
  for (int j = 0; j < 16; ++j) {
    int16_t sum = 0;
    for (int l = 0; l < 16; ++l) sum = static_cast<int16_t>(sum + qs[16 * j + l]);
    std::memcpy(b + 260 + 2 * j, &sum, 2);
  }
}

}  // namespace pivot::quant_detail
