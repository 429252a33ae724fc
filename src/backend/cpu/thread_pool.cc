// Lock-free job hand-off (thread_pool.h). A worker joins a job by raising
// active_ and then re-reading job_; the caller closes a job by clearing its open
// bit and then waiting for active_ to drain. Both sides use seq_cst, so either
// the worker sees the close (and leaves without touching the job) or the caller
// sees the worker and waits for it: the job's fields are never rewritten under a
// worker that still reads them.
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PIVOT_CPU_RELAX() _mm_pause()
#else
#define PIVOT_CPU_RELAX() std::this_thread::yield()
#endif

namespace pivot::cpu {

namespace {
// Polls before a worker sleeps: long enough (~50-200 us) to bridge the serial
// work between two jobs and between two decode steps, short enough not to burn
// a core for long once the caller has gone quiet.
constexpr int kSpins = 4000;
// Polls before the caller yields while waiting for a task a descheduled worker holds.
constexpr int kCallerSpins = 1 << 12;
constexpr uint64_t kOpen = 1;
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    job_.fetch_add(2);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(int thread) {
  int64_t finished = 0;
  for (int64_t i = next_.fetch_add(1, std::memory_order_relaxed); i < n_tasks_;
       i = next_.fetch_add(1, std::memory_order_relaxed)) {
    thunk_(ctx_, i, thread);
    ++finished;
  }
  if (finished) done_.fetch_add(finished, std::memory_order_release);
}

void ThreadPool::dispatch(int64_t n_tasks, Thunk thunk, void* ctx) {
  // No worker is inside a job here (the previous dispatch drained active_).
  n_tasks_ = n_tasks;
  thunk_ = thunk;
  ctx_ = ctx;
  next_.store(0, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint64_t open = ((job_.load(std::memory_order_relaxed) & ~kOpen) + 2) | kOpen;
  job_.store(open);  // seq_cst: ordered before the sleepers_ read below
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }  // a worker between its check and its wait
    cv_.notify_all();
  }
  work(0);
  for (int spins = 0; done_.load(std::memory_order_acquire) != n_tasks; ++spins)
    if (spins < kCallerSpins)
      PIVOT_CPU_RELAX();
    else
      std::this_thread::yield();
  job_.store(open & ~kOpen);  // closed: workers arriving from now on skip this job
  for (int spins = 0; active_.load() != 0; ++spins)
    if (spins < kCallerSpins)
      PIVOT_CPU_RELAX();
    else
      std::this_thread::yield();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;  // job_'s value at construction: a job (or stop) issued before
  int spins = 0;      // this thread first runs is still seen
  for (;;) {
    uint64_t job = job_.load(std::memory_order_acquire);
    if (job == seen) {
      if (++spins < kSpins) {
        PIVOT_CPU_RELAX();
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);  // seq_cst: the caller reads it after publishing a job
      cv_.wait(lock, [&] { return job_.load() != seen || stop_; });
      sleepers_.fetch_sub(1);
      if (stop_) return;
      spins = 0;
      continue;
    }
    if (stop_) return;
    seen = job;
    if (!(job & kOpen)) continue;
    active_.fetch_add(1);
    if (job_.load() == job) {
      work(index);
      spins = 0;
    }
    active_.fetch_sub(1);
  }
}

}  // namespace pivot::cpu
