// The cpu backend's thread pool and split-key decode attention
// (src/backend/cpu/{thread_pool,decode_attention}.h): every task runs exactly
// once per job at any thread count, and decode attention at 1..5 threads (so 1 to
// many key ranges per query) matches a double-precision softmax(q·kᵀ)·v over
// contiguous and paged caches, GQA groups 1..8, 1..8 queries, long KV and windows.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "../../src/backend/cpu/decode_attention.h"
#include "../../src/backend/cpu/kernels.h"
#include "../../src/backend/cpu/thread_pool.h"

namespace pivot::cpu {
namespace {

TEST(CpuThreadPool, EveryTaskRunsOncePerJob) {
  for (int threads : {1, 2, 3, 7}) {  // 7: more threads than cores (oversubscribed)
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(1000);
    for (int job = 0; job < 300; ++job) {
      const int64_t n = job % 17 == 0 ? 1000 : job % 9;  // empty, single and large jobs
      for (auto& h : hits) h = 0;
      std::atomic<int> bad_thread{0};
      pool.run(n, [&](int64_t i, int t) {
        if (t < 0 || t >= pool.size()) ++bad_thread;
        ++hits[static_cast<size_t>(i)];
      });
      for (int64_t i = 0; i < 1000; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)], i < n ? 1 : 0)
            << threads << " threads, job " << job << ", task " << i;
      ASSERT_EQ(bad_thread, 0);
    }
  }
}

struct Case {
  int64_t D, H, Hkv, M, pos0;  // M queries at positions pos0 .. pos0 + M - 1
  int64_t window;              // 0: full causal
  int64_t block_size;          // 0: contiguous cache, else paged with shuffled blocks
};

// out[m][h] in double: softmax over keys first..=pos of scale * q·k, times v.
std::vector<double> oracle(const Case& c, const std::vector<float>& q, const std::vector<float>& k,
                           const std::vector<float>& v, float scale) {
  const int64_t G = c.H / c.Hkv;
  std::vector<double> out(static_cast<size_t>(c.M * c.H * c.D));
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t h = 0; h < c.H; ++h) {
      const int64_t pos = c.pos0 + m,
                    first = c.window ? std::max<int64_t>(0, pos - c.window + 1) : 0;
      std::vector<double> s;
      for (int64_t j = first; j <= pos; ++j) {
        double d = 0;
        for (int64_t i = 0; i < c.D; ++i)
          d += double{q[static_cast<size_t>((m * c.H + h) * c.D + i)]} *
               k[static_cast<size_t>((j * c.Hkv + h / G) * c.D + i)];
        s.push_back(d * scale);
      }
      const double mx = *std::max_element(s.begin(), s.end());
      double total = 0;
      for (double& x : s) total += x = std::exp(x - mx);
      for (int64_t i = 0; i < c.D; ++i) {
        double o = 0;
        for (int64_t j = first; j <= pos; ++j)
          o += s[static_cast<size_t>(j - first)] *
               v[static_cast<size_t>((j * c.Hkv + h / G) * c.D + i)];
        out[static_cast<size_t>((m * c.H + h) * c.D + i)] = o / total;
      }
    }
  return out;
}

TEST(CpuDecodeAttention, MatchesDoubleOracleAtEveryThreadCount) {
  const std::vector<Case> cases = {
      {64, 9, 3, 1, 0, 0, 0},
      {64, 9, 3, 1, 700, 0, 0},
      {64, 9, 3, 1, 700, 0, 16},
      {256, 4, 1, 1, 900, 0, 0},
      {256, 4, 1, 2, 900, 512, 32},
      {64, 8, 1, 8, 500, 0, 16},
      {64, 32, 8, 1, 400, 0, 0},
      {32, 6, 3, 4, 260, 0, 8},
      {16, 5, 5, 2, 1000, 0, 0},
      {64, 7, 1, 3, 2000, 100, 64},
      {10, 6, 2, 5, 130, 0, 4},
      {64, 16, 2, 8, 64, 0, 16},
      {40, 12, 2, 6, 300, 30, 0},
      {64, 2, 1, 1, 5000, 0, 256},
      // Queries on both sides of kDecodeMinKeys: the short ones get one range while
      // the longest is split (Gemma 3 `pivot logits -b 7` at positions 63-64).
      {64, 4, 1, 7, 60, 0, 0},
      {64, 9, 3, 5, 62, 0, 16},
      {32, 8, 2, 8, 120, 0, 0},
  };
  const Kernels& kern = scalar_kernels();
  const Kernels* avx2 = avx2_kernels();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (const Case& c : cases) {
    const int64_t n_keys = c.pos0 + c.M, row = c.Hkv * c.D;
    std::vector<float> q(static_cast<size_t>(c.M * c.H * c.D)),
        k(static_cast<size_t>(n_keys * row)), v(k.size());
    for (auto* t : {&q, &k, &v})
      for (float& x : *t) x = u(rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
    const std::vector<double> want = oracle(c, q, k, v, scale);

    // Paged: key j of the sequence lives in pool block blocks[j / bs], slot j % bs.
    const int64_t bs = c.block_size ? c.block_size : 1;
    const int64_t n_blocks = (n_keys + bs - 1) / bs;
    std::vector<int32_t> blocks(static_cast<size_t>(n_blocks));
    std::iota(blocks.begin(), blocks.end(), 0);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    std::vector<float> kp(static_cast<size_t>(n_blocks * bs * row)), vp(kp.size());
    for (int64_t j = 0; j < n_keys; ++j) {
      const int64_t slot = blocks[static_cast<size_t>(j / bs)] * bs + j % bs;
      std::copy_n(k.begin() + j * row, row, kp.begin() + slot * row);
      std::copy_n(v.begin() + j * row, row, vp.begin() + slot * row);
    }
    const bool paged = c.block_size > 0;
    DecodeShape s{
        paged ? kp.data() : k.data(), paged ? vp.data() : v.data(), c.D, c.H, c.Hkv, bs, scale};

    for (const Kernels* kk : {&kern, avx2}) {
      if (!kk) continue;
      for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        DecodeAttention attn(threads);
        std::vector<float> out(q.size(), NAN);
        std::vector<DecodeQuery> qs;
        for (int64_t m = 0; m < c.M; ++m) {
          const int64_t pos = c.pos0 + m;
          qs.push_back({q.data() + m * c.H * c.D, out.data() + m * c.H * c.D,
                        c.window ? std::max<int64_t>(0, pos - c.window + 1) : 0, pos,
                        paged ? blocks.data() : nullptr});
        }
        attn.run(pool, kk->dot_rows, s, qs.data(), c.M);
        double num = 0, den = 0;
        for (size_t i = 0; i < out.size(); ++i) {
          num += (out[i] - want[i]) * (out[i] - want[i]);
          den += want[i] * want[i];
        }
        EXPECT_LE(std::sqrt(num / den), 1e-5)
            << kk->name << " D" << c.D << " H" << c.H << " Hkv" << c.Hkv << " M" << c.M << " P"
            << c.pos0 << " W" << c.window << " bs" << c.block_size << " threads " << threads;
      }
    }
  }
}

TEST(CpuDecodeAttention, KeyRangesFollowThreadsAndLength) {
  EXPECT_EQ(decode_key_ranges(5000, 1, 3, 1), 1);  // one thread: never split
  EXPECT_EQ(decode_key_ranges(5000, 1, 3, 2), 3);  // 3 KV heads x 3 ranges >= 4 per thread
  EXPECT_EQ(decode_key_ranges(5000, 1, 1, 2), 8);
  EXPECT_EQ(decode_key_ranges(100, 1, 1, 2), 2);  // no range under kDecodeMinKeys keys
  EXPECT_EQ(decode_key_ranges(50, 1, 1, 2), 1);
  EXPECT_EQ(decode_key_ranges(5000, 1, 8, 2), 1);  // enough KV heads already
  EXPECT_EQ(decode_key_ranges(1 << 20, 1, 1, 256), kDecodeMaxRanges);
}

}  // namespace
}  // namespace pivot::cpu
