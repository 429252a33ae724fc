// GGUF block formats: dequantization and gguf-py's quantizers bit for bit against
// the goldens in tests/golden/quants (gen_quants.py); K-quant quantizers, which
// gguf-py lacks, against stated error bounds; f16/bf16 conversions exhaustively.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numbers>
#include <string>
#include <vector>

#include "pivot/error.h"
#include "pivot/quant.h"

namespace pivot {
namespace {

using T = GgmlType;

// ---------------------------------------------------------------------------------------
// Golden files (format: tests/golden/quants/gen_quants.py).

std::vector<uint8_t> read_golden(const std::string& name) {
  const std::string path = std::string(PIVOT_SOURCE_DIR) + "/tests/golden/quants/" + name;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    ADD_FAILURE() << "missing golden file " << path;
    return {};
  }
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

uint32_t u32_at(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Equal bit for bit, or both NaN (NaN payloads depend on operand order, not on layout).
bool same_float(float a, float b) {
  return f32_bits(a) == f32_bits(b) || (std::isnan(a) && std::isnan(b));
}

struct Inputs {
  uint32_t n_rows = 0, n_finite = 0, row_len = 0;
  std::vector<float> data;
  const float* row(uint32_t r) const { return data.data() + size_t{r} * row_len; }
};

Inputs read_inputs() {
  Inputs in;
  const auto b = read_golden("inputs.bin");
  if (b.size() < 20 || std::memcmp(b.data(), "PVQI", 4) != 0 || u32_at(b, 4) != 1) {
    ADD_FAILURE() << "inputs.bin: bad header";
    return in;
  }
  in.n_rows = u32_at(b, 8);
  in.n_finite = u32_at(b, 12);
  in.row_len = u32_at(b, 16);
  const size_t n = size_t{in.n_rows} * in.row_len;
  if (b.size() != 20 + 4 * n) {
    ADD_FAILURE() << "inputs.bin: size " << b.size();
    return Inputs{};
  }
  in.data.resize(n);
  std::memcpy(in.data.data(), b.data() + 20, 4 * n);
  return in;
}

std::string type_name(T t) {
  return ggml_type_name(static_cast<uint32_t>(t));
}

std::string param_name(const testing::TestParamInfo<T>& info) {
  return type_name(info.param);
}

size_t row_bytes(T t, int64_t n) {
  return static_cast<size_t>(*ggml_row_bytes(t, n));
}

// ---------------------------------------------------------------------------------------
// Dequantization == gguf.quants.dequantize, every type.

class QuantDequantGolden : public testing::TestWithParam<T> {};

TEST_P(QuantDequantGolden, MatchesGgufPy) {
  const T type = GetParam();
  const auto tr = ggml_type_traits(type);
  const auto b = read_golden(type_name(type) + ".dequant.bin");
  ASSERT_GE(b.size(), 16u);
  ASSERT_EQ(std::memcmp(b.data(), "PVQD", 4), 0);
  ASSERT_EQ(u32_at(b, 4), 1u);
  ASSERT_EQ(u32_at(b, 8), static_cast<uint32_t>(type));
  const uint32_t n_blocks = u32_at(b, 12);
  const int64_t n = int64_t{n_blocks} * tr.block_size;
  const size_t nbytes = size_t{n_blocks} * tr.type_size;
  ASSERT_EQ(b.size(), 16 + nbytes + 4 * static_cast<size_t>(n));
  ASSERT_GT(n_blocks, 0u);

  std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n), -12345.0f);
  std::memcpy(want.data(), b.data() + 16 + nbytes, 4 * want.size());
  // An odd offset: block fields must be read with memcpy, not aligned loads.
  std::vector<uint8_t> src(nbytes + 1);
  std::memcpy(src.data() + 1, b.data() + 16, nbytes);
  dequantize_row(type, src.data() + 1, got.data(), n);

  int64_t bad = 0, nan = 0;
  for (int64_t i = 0; i < n; ++i) {
    nan += std::isnan(want[i]);
    if (!same_float(got[i], want[i]) && bad++ < 5)
      ADD_FAILURE() << type_name(type) << " element " << i << " (block " << i / tr.block_size
                    << "): got " << got[i] << " (0x" << std::hex << f32_bits(got[i]) << "), want "
                    << want[i] << " (0x" << f32_bits(want[i]) << std::dec << ")";
  }
  EXPECT_EQ(bad, 0) << "mismatching elements";
  EXPECT_LT(nan, n / 10) << "too many NaNs for the comparison to mean much";
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantDequantGolden,
                         testing::Values(T::F32, T::F16, T::BF16, T::Q8_0, T::Q4_0, T::Q4_1,
                                         T::Q5_0, T::Q5_1, T::Q2_K, T::Q3_K, T::Q4_K, T::Q5_K,
                                         T::Q6_K, T::Q8_K),
                         param_name);

// ---------------------------------------------------------------------------------------
// Quantization == gguf.quants.quantize, where gguf-py defines it.

class QuantQuantizeGolden : public testing::TestWithParam<T> {};

TEST_P(QuantQuantizeGolden, MatchesGgufPy) {
  const T type = GetParam();
  const Inputs in = read_inputs();
  ASSERT_GT(in.n_rows, 0u);
  const auto b = read_golden(type_name(type) + ".quant.bin");
  ASSERT_GE(b.size(), 16u);
  ASSERT_EQ(std::memcmp(b.data(), "PVQQ", 4), 0);
  ASSERT_EQ(u32_at(b, 4), 1u);
  ASSERT_EQ(u32_at(b, 8), static_cast<uint32_t>(type));
  const uint32_t n_rows = u32_at(b, 12);
  ASSERT_LE(n_rows, in.n_rows);
  ASSERT_GE(n_rows, in.n_finite);
  const size_t rb = row_bytes(type, in.row_len);
  ASSERT_EQ(b.size(), 16 + n_rows * rb);

  std::vector<uint8_t> got(rb + 1);
  for (uint32_t r = 0; r < n_rows; ++r) {
    uint8_t* dst = got.data() + 1;  // odd offset: stores must be unaligned-safe
    std::memset(got.data(), 0xa5, got.size());
    quantize_row(type, in.row(r), dst, in.row_len);
    const uint8_t* want = b.data() + 16 + r * rb;
    for (size_t i = 0; i < rb; ++i) {
      if (dst[i] != want[i]) {
        ADD_FAILURE() << type_name(type) << " input row " << r << ": first byte difference at " << i
                      << " (block " << i / ggml_type_traits(type).type_size << "): got 0x"
                      << std::hex << int{dst[i]} << ", want 0x" << int{want[i]};
        break;
      }
    }
    EXPECT_EQ(got[0], 0xa5) << "wrote before dst";
  }
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantQuantizeGolden,
                         testing::Values(T::F32, T::F16, T::BF16, T::Q8_0, T::Q4_0, T::Q4_1,
                                         T::Q5_0, T::Q5_1),
                         param_name);

// ---------------------------------------------------------------------------------------
// K-quant quantizers (ggml reference semantics; gguf-py has none): error bounds.
//
// 1. Every element decodes to a nearest point of its sub-block's grid
//    {a * q - c : q in [qlo, qhi]}, with a, c read back from the block: the final
//    rounding against the stored scales is exact (to 1e-5 of a grid step).
// 2. On Gaussian data, RMS(error) / RMS(x) <= rms_bound and, per super-block,
//    max |error| <= max_bound * max |x|.

struct Grid {
  float a, c;
  int qlo, qhi;
};

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

// The grid of element e of a super-block, from the ggml-common.h layout.
Grid grid_of(T type, const uint8_t* b, int e) {
  switch (type) {
    case T::Q2_K: {
      const uint8_t s = b[e / 16];
      return {f16_at(b + 80) * (s & 0xf), f16_at(b + 82) * (s >> 4), 0, 3};
    }
    case T::Q3_K: {
      const int j = e / 16;
      const int lo = j < 8 ? b[96 + j] & 0xf : b[96 + j - 8] >> 4;
      const int hi = (b[104 + j % 4] >> (2 * (j / 4))) & 3;
      return {f16_at(b + 108) * static_cast<float>((lo | hi << 4) - 32), 0.0f, -4, 3};
    }
    case T::Q4_K:
    case T::Q5_K: {
      const int j = e / 32;
      const uint8_t* s = b + 4;
      const int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
      const int m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
      return {f16_at(b) * sc, f16_at(b + 2) * m, 0, type == T::Q4_K ? 15 : 31};
    }
    case T::Q6_K:
      return {f16_at(b + 208) * static_cast<float>(static_cast<int8_t>(b[192 + e / 16])), 0.0f, -32,
              31};
    case T::Q8_K: {
      float d;
      std::memcpy(&d, b, 4);
      return {d, 0.0f, -128, 127};
    }
    default:
      ADD_FAILURE() << "no grid for " << type_name(type);
      return {0, 0, 0, 0};
  }
}

// Deterministic N(0, 1) samples (splitmix64 + Box-Muller), independent of <random>.
std::vector<float> gaussian(size_t n, uint64_t seed, float sigma) {
  std::vector<float> v(n);
  auto next = [&seed] {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  };
  for (size_t i = 0; i < n; ++i) {
    const double u1 = 1.0 - next(), u2 = next();
    v[i] = static_cast<float>(sigma * std::sqrt(-2.0 * std::log(u1)) *
                              std::cos(2 * std::numbers::pi * u2));
  }
  return v;
}

struct KBounds {
  T type;
  double rms_bound;  // RMS(error) / RMS(x), Gaussian data
  double max_bound;  // max |error| / max |x| per super-block, Gaussian data
};

void PrintTo(const KBounds& b, std::ostream* os) {
  *os << type_name(b.type) << " (rms <= " << b.rms_bound << ", max <= " << b.max_bound << ")";
}

class QuantKQuantBound : public testing::TestWithParam<KBounds> {
 protected:
  // Quantizes x, dequantizes into y, checks property 1; returns the block bytes.
  std::vector<uint8_t> round_trip(const std::vector<float>& x, std::vector<float>* y) {
    const T type = GetParam().type;
    const auto n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> q(row_bytes(type, n));
    quantize_row(type, x.data(), q.data(), n);
    y->assign(x.size(), 0.0f);
    dequantize_row(type, q.data(), y->data(), n);
    const auto tr = ggml_type_traits(type);
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* blk = q.data() + (i / 256) * tr.type_size;
      const Grid g = grid_of(type, blk, static_cast<int>(i % 256));
      double best = INFINITY;
      for (int k = g.qlo; k <= g.qhi; ++k)
        best = std::min(best, std::fabs(double{x[i]} - (double{g.a} * k - g.c)));
      const double err = std::fabs(double{x[i]} - (*y)[i]);
      if (!(err <= best + 1e-5 * std::fabs(g.a) + 1e-30) && bad++ < 5)
        ADD_FAILURE() << type_name(type) << " element " << i << ": x = " << x[i] << " decodes to "
                      << (*y)[i] << ", but the grid (a = " << g.a << ", c = " << g.c
                      << ") has a point " << best << " away";
    }
    return q;
  }
};

TEST_P(QuantKQuantBound, GaussianWithinBounds) {
  const KBounds kb = GetParam();
  for (float sigma : {1.0f, 0.02f, 300.0f}) {
    const auto x = gaussian(64 * 256, 42 + static_cast<uint64_t>(sigma * 100), sigma);
    std::vector<float> y;
    round_trip(x, &y);
    double se = 0, sx = 0, worst = 0;
    for (size_t blk = 0; blk < x.size() / 256; ++blk) {
      double amax = 0, emax = 0;
      for (size_t i = blk * 256; i < (blk + 1) * 256; ++i) {
        const double e = double{x[i]} - y[i];
        se += e * e;
        sx += double{x[i]} * x[i];
        amax = std::max(amax, std::fabs(double{x[i]}));
        emax = std::max(emax, std::fabs(e));
      }
      worst = std::max(worst, emax / amax);
    }
    const double rel_rms = std::sqrt(se / sx);
    std::printf(
        "[ measured ] %s sigma=%g: rms error / rms x = %.5f, max block error / max|x| = %.5f\n",
        type_name(kb.type).c_str(), sigma, rel_rms, worst);
    EXPECT_LE(rel_rms, kb.rms_bound) << "sigma " << sigma;
    EXPECT_LE(worst, kb.max_bound) << "sigma " << sigma;
  }
}

// The golden input rows: zeros, constants, outliers, tiny and huge values, ties.
// Property 1 must hold wherever the scales are finite; all-zero rows decode to zeros.
TEST_P(QuantKQuantBound, EdgeRowsDecodeToNearestGridPoint) {
  const Inputs in = read_inputs();
  ASSERT_GT(in.n_finite, 0u);
  for (uint32_t r = 0; r < in.n_finite; ++r) {
    SCOPED_TRACE("input row " + std::to_string(r));
    std::vector<float> x(in.row(r), in.row(r) + in.row_len), y;
    double amax = 0;
    for (float v : x) amax = std::max(amax, double{std::fabs(v)});
    if (amax > 1e5) continue;  // scales overflow f16 (row of 1e6): the format's limit
    round_trip(x, &y);
    if (amax == 0) {
      for (float v : y) ASSERT_EQ(v, 0.0f);  // may be -0: ggml's Q6_K zero block is q = -32
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Quant, QuantKQuantBound,
    testing::Values(
        // Measured (sigma 1, 0.02, 300): rms 0.294-0.297, max 0.321-0.361.
        KBounds{T::Q2_K, 0.31, 0.38},
        // rms 0.150-0.151, max 0.150-0.192.
        KBounds{T::Q3_K, 0.16, 0.20},
        // rms 0.0711-0.0718, max 0.068-0.075; without the grid search, fails.
        KBounds{T::Q4_K, 0.075, 0.08},
        // rms 0.0359-0.0365, max 0.036-0.043.
        KBounds{T::Q5_K, 0.038, 0.046},
        // rms 0.0176-0.0178, max 0.0161.
        KBounds{T::Q6_K, 0.0187, 0.017},
        // rms 0.0070-0.0071; max is at most d / 2 = max|x| / 254 by construction.
        KBounds{T::Q8_K, 0.0075, (1 + 1e-5) / 254}),
    [](const testing::TestParamInfo<KBounds>& i) { return type_name(i.param.type); });

// Values already on a grid come back exactly (Q8_K, Q6_K) or to f16 precision of the
// 6-bit sub-scales (Q4_K, Q5_K).
TEST(QuantKQuant, GridValuesRoundTrip) {
  std::vector<float> x(512);
  std::vector<float> y(512);
  std::vector<uint8_t> q(1024);
  // Q8_K: integers in [-127, 127] with 127 or -127 present.
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(static_cast<int>(i * 37 % 255) - 127);
  quantize_row(T::Q8_K, x.data(), q.data(), 512);
  dequantize_row(T::Q8_K, q.data(), y.data(), 512);
  EXPECT_EQ(x, y);
  // Q6_K: integers in [-32, 31] with -32 in every 16-group.
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = i % 16 == 0 ? -32.0f : static_cast<float>(static_cast<int>(i * 7 % 64) - 32);
  quantize_row(T::Q6_K, x.data(), q.data(), 512);
  dequantize_row(T::Q6_K, q.data(), y.data(), 512);
  EXPECT_EQ(x, y);
  // Q4_K / Q5_K: integers in [0, nmax] with 0 and nmax in every 32-group.
  for (T type : {T::Q4_K, T::Q5_K}) {
    const int nmax = type == T::Q4_K ? 15 : 31;
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = i % 32 == 0 ? 0.0f : i % 32 == 1 ? nmax : static_cast<float>(i * 11 % (nmax + 1));
    quantize_row(type, x.data(), q.data(), 512);
    dequantize_row(type, q.data(), y.data(), 512);
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(y[i], x[i], 1e-3 * nmax) << type_name(type) << i;
  }
}

TEST(QuantKQuant, Q8KBlockSums) {
  const auto x = gaussian(512, 7, 1.0f);
  std::vector<uint8_t> q(2 * 292);
  quantize_row(T::Q8_K, x.data(), q.data(), 512);
  for (int blk = 0; blk < 2; ++blk) {
    const uint8_t* b = q.data() + blk * 292;
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += static_cast<int8_t>(b[4 + 16 * j + l]);
      int16_t bsum;
      std::memcpy(&bsum, b + 260 + 2 * j, 2);
      EXPECT_EQ(bsum, sum) << "block " << blk << " group " << j;
    }
  }
}

// ---------------------------------------------------------------------------------------
// f16 / bf16 conversions, exhaustive over the 16-bit side.

// IEEE binary16 value of h, computed in double from the definition.
double fp16_reference(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 31)
    v = mant == 0 ? INFINITY : NAN;
  else if (exp == 0)
    v = std::ldexp(mant, -24);
  else
    v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

// Nearest binary16 value to f (ties to even) as a double, by direct rounding in double.
double fp16_round_reference(float f) {
  const double a = std::fabs(double{f});
  if (a >= 65520.0) return std::copysign(INFINITY, f);
  const int e = std::max(std::ilogb(a == 0 ? 1.0 : a), -14);
  const double ulp = std::ldexp(1.0, e - 10);
  return std::copysign(std::nearbyint(a / ulp) * ulp, f);  // default rounding: ties to even
}

TEST(QuantConvert, Fp16ToFp32Exhaustive) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    const double want = fp16_reference(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      // Payload and sign kept: the 10 mantissa bits move to the top of f32's 23.
      ASSERT_EQ(f32_bits(f), ((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13)) << h;
    } else {
      ASSERT_EQ(double{f}, want) << std::hex << h;
      ASSERT_EQ(std::signbit(f), (h >> 15) != 0) << std::hex << h;
    }
    // And back: every f16 survives the round trip.
    ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << h;
  }
}

TEST(QuantConvert, Fp32ToFp16RoundsToNearestEven) {
  // Midpoints between neighbouring halves (and one f32 ulp either side) decide
  // every rounding; 0x7bff -> 0x7c00 is the step from 65504 to inf.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    for (uint32_t sign : {0u, 0x8000u}) {
      const double lo = fp16_reference(static_cast<uint16_t>(h));
      const double hi = h == 0x7bff ? 65536.0 : fp16_reference(static_cast<uint16_t>(h + 1));
      const auto mid = static_cast<float>((lo + hi) / 2);  // exact in f32
      const float s = sign ? -1.0f : 1.0f;
      const auto even = static_cast<uint16_t>(sign | ((h & 1) ? h + 1 : h));
      ASSERT_EQ(fp32_to_fp16(s * mid), even) << std::hex << h;
      ASSERT_EQ(fp32_to_fp16(s * std::nextafter(mid, 0.0f)), sign | h) << std::hex << h;
      ASSERT_EQ(fp32_to_fp16(s * std::nextafter(mid, INFINITY)), sign | (h + 1)) << std::hex << h;
    }
  }
  // A sweep over f32 bit patterns against rounding in double.
  for (uint64_t u = 0; u < (1ull << 32); u += 977) {
    const float f = f32_from_bits(static_cast<uint32_t>(u));
    const uint16_t h = fp32_to_fp16(f);
    if (std::isnan(f)) {
      ASSERT_EQ(h & 0x7c00, 0x7c00) << std::hex << u;
      ASSERT_NE(h & 0x3ff, 0) << std::hex << u;
      ASSERT_EQ(h >> 15, u >> 31) << std::hex << u;
      continue;
    }
    const double got = fp16_reference(h), want = fp16_round_reference(f);
    ASSERT_EQ(got, want) << std::hex << u;
    ASSERT_EQ(std::signbit(got), std::signbit(f)) << std::hex << u;
  }
}

TEST(QuantConvert, Bf16Exhaustive) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(f32_bits(f), h << 16) << std::hex << h;
    const bool nan = (h & 0x7fff) > 0x7f80;
    // NaNs come back quiet (gguf-py and ggml set bit 6), everything else unchanged.
    ASSERT_EQ(fp32_to_bf16(f), nan ? (h | 0x40) : h) << std::hex << h;
    if (nan || (h & 0x7fff) >= 0x7f7f) continue;
    // Midpoint to the next bf16 ties to even; one f32 ulp either side goes that way.
    const uint32_t mid = (h << 16) | 0x8000;
    ASSERT_EQ(fp32_to_bf16(f32_from_bits(mid)), (h & 1) ? h + 1 : h) << std::hex << h;
    ASSERT_EQ(fp32_to_bf16(f32_from_bits(mid - 1)), h) << std::hex << h;
    ASSERT_EQ(fp32_to_bf16(f32_from_bits(mid + 1)), h + 1) << std::hex << h;
  }
  EXPECT_EQ(fp32_to_bf16(f32_from_bits(0x7f7fffff)), 0x7f80);  // rounds up to inf
  EXPECT_EQ(fp32_to_bf16(f32_from_bits(0xff7f8000)), 0xff80);
}

// ---------------------------------------------------------------------------------------
// Errors and support lists.

TEST(QuantErrors, SupportLists) {
  for (T t : {T::F32, T::F16, T::BF16, T::Q8_0, T::Q4_0, T::Q4_1, T::Q5_0, T::Q5_1, T::Q2_K,
              T::Q3_K, T::Q4_K, T::Q5_K, T::Q6_K, T::Q8_K}) {
    EXPECT_TRUE(can_dequantize(t)) << type_name(t);
    EXPECT_TRUE(can_quantize(t)) << type_name(t);
  }
  for (T t : {T::Q8_1, T::IQ2_XXS, T::IQ4_NL, T::I8, T::I32, T::F64, T::TQ1_0, T::MXFP4}) {
    EXPECT_FALSE(can_dequantize(t)) << type_name(t);
    EXPECT_FALSE(can_quantize(t)) << type_name(t);
  }
}

TEST(QuantErrors, BadCountsAndTypes) {
  std::vector<float> f(512, 1.0f);
  std::vector<uint8_t> b(4096);
  EXPECT_THROW(dequantize_row(T::Q4_0, b.data(), f.data(), 33), Error);
  EXPECT_THROW(dequantize_row(T::Q4_K, b.data(), f.data(), 128), Error);
  EXPECT_THROW(dequantize_row(T::Q8_0, b.data(), f.data(), -32), Error);
  EXPECT_THROW(dequantize_row(T::F16, b.data(), f.data(), -1), Error);
  EXPECT_THROW(quantize_row(T::Q6_K, f.data(), b.data(), 255), Error);
  EXPECT_THROW(quantize_row(T::Q5_1, f.data(), b.data(), 16), Error);
  EXPECT_THROW(quantize_row(T::F32, f.data(), b.data(), -4), Error);
  EXPECT_THROW(dequantize_row(T::IQ2_XXS, b.data(), f.data(), 256), Error);
  EXPECT_THROW(dequantize_row(T::I8, b.data(), f.data(), 16), Error);
  EXPECT_THROW(quantize_row(T::IQ4_NL, f.data(), b.data(), 32), Error);
  EXPECT_THROW(quantize_row(T::Q8_1, f.data(), b.data(), 32), Error);
  EXPECT_THROW(dequantize_row(static_cast<T>(4), b.data(), f.data(), 32), Error);  // removed id
  try {
    dequantize_row(T::Q4_0, b.data(), f.data(), 33);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q4_0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("33"), std::string::npos) << e.what();
  }
  // n = 0 is a valid empty row and touches nothing.
  EXPECT_NO_THROW(dequantize_row(T::Q4_K, nullptr, nullptr, 0));
  EXPECT_NO_THROW(quantize_row(T::F32, nullptr, nullptr, 0));
}

}  // namespace
}  // namespace pivot
