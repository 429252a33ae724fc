#include "pivot/scheduler.h"

#include <algorithm>

#include "pivot/error.h"

namespace pivot {

bool RequestHandle::wait(std::string& text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return done_ || !pending_.empty(); });
  text += pending_;
  pending_.clear();
  return done_;
}

Completion RequestHandle::completion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return completion_;
}

void RequestHandle::push(const std::string& text) {
  if (text.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ += text;
  }
  cv_.notify_all();
}

void RequestHandle::finish(Completion c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    completion_ = std::move(c);
    done_ = true;
  }
  cv_.notify_all();
}

// A request inside the engine.
struct Scheduler::Seq {
  RequestParams params;
  std::shared_ptr<RequestHandle> handle;
  Sampler sampler;
  TokenStream stream;
  KvSeq kv;
  int64_t n_fed = 0;  // prompt tokens already run
  TokenId next = -1;  // sampled token to feed next (decode phase)
  Clock::time_point t_submit, t_admit, t_first, t_last;

  Seq(RequestParams p, const Tokenizer& tok, int64_t n_vocab)
      : params(std::move(p)),
        handle(std::make_shared<RequestHandle>()),
        sampler(params.sampling, n_vocab),
        stream(tok, params.stop, params.max_tokens),
        t_submit(Clock::now()) {}
  bool prefilling() const { return n_fed < static_cast<int64_t>(params.prompt.size()); }
};

Scheduler::Scheduler(Model& model, const Tokenizer& tok, PagedKvCache& kv,
                     const SchedulerOptions& opts)
    : model_(model), tok_(tok), kv_(kv), opts_(opts), n_vocab_(model.spec().n_vocab) {
  if (model.max_batch() < 1)
    fail("architecture '%s' has no batched forward; it cannot be served",
         model.spec().arch.c_str());
  if (opts_.parallel < 1) fail("--parallel must be >= 1, got %d", opts_.parallel);
  if (opts_.parallel > model.max_batch())
    fail("--parallel %d exceeds the batch size %lld (raise --batch-size)", opts_.parallel,
         static_cast<long long>(model.max_batch()));
  opts_.step_tokens = std::clamp<int64_t>(opts_.step_tokens, opts_.parallel, model.max_batch());
  logits_.resize(static_cast<size_t>(n_vocab_ * opts_.parallel));
  stats_.kv_blocks_total = kv_.total();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& s : running_) finish(*s, "cancelled");
  for (auto& s : waiting_) s->handle->finish({"cancelled", {}, 0, 0, 0, 0, 0});
}

std::shared_ptr<RequestHandle> Scheduler::submit(RequestParams params) {
  const int64_t n_prompt = static_cast<int64_t>(params.prompt.size());
  if (n_prompt == 0) fail("the prompt is empty: nothing to condition on");
  if (params.max_tokens < 1)
    fail("max_tokens must be >= 1, got %lld", static_cast<long long>(params.max_tokens));
  const int64_t need = n_prompt + params.max_tokens;
  if (need > opts_.n_ctx)
    fail(
        "this request needs %lld tokens (%lld prompt + %lld max_tokens), more than the "
        "context limit of %lld tokens per sequence",
        static_cast<long long>(need), static_cast<long long>(n_prompt),
        static_cast<long long>(params.max_tokens), static_cast<long long>(opts_.n_ctx));
  if (kv_.blocks_for(need) > kv_.total())
    fail("this request needs %lld KV blocks (%lld tokens), more than the cache's %lld",
         static_cast<long long>(kv_.blocks_for(need)), static_cast<long long>(need),
         static_cast<long long>(kv_.total()));
  auto seq = std::make_unique<Seq>(std::move(params), tok_, n_vocab_);
  std::shared_ptr<RequestHandle> h = seq->handle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_.push_back(std::move(seq));
    stats_.waiting = static_cast<int64_t>(waiting_.size());
  }
  cv_.notify_all();
  return h;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !waiting_.empty() || !running_.empty(); });
      if (stop_) return;
    }
    step();
  }
}

void Scheduler::finish(Seq& s, const std::string& reason, const std::string& error) {
  s.handle->push(s.stream.finish());
  kv_.release(s.kv);
  Completion c;
  c.finish_reason = reason;
  c.error = error;
  c.n_prompt = static_cast<int64_t>(s.params.prompt.size());
  c.n_generated = s.stream.n_generated();
  using sec = std::chrono::duration<double>;
  c.queue_s = sec(s.t_admit - s.t_submit).count();
  if (c.n_generated > 0) c.ttft_s = sec(s.t_first - s.t_submit).count();
  if (c.n_generated > 1) c.tpot_s = sec(s.t_last - s.t_first).count() / (c.n_generated - 1);
  s.handle->finish(std::move(c));
}

void Scheduler::step() {
  // 1-2: leave (cancelled), admit (FIFO while blocks and slots allow).
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end();)
      if ((*it)->handle->cancelled()) {
        (*it)->handle->finish({"cancelled", {}, 0, 0, 0, 0, 0});
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    std::erase_if(running_, [&](const std::unique_ptr<Seq>& s) {
      if (!s->handle->cancelled()) return false;
      finish(*s, "cancelled");
      return true;
    });
    while (!waiting_.empty() && static_cast<int>(running_.size()) < opts_.parallel) {
      Seq& s = *waiting_.front();
      if (!kv_.reserve(s.kv, static_cast<int64_t>(s.params.prompt.size()) + s.params.max_tokens))
        break;
      s.t_admit = Clock::now();
      for (TokenId t : s.params.prompt) s.sampler.accept(t);
      running_.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
    stats_.waiting = static_cast<int64_t>(waiting_.size());
    stats_.running = static_cast<int64_t>(running_.size());
    stats_.kv_blocks_used = kv_.used();
    if (running_.empty()) return;
  }

  // 3: decodes first (one token each), then prefill chunks in the remaining budget.
  std::vector<SeqChunk> batch;
  std::vector<Seq*> owner;
  int64_t budget = opts_.step_tokens;
  for (auto& s : running_)
    if (!s->prefilling()) {
      batch.push_back({std::span<const TokenId>(&s->next, 1), &s->kv, Logits::kLast});
      owner.push_back(s.get());
      --budget;
    }
  for (auto& s : running_) {
    if (!s->prefilling() || budget <= 0) continue;
    const int64_t left = static_cast<int64_t>(s->params.prompt.size()) - s->n_fed;
    const int64_t n = std::min(left, budget);
    batch.push_back(
        {std::span<const TokenId>(s->params.prompt.data() + s->n_fed, static_cast<size_t>(n)),
         &s->kv, n == left ? Logits::kLast : Logits::kNone});
    owner.push_back(s.get());
    budget -= n;
  }
  try {
    model_.forward_batch(batch, kv_, logits_.data());
  } catch (const std::exception& e) {
    for (auto& s : running_) finish(*s, "error", e.what());
    running_.clear();
    return;
  }

  // 4: sample where logits came back; finished sequences leave.
  const auto now = Clock::now();
  size_t row = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    Seq& s = *owner[i];
    if (s.prefilling()) s.n_fed += static_cast<int64_t>(batch[i].tokens.size());
    if (batch[i].which == Logits::kNone) continue;
    const std::span<const float> lg(logits_.data() + row * n_vocab_, static_cast<size_t>(n_vocab_));
    ++row;
    const TokenId t = s.sampler.sample(lg);
    s.sampler.accept(t);
    if (s.stream.n_generated() == 0) s.t_first = now;
    s.t_last = now;
    s.handle->push(s.stream.push(t));
    s.next = t;
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(running_, [&](const std::unique_ptr<Seq>& s) {
    if (!s->stream.done()) return false;
    finish(*s, s->stream.reason() == StopReason::kLength ? "length" : "stop");
    return true;
  });
  stats_.running = static_cast<int64_t>(running_.size());
  stats_.kv_blocks_used = kv_.used();
  ++stats_.steps;
}

}  // namespace pivot
