// One generation on one sequence: prompt processing, then sample/decode until an
// end-of-generation token, a stop string, n_predict tokens or a full context,
// streaming text (never half a UTF-8 character; never any part of a stop string).
// The KV cache carries over between calls, so a chat appends turn after turn.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/kv_cache.h"
#include "pivot/model.h"
#include "pivot/sampler.h"
#include "pivot/tokenizer.h"

namespace pivot {

struct GenerateOptions {
  int64_t n_predict = -1;         // most new tokens; < 0: until EOG or a full context
  std::vector<std::string> stop;  // stop strings, matched on the decoded text
};

enum class StopReason : uint8_t { kEog, kStopString, kLength, kContextFull };
const char* stop_reason_name(StopReason r);  // "eog", "stop", "length", "context"

struct GenerateStats {
  int64_t n_prompt = 0;     // tokens processed before the first sample
  int64_t n_generated = 0;  // tokens sampled (including a final EOG token)
  double prompt_s = 0;      // prompt processing wall time, seconds
  double generate_s = 0;    // sampling + decoding wall time after the prompt, seconds
  StopReason reason = StopReason::kLength;
  std::vector<TokenId> tokens;  // the sampled ids
};

// Streams the completion of `prompt` (appended at kv.n_past) to `emit`. Throws
// pivot::Error up front when kv.n_past + prompt + n_predict exceeds the context.
// `logits` is caller-owned scratch of n_vocab floats (no allocation per token).
GenerateStats generate(Model& model, KvCache& kv, const Tokenizer& tok, Sampler& sampler,
                       std::span<const TokenId> prompt, const GenerateOptions& opts,
                       std::vector<float>& logits,
                       const std::function<void(std::string_view)>& emit);

// Holds back text that might begin a stop string. push() returns what is safe to
// emit; stopped() is true once a stop string appeared (the text before it is
// emitted, it and all after it are not).
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  std::string push(std::string_view text);
  std::string flush();  // the held tail, at the end of a generation without a stop
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

// What happens to each sampled token, shared by generate() and the server's
// scheduler: end-of-generation tokens end it (not emitted), text goes through a
// StreamDecoder and a StopMatcher, n_predict caps the count.
class TokenStream {
 public:
  TokenStream(const Tokenizer& tok, std::vector<std::string> stop, int64_t n_predict)
      : dec_(tok), stop_(std::move(stop)), tok_(tok), n_predict_(n_predict) {}
  // Feeds one sampled token; returns the text that is safe to emit now. After
  // it, done() tells whether the generation ended (EOG, stop string, n_predict).
  std::string push(TokenId t);
  // The held tail for a generation that ends without a stop string or EOG text
  // (length, context, cancellation); empty after a stop string.
  std::string finish();
  bool done() const { return done_; }
  StopReason reason() const { return reason_; }
  int64_t n_generated() const { return n_generated_; }

 private:
  StreamDecoder dec_;
  StopMatcher stop_;
  const Tokenizer& tok_;
  int64_t n_predict_;
  int64_t n_generated_ = 0;
  bool done_ = false;
  StopReason reason_ = StopReason::kLength;
};

}  // namespace pivot
