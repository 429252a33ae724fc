// The cpu backend's Q8 decode kernels (src/backend/cpu/kernels.h: QuantizeQ8,
// RowDotQ8), scalar set and AVX2 set where the CPU has it. Oracles: the
// activation format as kernels.h documents it, re-implemented here, and a double
// dot product of quant.h's dequantized weights with the dequantized activations.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../../src/backend/cpu/kernels.h"
#include "../../src/backend/cpu/repack_x8.h"
#include "pivot/ggml_type.h"
#include "pivot/quant.h"

namespace pivot::cpu {
namespace {

std::vector<const Kernels*> kernel_sets() {
  std::vector<const Kernels*> v = {&scalar_kernels()};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (avx2_kernels() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    v.push_back(avx2_kernels());
#endif
  return v;
}

// kernels.h's Q8 activation format: codes and scales of one row.
struct Q8Row {
  std::vector<int8_t> q;
  std::vector<float> d;
};

Q8Row quantize(const float* x, int64_t n) {
  Q8Row r;
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0;
    for (int l = 0; l < 32; ++l) amax = std::max(amax, std::fabs(x[32 * b + l]));
    for (int l = 0; l < 32; ++l)
      r.q.push_back(amax > 0 ? static_cast<int8_t>(std::nearbyint(x[32 * b + l] * (127.0f / amax)))
                             : int8_t{0});
    r.d.push_back(amax / 127.0f);
  }
  return r;
}

// Activations with a spread of magnitudes, one all-zero block, one outlier.
std::vector<float> activations(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = g(rng) * (1.0f + static_cast<float>((i / 32) % 5));
  if (n >= 64) {
    for (int l = 0; l < 32; ++l) x[32 + l] = 0.0f;
    x[7] = 40.0f;
  }
  return x;
}

TEST(CpuQ8, QuantizeMatchesDocumentedFormat) {
  std::mt19937 rng(11);
  const int64_t n = 32 * 37;
  const std::vector<float> x = activations(rng, n);
  const Q8Row want = quantize(x.data(), n);
  for (const Kernels* k : kernel_sets()) {
    std::vector<int8_t> q(static_cast<size_t>(n));
    std::vector<float> d(static_cast<size_t>(n / 32)), s(d.size());
    k->quantize_q8(x.data(), n, q.data(), d.data(), s.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(q[i], want.q[i]) << k->name << " element " << i;
    for (int64_t b = 0; b < n / 32; ++b) {
      ASSERT_EQ(d[b], want.d[b]) << k->name << " block " << b;
      double sum = 0;
      for (int l = 0; l < 32; ++l) sum += want.q[32 * b + l];
      ASSERT_NEAR(s[b], sum * want.d[b], 1e-6 * std::fabs(sum * want.d[b])) << k->name;
    }
  }
}

// Runs dot (weights w: N rows of K elements, rb bytes each, layout as dot expects;
// wd: the dequantized rows in GGUF order) against M fresh activation rows quantized
// by k, and checks every result against the double dot of wd with the documented
// Q8 activations.
void check_q8_dot(const Kernels* k, RowDotQ8 dot, const uint8_t* w, size_t rb, int64_t N,
                  const std::vector<float>& wd, int64_t K, int M, std::mt19937& rng,
                  const std::string& what) {
  const std::vector<float> x = activations(rng, M * K);
  std::vector<int8_t> q(x.size());
  std::vector<float> d(static_cast<size_t>(M * K / 32)), s(d.size());
  for (int m = 0; m < M; ++m)
    k->quantize_q8(x.data() + m * K, K, q.data() + m * K, d.data() + m * K / 32,
                   s.data() + m * K / 32);
  const Q8Rows xq{q.data(), K, d.data(), s.data(), K / 32};
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  dot(w, rb, N, xq, M, K, y.data(), N);
  for (int m = 0; m < M; ++m) {
    const Q8Row r = quantize(x.data() + m * K, K);
    for (int64_t n = 0; n < N; ++n) {
      double want = 0, mag = 0;
      for (int64_t i = 0; i < K; ++i) {
        const double p = double(wd[n * K + i]) * r.q[i] * r.d[i / 32];
        want += p;
        mag += std::fabs(p);
      }
      ASSERT_NEAR(y[m * N + n], want, 2e-6 * mag + 1e-6)
          << k->name << " " << what << " K=" << K << " M=" << M << " row " << m << "," << n;
    }
  }
}

TEST(CpuQ8, RowDotMatchesDequantizedDot) {
  const GgmlType types[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                            GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Kernels* k : kernel_sets())
    for (GgmlType t : types) {
      const RowDotQ8 dot = k->row_dot_q8(t);
      ASSERT_NE(dot, nullptr) << k->name << " " << ggml_type_traits(t).name;
      const int64_t bs = ggml_type_traits(t).block_size;
      for (int64_t K : {bs, 3 * bs, bs == 32 ? int64_t{32 * 13} : int64_t{256 * 5}})
        for (int M = 1; M <= 8; ++M) {
          const int64_t N = 7;  // 4 + 2 + 1: every weight-row grouping
          std::vector<float> wf(static_cast<size_t>(N * K));
          for (float& v : wf) v = u(rng);
          const size_t rb = ggml_row_bytes(t, K).value();
          std::vector<uint8_t> w(N * rb);
          std::vector<float> wd(wf.size());
          for (int64_t n = 0; n < N; ++n) {
            quantize_row(t, wf.data() + n * K, w.data() + n * rb, K);
            dequantize_row(t, w.data() + n * rb, wd.data() + n * K, K);
          }
          check_q8_dot(k, dot, w.data(), rb, N, wd, K, M, rng,
                       std::string(ggml_type_traits(t).name));
        }
    }
}

// The x8 layout: unpack(repack(w)) gives w back byte for byte, and the x8 kernels
// match the dequantized dot like the row-major ones (one group and several, M 1..8).
TEST(CpuQ8, X8LayoutRoundTripsAndKernelsMatchDequantizedDot) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1}) {
    ASSERT_TRUE(has_x8_layout(t));
    for (int64_t K : {int64_t{32}, int64_t{32 * 13}})
      for (int64_t N : {int64_t{8}, int64_t{24}}) {
        const size_t rb = ggml_row_bytes(t, K).value();
        std::vector<float> wf(static_cast<size_t>(N * K)), wd(wf.size());
        for (float& v : wf) v = u(rng);
        std::vector<uint8_t> w(N * rb), x8(N * rb), back(N * rb);
        for (int64_t n = 0; n < N; ++n) {
          quantize_row(t, wf.data() + n * K, w.data() + n * rb, K);
          dequantize_row(t, w.data() + n * rb, wd.data() + n * K, K);
        }
        repack_x8(t, w.data(), rb, N, x8.data());
        EXPECT_NE(x8, w);
        for (int64_t g = 0; g < N / kX8Rows; ++g)  // in two pieces of K and of the rows
          for (auto [b0, nb] : {std::pair<int64_t, int64_t>{0, K / 64}, {K / 64, K / 32 - K / 64}})
            for (auto [r0, r1] : {std::pair<int, int>{0, 3}, {3, 8}})
              unpack_x8(t, x8.data() + g * kX8Rows * rb, b0, nb, r0, r1,
                        back.data() + (g * kX8Rows + r0) * rb + b0 * (rb / (K / 32)), rb);
        ASSERT_EQ(back, w) << ggml_type_traits(t).name << " K=" << K << " N=" << N;
        for (const Kernels* k : kernel_sets()) {
          const RowDotQ8 dot = k->row_dot_q8_x8 ? k->row_dot_q8_x8(t) : nullptr;
          if (!dot) continue;
          for (int M = 1; M <= 8; ++M)
            check_q8_dot(k, dot, x8.data(), rb, N, wd, K, M, rng,
                         "x8 " + std::string(ggml_type_traits(t).name));
        }
      }
  }
}

}  // namespace
}  // namespace pivot::cpu
