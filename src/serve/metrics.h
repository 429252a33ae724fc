// Server metrics in the Prometheus text exposition format (version 0.0.4):
// counters of requests by endpoint and status and of prompt / generated tokens,
// histograms of time to first token and time per output token (seconds), and
// gauges read from the scheduler at scrape time (queue depth, running
// sequences, KV-cache blocks used / total). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "pivot/scheduler.h"

namespace pivot::serve {

class Metrics {
 public:
  void request(const std::string& endpoint, int status);
  // A finished generation: token counts and the scheduler's timings.
  void completion(const Completion& c);
  std::string render(const SchedulerStats& s, bool ready) const;

 private:
  struct Histogram {
    static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                       0.5,   1,    2.5,   5,    10,  30};
    std::array<uint64_t, kBounds.size()> counts{};  // cumulative at render time
    uint64_t count = 0;
    double sum = 0;
    void observe(double v);
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram ttft_, tpot_;
};

}  // namespace pivot::serve
