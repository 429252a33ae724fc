// Decode attention for the cpu backend (kAttention / kPagedAttention with at
// most a few queries): each task takes one query, one KV head (all the query
// heads of its GQA group, so each key and value row is read once) and one range
// of keys, and leaves an unnormalised partial result; the ranges of a query are
// then merged with the usual rescaling by exp(max_c - max):
//   out = Σ_c e^(m_c - m) acc_c / Σ_c e^(m_c - m) l_c,
//   m_c = max of range c's scores, l_c = Σ e^(s - m_c), acc_c = Σ e^(s - m_c) v.
// Splitting the keys keeps both threads busy when the model has few KV heads
// (SmolLM2: 3, Gemma 3 270M: 1). A query whose keys are not split (one range: any
// query at 1 thread) gets exactly the per-query two-pass result: f32 scores from
// dot_rows, f64 softmax sum, f32 weighted sum of values, times 1/sum.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels.h"
#include "thread_pool.h"

namespace pivot::cpu {

// One query token: n_head heads of D floats at q (head h at q + h * D), output
// at out likewise. It sees keys first ..= last (absolute positions). Key j's row
// for KV head kvh is at k + (slot(j) * n_kv_head + kvh) * D (same for v), where
// slot(j) = blocks[j / block_size] * block_size + j % block_size for a paged
// cache (blocks = the sequence's block ids) and j for a contiguous one
// (blocks = nullptr).
struct DecodeQuery {
  const float* q = nullptr;
  float* out = nullptr;
  int64_t first = 0, last = 0;
  const int32_t* blocks = nullptr;
};

struct DecodeShape {
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t D = 0, n_head = 0, n_kv_head = 0, block_size = 1;
  float scale = 1.0f;  // applied to q·k before the softmax
};

// Owns the scratch (grown on first use of a larger shape, then reused).
class DecodeAttention {
 public:
  explicit DecodeAttention(int n_threads)
      : scores_(static_cast<size_t>(n_threads)), sums_(static_cast<size_t>(n_threads)) {}

  // Runs every query of `queries` (n_q of them) on `pool`; dot is the kernel
  // set's dot_rows (the q·k products).
  void run(ThreadPool& pool, DotRows dot, const DecodeShape& s, const DecodeQuery* queries,
           int64_t n_q);

 private:
  std::vector<std::vector<float>> scores_;  // per thread: scores, then the group's acc
  std::vector<std::vector<double>> sums_;   // per thread: the group's softmax sums
  std::vector<float> partials_;             // per (query, head, range): acc[D], max, sum
};

// Key ranges per query when the longest query sees n_keys keys: enough tasks
// (queries x KV heads x ranges) for every thread, none shorter than
// kDecodeMinKeys keys, at most kDecodeMaxRanges. 1 at one thread.
inline constexpr int64_t kDecodeMinKeys = 64;
inline constexpr int64_t kDecodeMaxRanges = 64;
int64_t decode_key_ranges(int64_t n_keys, int64_t n_q, int64_t n_kv_head, int n_threads);

}  // namespace pivot::cpu
