// Continuous-batching scheduler: one engine thread owns the Model, its Backend
// and a PagedKvCache; any thread submits requests and reads their output.
//
// Each step (one Model::forward_batch call):
//  1. cancelled requests leave, their KV blocks return to the pool at once;
//  2. admission: waiting requests (FIFO) start while fewer than `parallel` run
//     and the pool has blocks for prompt + max_tokens (reserved up front, so a
//     running sequence never runs out); otherwise they wait;
//  3. every decoding sequence contributes its one pending token; prefilling
//     sequences share the rest of the step's token budget (`step_tokens`) in
//     chunks, so a long prompt never stalls the running streams;
//  4. sequences whose logits came back sample a token (per-request Sampler,
//     seeded per request), pass it through a TokenStream (EOG tokens, stop
//     strings, max_tokens, UTF-8-safe text) and either continue or finish.
// A request that can never fit (prompt + max_tokens over the per-sequence
// context, or over the whole pool) is refused by submit() with pivot::Error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pivot/generate.h"
#include "pivot/model.h"
#include "pivot/paged_kv_cache.h"
#include "pivot/sampler.h"
#include "pivot/tokenizer.h"

namespace pivot {

struct RequestParams {
  std::vector<TokenId> prompt;  // non-empty
  SamplerParams sampling;
  int64_t max_tokens = 16;  // >= 1: most tokens sampled (an EOG token counts)
  std::vector<std::string> stop;
};

// How a request ended. Times are seconds on the steady clock.
struct Completion {
  std::string finish_reason;  // "stop" (EOG / stop string), "length", "cancelled", "error"
  std::string error;          // set for "error"
  int64_t n_prompt = 0, n_generated = 0;
  double queue_s = 0;  // submit -> admitted
  double ttft_s = 0;   // submit -> first token sampled
  double tpot_s = 0;   // mean time per output token after the first (0 if < 2 tokens)
};

// The two ends of one request: the engine appends text and finishes it; the
// submitting thread waits for text and may cancel. Thread-safe.
class RequestHandle {
 public:
  // Waits up to `timeout` for text or the end. Appends new text to `text`;
  // returns true once finished (and all text has been handed out).
  bool wait(std::string& text, std::chrono::milliseconds timeout);
  // Stops the request; the engine frees its sequence before its next step.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  Completion completion() const;  // valid once wait() returned true

  // Engine side.
  void push(const std::string& text);
  void finish(Completion c);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  bool done_ = false;
  Completion completion_;
  std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
  int parallel = 4;           // most sequences running at once
  int64_t n_ctx = 2048;       // most positions per sequence (prompt + generated)
  int64_t step_tokens = 256;  // most tokens per step (capped by Model::max_batch())
};

// Counters for /metrics; a consistent snapshot taken under the scheduler's lock.
struct SchedulerStats {
  int64_t waiting = 0, running = 0;
  int64_t kv_blocks_used = 0, kv_blocks_total = 0;
  int64_t steps = 0;
};

class Scheduler {
 public:
  // Starts the engine thread. `kv` must have been made for `model`'s spec.
  // Throws pivot::Error if the model has no batched forward.
  Scheduler(Model& model, const Tokenizer& tok, PagedKvCache& kv, const SchedulerOptions& opts);
  ~Scheduler();  // stops the thread; unfinished requests end "cancelled"
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. Throws pivot::Error naming the sizes when it can never fit.
  std::shared_ptr<RequestHandle> submit(RequestParams params);
  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return opts_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Seq;
  void loop();
  void step();
  void finish(Seq& s, const std::string& reason, const std::string& error = {});

  Model& model_;
  const Tokenizer& tok_;
  PagedKvCache& kv_;
  SchedulerOptions opts_;
  int64_t n_vocab_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> waiting_;   // guarded by mu_
  std::vector<std::unique_ptr<Seq>> running_;  // engine thread; size mirrored in stats_
  SchedulerStats stats_;                       // guarded by mu_
  bool stop_ = false;                          // guarded by mu_
  std::vector<float> logits_;
  std::thread thread_;
};

}  // namespace pivot
