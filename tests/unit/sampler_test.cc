// Sampler: greedy, each truncation (top-k, top-p, min-p), temperature and the
// penalties, checked against distributions computed here from their definitions
// (llama.cpp's sampler documentation: penalties first, then top-k, top-p and min-p
// on the untempered softmax, then temperature), with draw counts tested at 5 sigma.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pivot/error.h"
#include "pivot/sampler.h"
#include "test_util.h"

namespace pivot {
namespace {

using test::error_of;

SamplerParams plain(float temperature) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0;
  return p;
}

// Draws n samples and checks each id's frequency against `expected` (ids missing
// from it must never appear) within 5 binomial standard deviations.
void expect_distribution(Sampler& s, const std::vector<float>& logits,
                         const std::map<int32_t, double>& expected, int n = 20000) {
  std::map<int32_t, int> counts;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  for (const auto& [id, c] : counts)
    EXPECT_TRUE(expected.count(id)) << "id " << id << " drawn " << c << " times";
  for (const auto& [id, p] : expected) {
    const double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(counts[id], n * p, 5 * sd + 1) << "id " << id << " p " << p;
  }
}

std::map<int32_t, double> softmax(const std::vector<float>& l, const std::vector<int32_t>& keep,
                                  double temperature) {
  double z = 0;
  for (int32_t i : keep) z += std::exp(l[size_t(i)] / temperature);
  std::map<int32_t, double> p;
  for (int32_t i : keep) p[i] = std::exp(l[size_t(i)] / temperature) / z;
  return p;
}

TEST(Sampler, GreedyIsArgmaxLowestIdOnTies) {
  Sampler s(plain(0), 5);
  EXPECT_EQ(s.sample(std::vector<float>{0, 3, 1, 3, -2}), 1);
  EXPECT_EQ(s.sample(std::vector<float>{-5, -4, -3, -2, -1}), 4);
}

TEST(Sampler, TemperatureScalesTheSoftmax) {
  const std::vector<float> l = {2, 1, 0, -1};
  for (float t : {1.0f, 0.5f, 2.0f}) {
    Sampler s(plain(t), 4);
    expect_distribution(s, l, softmax(l, {0, 1, 2, 3}, t));
  }
}

TEST(Sampler, TopKKeepsTheKLargest) {
  const std::vector<float> l = {0.5f, 2, -1, 1.5f, 0};
  SamplerParams p = plain(1);
  p.top_k = 2;
  Sampler s(p, 5);
  expect_distribution(s, l, softmax(l, {1, 3}, 1));
  p.top_k = 1;
  Sampler one(p, 5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(one.sample(l), 1);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 needs the first two (0.8).
  const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplerParams p = plain(1);
  p.top_p = 0.75f;
  Sampler s(p, 4);
  expect_distribution(s, l, softmax(l, {0, 1}, 1));
  p.top_p = 0.81f;  // now the third is needed too
  Sampler s3(p, 4);
  expect_distribution(s3, l, softmax(l, {0, 1, 2}, 1));
}

TEST(Sampler, MinPDropsBelowAFractionOfTheTop) {
  const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplerParams p = plain(1);
  p.min_p = 0.4f;  // keep p >= 0.2
  Sampler s(p, 4);
  expect_distribution(s, l, softmax(l, {0, 1}, 1));
  // Truncation uses the untempered distribution; temperature then reshapes the rest.
  p.temperature = 2;
  Sampler hot(p, 4);
  expect_distribution(hot, l, softmax(l, {0, 1}, 2));
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplerParams p = plain(0);
  p.repeat_penalty = 2;
  Sampler s(p, 3);
  const std::vector<float> l = {3, 2, -1};
  EXPECT_EQ(s.sample(l), 0);
  s.accept(0);  // 3 -> 1.5 < 2
  EXPECT_EQ(s.sample(l), 1);
  s.accept(1);  // 2 -> 1.0 < 1.5
  EXPECT_EQ(s.sample(l), 0);
  // Negative logits are multiplied: -0.5 -> -1.0 falls below -0.8.
  Sampler n(p, 2);
  n.accept(0);
  EXPECT_EQ(n.sample(std::vector<float>{-0.5f, -0.8f}), 1);
}

TEST(Sampler, FrequencyAndPresencePenaltiesCountTheWindow) {
  SamplerParams p = plain(0);
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  p.penalty_last_n = 3;
  Sampler s(p, 2);
  const std::vector<float> l = {1.0f, 0.0f};
  s.accept(0);  // 1 - 0.5 - 0.25 = 0.25 > 0
  EXPECT_EQ(s.sample(l), 0);
  s.accept(0);  // 1 - 1.0 - 0.25 < 0
  EXPECT_EQ(s.sample(l), 1);
  s.accept(1);
  s.accept(1);  // the window (3) now holds 0, 1, 1: token 0 counted once: 0.25 > 0 - 1.25
  EXPECT_EQ(s.sample(l), 0);
  s.reset();
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 0.2f}), 1);  // no history, no penalty
}

TEST(Sampler, SameSeedSameDraws) {
  std::vector<float> l(50);
  for (size_t i = 0; i < l.size(); ++i) l[i] = std::sin(float(i));
  SamplerParams p = plain(1);
  p.seed = 42;
  Sampler a(p, 50), b(p, 50);
  p.seed = 43;
  Sampler c(p, 50);
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    int32_t x = a.sample(l);
    EXPECT_EQ(x, b.sample(l));
    differ += x != c.sample(l);
  }
  EXPECT_GT(differ, 0);
}

TEST(Sampler, BadParametersAreNamed) {
  EXPECT_NE(error_of([] { Sampler(plain(1), 0); }).find("n_vocab"), std::string::npos);
  SamplerParams p = plain(1);
  p.repeat_penalty = 0;
  EXPECT_NE(error_of([&] { Sampler(p, 4); }).find("repeat penalty"), std::string::npos);
  p = plain(1);
  p.top_p = 0;
  EXPECT_NE(error_of([&] { Sampler(p, 4); }).find("top-p"), std::string::npos);
  p = plain(1);
  p.min_p = 1;
  EXPECT_NE(error_of([&] { Sampler(p, 4); }).find("min-p"), std::string::npos);
  Sampler s(plain(1), 4);
  EXPECT_NE(error_of([&] {
              s.sample(std::vector<float>{1, 2});
            }).find("expected 4 logits"),
            std::string::npos);
}

}  // namespace
}  // namespace pivot
