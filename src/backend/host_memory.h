// Host memory for host-resident backends (reference, cpu): aligned, uninitialised
// (pages not touched until used, so an oversized KV cache costs no RSS), with a
// running total for memory_info().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pivot/backend.h"

namespace pivot {

class HostMemory {
 public:
  // Throws pivot::Error naming `backend` and the size on failure.
  Buffer allocate(size_t bytes, size_t alignment, const char* backend);
  uint64_t used() const { return used_->load(); }
  MemoryInfo info() const;  // total/free from the OS (sysconf), used from this counter

 private:
  // Shared with the deleters of buffers, which may outlive nothing but must not dangle.
  std::shared_ptr<std::atomic<uint64_t>> used_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace pivot
