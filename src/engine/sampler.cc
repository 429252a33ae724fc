#include "pivot/sampler.h"

#include <algorithm>
#include <cmath>

#include "pivot/error.h"

namespace pivot {

Sampler::Sampler(const SamplerParams& params, int64_t n_vocab)
    : p_(params), n_vocab_(n_vocab), rng_(params.seed) {
  if (n_vocab < 1) fail("sampler: n_vocab must be >= 1");
  if (!(p_.repeat_penalty > 0))
    fail("sampler: repeat penalty must be > 0, got %g", p_.repeat_penalty);
  if (p_.top_p <= 0) fail("sampler: top-p must be > 0, got %g", p_.top_p);
  if (p_.min_p >= 1) fail("sampler: min-p must be < 1, got %g", p_.min_p);
  if (p_.penalty_last_n < 0) p_.penalty_last_n = 0;
  cand_.resize(static_cast<size_t>(n_vocab));
  history_.resize(static_cast<size_t>(p_.penalty_last_n));
  counts_.assign(static_cast<size_t>(n_vocab), 0);
}

void Sampler::accept(int32_t token) {
  if (history_.empty()) return;
  history_[history_next_] = token;
  history_next_ = (history_next_ + 1) % history_.size();
  history_size_ = std::min(history_size_ + 1, history_.size());
}

void Sampler::reset() {
  history_next_ = 0;
  history_size_ = 0;
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (static_cast<int64_t>(logits.size()) != n_vocab_)
    fail("sampler: expected %lld logits", (long long)n_vocab_);
  const size_t n = logits.size();
  for (size_t i = 0; i < n; ++i) cand_[i] = {logits[i], static_cast<int32_t>(i)};

  // Penalties: each distinct token of the window once, with its count.
  const bool penalise =
      p_.repeat_penalty != 1.0f || p_.frequency_penalty != 0.0f || p_.presence_penalty != 0.0f;
  if (penalise) {
    for (size_t i = 0; i < history_size_; ++i) {
      const int32_t t = history_[i];
      if (t >= 0 && static_cast<size_t>(t) < n) ++counts_[static_cast<size_t>(t)];
    }
    for (size_t i = 0; i < history_size_; ++i) {
      const int32_t t = history_[i];
      if (t < 0 || static_cast<size_t>(t) >= n) continue;
      int32_t& c = counts_[static_cast<size_t>(t)];
      if (c == 0) continue;  // already applied
      float& l = cand_[static_cast<size_t>(t)].logit;
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= static_cast<float>(c) * p_.frequency_penalty + p_.presence_penalty;
      c = 0;
    }
  }

  auto by_logit = [](const Cand& a, const Cand& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (p_.temperature <= 0) return std::min_element(cand_.begin(), cand_.end(), by_logit)->id;

  // Top-k (sorted), or everything sorted when top-k is off.
  size_t k = n;
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) k = static_cast<size_t>(p_.top_k);
  std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(k), cand_.end(),
                    by_logit);

  // Softmax over the k survivors (untempered), in double.
  const double max_l = cand_[0].logit;
  double sum = 0;
  for (size_t i = 0; i < k; ++i) sum += std::exp(double(cand_[i].logit) - max_l);
  // Top-p: the smallest prefix whose mass reaches top_p.
  if (p_.top_p < 1) {
    double mass = 0;
    for (size_t i = 0; i < k; ++i) {
      mass += std::exp(double(cand_[i].logit) - max_l) / sum;
      if (mass >= p_.top_p) {
        k = i + 1;
        break;
      }
    }
  }
  // Min-p: p_i >= min_p * p_max  <=>  logit_i >= max_l + log(min_p).
  if (p_.min_p > 0) {
    const double cut = max_l + std::log(double(p_.min_p));
    size_t keep = 1;
    while (keep < k && cand_[keep].logit >= cut) ++keep;
    k = keep;
  }
  // Temperature, then a draw.
  double total = 0;
  for (size_t i = 0; i < k; ++i)
    total += std::exp((double(cand_[i].logit) - max_l) / p_.temperature);
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
  double acc = 0;
  for (size_t i = 0; i < k; ++i) {
    acc += std::exp((double(cand_[i].logit) - max_l) / p_.temperature);
    if (u < acc) return cand_[i].id;
  }
  return cand_[k - 1].id;
}

}  // namespace pivot
