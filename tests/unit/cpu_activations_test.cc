// The cpu backend's activation kernels (kernels.h Activations): the AVX2 set's
// 8-lane exp against std::exp over the whole float range (edges, NaN, +-inf,
// lengths off the 8 lanes), and SiLU / GeLU / softmax against the scalar set.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "../../src/backend/cpu/kernels.h"
#include "../../src/backend/op_check.h"

namespace pivot::cpu {
namespace {

const Activations* fast() {
  const Kernels* k = avx2_kernels();
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!k || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return nullptr;
#endif
  return k ? k->act : nullptr;
}

TEST(CpuActivations, ExpWithinFourUlpOfStdExp) {
  const Activations* a = fast();
  if (!a) GTEST_SKIP() << "no AVX2 kernels on this CPU";
  std::vector<float> x;
  for (float v = -110.0f; v <= 95.0f; v += 0.00731f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 88.72283f, 88.7228394f, -87.33654f, -87.3365479f, 1e-30f, -1e-30f,
                  0.34657359f, -0.34657359f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  const size_t n = x.size(), mid = n / 2;  // x[mid ..]: exps well above 0
  for (auto [from, len] : {std::pair<size_t, size_t>{0, n}, {mid, 5}, {mid, 13}}) {
    // full vectors, then tails off the 8 lanes
    std::vector<float> y(x.begin() + static_cast<std::ptrdiff_t>(from),
                         x.begin() + static_cast<std::ptrdiff_t>(from + len));
    const double total = a->exp_shift(y.data(), static_cast<int64_t>(len), 0.0f);
    double want_total = 0;
    for (size_t j = 0; j < len; ++j) {
      const size_t i = from + j;
      const float want = std::exp(x[i]);
      if (std::isfinite(x[i])) want_total += std::exp(static_cast<double>(x[i]));
      if (std::isnan(x[i])) {
        EXPECT_TRUE(std::isnan(y[j]));
      } else if (want < FLT_MIN) {  // subnormal or zero: the kernel gives 0 below ln(FLT_MIN)
        EXPECT_LE(y[j], FLT_MIN) << "x = " << x[i];
        EXPECT_GE(y[j], 0.0f) << "x = " << x[i];
      } else if (std::isinf(want)) {
        EXPECT_TRUE(std::isinf(y[j]) && y[j] > 0) << "x = " << x[i] << " got " << y[j];
      } else {
        EXPECT_LE(std::fabs(y[j] - want), 4 * FLT_EPSILON * want) << "x = " << x[i];
      }
    }
    if (std::isfinite(want_total) && want_total < FLT_MAX) {
      EXPECT_GT(want_total, 0.0);
      EXPECT_NEAR(total, want_total, 1e-5 * want_total) << "from " << from << " len " << len;
    }
  }
}

TEST(CpuActivations, SiluGeluSoftmaxMatchScalar) {
  const Activations* a = fast();
  if (!a) GTEST_SKIP() << "no AVX2 kernels on this CPU";
  const Activations& s = activations_scalar();
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 4.0f);
  for (int64_t n : {1, 7, 8, 9, 100, 1027}) {
    std::vector<float> x(static_cast<size_t>(n)), g(static_cast<size_t>(n));
    for (auto& v : x) v = dist(rng);
    for (auto& v : g) v = dist(rng);
    x[0] = -100.0f;  // e^100 overflows in SiLU's denominator: the result is -0
    std::vector<float> y1(x.size()), y2(x.size());
    a->silu_mul(x.data(), g.data(), y1.data(), n);
    s.silu_mul(x.data(), g.data(), y2.data(), n);
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_NEAR(y1[i], y2[i], 1e-6f * (1 + std::fabs(y2[i]))) << "silu x = " << x[i];
    a->gelu_mul(x.data(), g.data(), y1.data(), n);
    s.gelu_mul(x.data(), g.data(), y2.data(), n);
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_NEAR(y1[i], y2[i], 2e-6f * (1 + std::fabs(g[i] * x[i]))) << "gelu x = " << x[i];
    std::vector<float> e1(x), e2(x);
    const double t1 = a->exp_shift(e1.data(), n, 12.0f), t2 = s.exp_shift(e2.data(), n, 12.0f);
    EXPECT_NEAR(t1, t2, 1e-6 * t2);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(e1[i], e2[i], 4 * FLT_EPSILON * e2[i]);
  }
  // In place (d aliases a), as the model's graph may ask.
  std::vector<float> x = {-3, -1, 0, 0.5f, 2, 9, 30, -30, 1.5f}, g(x.size(), 1.0f), want(x.size());
  s.silu_mul(x.data(), g.data(), want.data(), static_cast<int64_t>(x.size()));
  a->silu_mul(x.data(), g.data(), x.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(x[i], want[i], 1e-6f * (1 + std::fabs(want[i])));
}

}  // namespace
}  // namespace pivot::cpu
