// Token sampling from logits: penalties, greedy, top-k, top-p, min-p, temperature.
//
// Order (as llama.cpp's default chain): repetition / frequency / presence
// penalties over the last `penalty_last_n` accepted tokens; then greedy if
// temperature <= 0; else top-k, softmax, top-p, min-p (both on the untempered
// distribution), temperature, and a draw from a 64-bit Mersenne Twister seeded
// with `seed` — so equal seeds and inputs give equal outputs on every machine.
// Buffers are sized once at construction: sampling allocates nothing.
// Not thread-safe; one Sampler per sequence.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace pivot {

struct SamplerParams {
  float temperature = 0.8f;        // <= 0: greedy (argmax)
  int32_t top_k = 40;              // <= 0 or >= n_vocab: off
  float top_p = 0.95f;             // >= 1: off
  float min_p = 0.05f;             // <= 0: off; drop p < min_p * p_max
  float repeat_penalty = 1.0f;     // 1: off; logit / r if > 0, logit * r if < 0 (CTRL)
  float frequency_penalty = 0.0f;  // minus f * count(token)
  float presence_penalty = 0.0f;   // minus p if the token occurred
  int32_t penalty_last_n = 64;     // window of accepted tokens the penalties see
  uint64_t seed = 0;
};

class Sampler {
 public:
  // Throws pivot::Error for n_vocab < 1 or out-of-range parameters.
  Sampler(const SamplerParams& params, int64_t n_vocab);

  // Picks a token from `logits` (n_vocab floats; not modified). Does not accept it.
  int32_t sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the penalties.
  void accept(int32_t token);
  void reset();  // forget the history; the random stream continues
  const SamplerParams& params() const { return p_; }

 private:
  struct Cand {
    float logit;
    int32_t id;
  };
  SamplerParams p_;
  int64_t n_vocab_;
  std::mt19937_64 rng_;
  std::vector<Cand> cand_;
  std::vector<int32_t> history_;  // ring of the last penalty_last_n tokens
  size_t history_next_ = 0;
  size_t history_size_ = 0;
  std::vector<int32_t> counts_;  // scratch: occurrences per id in the window
};

}  // namespace pivot
