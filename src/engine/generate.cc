#include "pivot/generate.h"

#include <chrono>

#include "pivot/error.h"

namespace pivot {

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kEog:
      return "eog";
    case StopReason::kStopString:
      return "stop";
    case StopReason::kLength:
      return "length";
    case StopReason::kContextFull:
      return "context";
  }
  return "?";
}

std::string StopMatcher::push(std::string_view text) {
  if (stopped_) return {};
  held_ += text;
  size_t first = std::string::npos;
  for (const auto& s : stops_) {
    if (s.empty()) continue;
    first = std::min(first, held_.find(s));
  }
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Keep the longest tail that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const auto& s : stops_)
    for (size_t n = std::min(s.size() - (s.empty() ? 0 : 1), held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = stopped_ ? std::string() : held_;
  held_.clear();
  return out;
}

std::string TokenStream::push(TokenId t) {
  if (done_) return {};
  ++n_generated_;
  if (tok_.is_eog(t)) {
    done_ = true;
    reason_ = StopReason::kEog;
    return {};
  }
  std::string text = stop_.push(dec_.push(t));
  if (stop_.stopped()) {
    done_ = true;
    reason_ = StopReason::kStopString;
  } else if (n_predict_ >= 0 && n_generated_ >= n_predict_) {
    done_ = true;
    reason_ = StopReason::kLength;
  }
  return text;
}

std::string TokenStream::finish() {
  if (stop_.stopped()) return {};
  std::string out = stop_.push(dec_.flush());
  return out + stop_.flush();
}

GenerateStats generate(Model& model, KvCache& kv, const Tokenizer& tok, Sampler& sampler,
                       std::span<const TokenId> prompt, const GenerateOptions& opts,
                       std::vector<float>& logits,
                       const std::function<void(std::string_view)>& emit) {
  using clock = std::chrono::steady_clock;
  const int64_t n_prompt = static_cast<int64_t>(prompt.size());
  if (n_prompt == 0) fail("empty prompt: nothing to condition on");
  const int64_t need = kv.n_past + n_prompt + std::max<int64_t>(opts.n_predict, 0);
  if (need > kv.n_ctx())
    fail(
        "prompt (%lld tokens) + requested tokens (%lld)%s exceed the context size %lld; "
        "raise --ctx-size or lower -n",
        static_cast<long long>(n_prompt), static_cast<long long>(opts.n_predict),
        kv.n_past ? strprintf(" + history (%lld)", static_cast<long long>(kv.n_past)).c_str() : "",
        static_cast<long long>(kv.n_ctx()));
  logits.resize(static_cast<size_t>(model.spec().n_vocab));

  GenerateStats st;
  st.n_prompt = n_prompt;
  const auto t0 = clock::now();
  model.forward(prompt, kv, Logits::kLast, logits.data());
  for (TokenId t : prompt) sampler.accept(t);
  const auto t1 = clock::now();
  st.prompt_s = std::chrono::duration<double>(t1 - t0).count();

  TokenStream stream(tok, opts.stop, opts.n_predict);
  st.reason = StopReason::kLength;
  while (opts.n_predict != 0) {
    const TokenId t = sampler.sample(logits);
    sampler.accept(t);
    st.tokens.push_back(t);
    const std::string text = stream.push(t);
    if (!text.empty()) emit(text);
    if (stream.done()) break;
    if (kv.n_past >= kv.n_ctx()) {
      st.reason = StopReason::kContextFull;
      break;
    }
    model.forward(std::span<const TokenId>(&t, 1), kv, Logits::kLast, logits.data());
  }
  st.n_generated = stream.n_generated();
  if (stream.done()) st.reason = stream.reason();
  const std::string tail = stream.finish();
  if (!tail.empty()) emit(tail);
  st.generate_s = std::chrono::duration<double>(clock::now() - t1).count();
  return st;
}

}  // namespace pivot
