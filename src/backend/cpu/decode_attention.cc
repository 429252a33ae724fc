// Split-key decode attention (decode_attention.h): tasks of (query, KV head, key
// range), then a serial merge of the ranges of each split query.
#include "decode_attention.h"

#include <algorithm>
#include <cmath>

namespace pivot::cpu {

namespace {

// Ranges query keys n_keys get when the op allows up to max_ranges.
int64_t ranges_for(int64_t n_keys, int64_t max_ranges) {
  return std::min(max_ranges, (n_keys + kDecodeMinKeys - 1) / kDecodeMinKeys);
}

}  // namespace

int64_t decode_key_ranges(int64_t n_keys, int64_t n_q, int64_t n_kv_head, int n_threads) {
  if (n_threads <= 1) return 1;
  const int64_t base = n_q * n_kv_head, want = (4 * n_threads + base - 1) / base;
  return std::max<int64_t>(1, ranges_for(n_keys, std::min(want, kDecodeMaxRanges)));
}

void DecodeAttention::run(ThreadPool& pool, DotRows dot, const DecodeShape& s,
                          const DecodeQuery* queries, int64_t n_q) {
  const int64_t D = s.D, H = s.n_head, Hkv = s.n_kv_head, G = H / Hkv, bs = s.block_size;
  int64_t n_max = 1;
  for (int64_t m = 0; m < n_q; ++m) n_max = std::max(n_max, queries[m].last - queries[m].first + 1);
  const int64_t C = decode_key_ranges(n_max, n_q, Hkv, pool.size());
  for (auto& sc : scores_)
    if (sc.size() < static_cast<size_t>(G * (n_max + D)))
      sc.resize(static_cast<size_t>(G * (n_max + D)));
  for (auto& sum : sums_)
    if (sum.size() < static_cast<size_t>(G)) sum.resize(static_cast<size_t>(G));
  if (C > 1) {
    const size_t parts = static_cast<size_t>(n_q * H * C);
    if (partials_.size() < parts * static_cast<size_t>(D + 2)) partials_.resize(parts * (D + 2));
  }

  pool.run(n_q * Hkv * C, [&](int64_t task, int thread) {
    const int64_t m = task / (Hkv * C), kvh = task / C % Hkv, c = task % C;
    const DecodeQuery& qq = queries[m];
    const int64_t n = qq.last - qq.first + 1, r = ranges_for(n, C);
    if (c >= r) return;
    const int64_t j0 = qq.first + n * c / r, len = qq.first + n * (c + 1) / r - j0;
    auto row = [&](const float* base, int64_t j) {
      const int64_t slot = qq.blocks ? int64_t{qq.blocks[j / bs]} * bs + j % bs : j;
      return base + (slot * Hkv + kvh) * D;
    };
    float* sc = scores_[static_cast<size_t>(thread)].data();  // G x len scores
    float* acc = sc + G * len;                                // G x D
    const float* q = qq.q + kvh * G * D;

    for (int64_t i = 0; i < len; ++i) {  // each key row read once for the whole group
      const float* kr = row(s.k, j0 + i);
      for (int64_t g0 = 0; g0 < G; g0 += 4) {
        const int nx = static_cast<int>(std::min<int64_t>(4, G - g0));
        double d[4] = {0, 0, 0, 0};
        dot(kr, q + g0 * D, D, D, nx, d);
        for (int t = 0; t < nx; ++t) sc[(g0 + t) * len + i] = static_cast<float>(d[t]) * s.scale;
      }
    }
    double* sum = sums_[static_cast<size_t>(thread)].data();
    // A query of one range (r == 1, even when others are split) writes its output
    // directly: the merge below skips it.
    float* part = r > 1 ? partials_.data() + ((m * H + kvh * G) * C + c) * (D + 2) : nullptr;
    for (int64_t g = 0; g < G; ++g) {
      float* sg = sc + g * len;
      float mx = -INFINITY;
      for (int64_t i = 0; i < len; ++i) mx = std::max(mx, sg[i]);
      double total = 0;
      for (int64_t i = 0; i < len; ++i) total += sg[i] = std::exp(sg[i] - mx);
      sum[g] = total;
      if (part) {
        float* pg = part + g * C * (D + 2);
        pg[D] = mx;
        pg[D + 1] = static_cast<float>(total);
      }
    }
    std::fill(acc, acc + G * D, 0.0f);
    for (int64_t i = 0; i < len; ++i) {
      const float* vr = row(s.v, j0 + i);
      for (int64_t g = 0; g < G; ++g) {
        const float p = sc[g * len + i];
        float* a = acc + g * D;
        for (int64_t d = 0; d < D; ++d) a[d] += p * vr[d];
      }
    }
    for (int64_t g = 0; g < G; ++g) {
      if (part) {
        std::copy(acc + g * D, acc + (g + 1) * D, part + g * C * (D + 2));
      } else {
        float* out = qq.out + (kvh * G + g) * D;
        const float inv = static_cast<float>(1.0 / sum[g]);
        for (int64_t d = 0; d < D; ++d) out[d] = acc[g * D + d] * inv;
      }
    }
  });
  if (C == 1) return;

  for (int64_t m = 0; m < n_q; ++m) {  // merge the ranges of each split query
    const int64_t r = ranges_for(queries[m].last - queries[m].first + 1, C);
    if (r <= 1) continue;
    for (int64_t h = 0; h < H; ++h) {
      const float* p = partials_.data() + (m * H + h) * C * (D + 2);
      float mx = -INFINITY;
      for (int64_t c = 0; c < r; ++c) mx = std::max(mx, p[c * (D + 2) + D]);
      float w[kDecodeMaxRanges];
      double total = 0;
      for (int64_t c = 0; c < r; ++c) {
        w[c] = std::exp(p[c * (D + 2) + D] - mx);
        total += double{w[c]} * p[c * (D + 2) + D + 1];
      }
      float* out = queries[m].out + h * D;
      const float inv = static_cast<float>(1.0 / total);
      for (int64_t d = 0; d < D; ++d) {
        float o = 0;
        for (int64_t c = 0; c < r; ++c) o += w[c] * p[c * (D + 2) + d];
        out[d] = o * inv;
      }
    }
  }
}

}  // namespace pivot::cpu
