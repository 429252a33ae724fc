// A small fixed thread pool for the cpu backend: run(n, fn) calls fn(i) for
// i in [0, n) on the workers and the calling thread, and returns when all are
// done. Tasks are claimed from a shared counter, so the caller never waits for a
// worker the OS has not scheduled (machines are often oversubscribed): late
// workers find no task left. A job is published with one atomic store and closed
// with another (no lock on the hot path: decode issues hundreds of jobs per
// token); workers spin briefly between jobs, then sleep on a condition variable,
// and only then does the caller pay for a wake-up. One caller at a time; fn must
// not throw.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace pivot::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads >= 1, including the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // fn(task, thread) for task in [0, n_tasks); thread in [0, size()).
  template <typename F>
  void run(int64_t n_tasks, F&& fn) {
    if (n_tasks <= 0) return;
    if (workers_.empty() || n_tasks == 1) {
      for (int64_t i = 0; i < n_tasks; ++i) fn(i, 0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    auto call = [](void* ctx, int64_t i, int t) { (*static_cast<Fn*>(ctx))(i, t); };
    dispatch(n_tasks, call, &fn);
  }

 private:
  using Thunk = void (*)(void*, int64_t, int);
  void dispatch(int64_t n_tasks, Thunk thunk, void* ctx);
  void worker(int index);
  void work(int thread);

  std::vector<std::thread> workers_;
  // job_ = 2 * generation + open: workers join a job only while its open bit is
  // set, and the caller closes it before it reuses the fields below.
  alignas(64) std::atomic<uint64_t> job_{0};
  std::atomic<int> active_{0};    // workers inside the current job
  std::atomic<int> sleepers_{0};  // workers blocked (or about to block) on cv_
  std::atomic<bool> stop_{false};
  int64_t n_tasks_ = 0;
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<int64_t> next_{0};  // next task to claim
  alignas(64) std::atomic<int64_t> done_{0};  // tasks finished in the current job
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace pivot::cpu
