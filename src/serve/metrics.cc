#include "metrics.h"

#include "pivot/error.h"

namespace pivot::serve {

void Metrics::Histogram::observe(double v) {
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (v <= kBounds[i]) ++counts[i];
  ++count;
  sum += v;
}

void Metrics::request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::completion(const Completion& c) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(c.n_prompt);
  generated_tokens_ += static_cast<uint64_t>(c.n_generated);
  if (c.n_generated > 0) ttft_.observe(c.ttft_s);
  if (c.n_generated > 1) tpot_.observe(c.tpot_s);
}

namespace {

void header(std::string& o, const char* name, const char* type, const char* help) {
  o += strprintf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

}  // namespace

std::string Metrics::render(const SchedulerStats& s, bool ready) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string o;
  header(o, "pivot_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, n] : requests_)
    o += strprintf("pivot_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", key.first.c_str(),
                   key.second, static_cast<unsigned long long>(n));
  header(o, "pivot_prompt_tokens_total", "counter", "Prompt tokens of finished requests.");
  o += strprintf("pivot_prompt_tokens_total %llu\n",
                 static_cast<unsigned long long>(prompt_tokens_));
  header(o, "pivot_generation_tokens_total", "counter", "Tokens generated (sampled).");
  o += strprintf("pivot_generation_tokens_total %llu\n",
                 static_cast<unsigned long long>(generated_tokens_));
  auto hist = [&](const char* name, const char* help, const Histogram& h) {
    header(o, name, "histogram", help);
    for (size_t i = 0; i < Histogram::kBounds.size(); ++i)
      o += strprintf("%s_bucket{le=\"%g\"} %llu\n", name, Histogram::kBounds[i],
                     static_cast<unsigned long long>(h.counts[i]));
    o += strprintf("%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name,
                   static_cast<unsigned long long>(h.count), name, h.sum, name,
                   static_cast<unsigned long long>(h.count));
  };
  hist("pivot_time_to_first_token_seconds", "Time from request arrival to its first token.", ttft_);
  hist("pivot_time_per_output_token_seconds",
       "Mean time per output token after the first, per request.", tpot_);
  auto gauge = [&](const char* name, const char* help, long long v) {
    header(o, name, "gauge", help);
    o += strprintf("%s %lld\n", name, v);
  };
  gauge("pivot_ready", "1 once the model is loaded.", ready ? 1 : 0);
  gauge("pivot_queue_depth", "Requests waiting for admission.", s.waiting);
  gauge("pivot_running_sequences", "Sequences in the running batch.", s.running);
  gauge("pivot_kv_cache_blocks_used", "Paged KV-cache blocks in use.", s.kv_blocks_used);
  gauge("pivot_kv_cache_blocks_total", "Paged KV-cache blocks in the pool.", s.kv_blocks_total);
  header(o, "pivot_engine_steps_total", "counter", "Batched forward steps run.");
  o += strprintf("pivot_engine_steps_total %lld\n", static_cast<long long>(s.steps));
  return o;
}

}  // namespace pivot::serve
