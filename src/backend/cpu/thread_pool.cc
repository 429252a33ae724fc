#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PIVOT_CPU_RELAX() _mm_pause()
#else
#define PIVOT_CPU_RELAX() std::this_thread::yield()
#endif

namespace pivot::cpu {

namespace {
constexpr int kSpins = 4000;  // ~10-40 us of polling before sleeping or yielding
}

ThreadPool::ThreadPool(int n_threads) {
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::work(int thread) {
  for (int64_t i = next_.fetch_add(1); i < n_tasks_; i = next_.fetch_add(1)) {
    thunk_(ctx_, i, thread);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::dispatch(int64_t n_tasks, Thunk thunk, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    n_tasks_ = n_tasks;
    thunk_ = thunk;
    ctx_ = ctx;
    next_ = 0;
    done_ = 0;
    open_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  work(0);
  for (int spins = 0; done_.load(std::memory_order_acquire) != n_tasks; ++spins)
    if (spins < kSpins)
      PIVOT_CPU_RELAX();
    else
      std::this_thread::yield();
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;  // workers arriving from now on skip this job
  }
  // Workers that joined have no task left; wait for them to leave the job state.
  while (active_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < kSpins) {
      PIVOT_CPU_RELAX();
      ++spins;
    }
    bool join = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      if (stop_) return;
      join = open_;
      if (join) active_.fetch_add(1);
    }
    if (!join) continue;
    work(index);
    active_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace pivot::cpu
