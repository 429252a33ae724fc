#include "host_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "pivot/error.h"

namespace pivot {

Buffer HostMemory::allocate(size_t bytes, size_t alignment, const char* backend, bool huge) {
  constexpr size_t kHuge = size_t{2} << 20;
  huge = huge && bytes >= kHuge;
  if (huge) alignment = kHuge;
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* p = rounded ? std::aligned_alloc(alignment, rounded) : nullptr;
  if (rounded && !p) fail("%s: out of memory allocating %zu bytes", backend, bytes);
#ifdef MADV_HUGEPAGE
  if (huge) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure leaves 4 KiB pages
#endif
  *used_ += rounded;
  auto used = used_;
  return Buffer(p, bytes, [used, rounded](void* q) {
    std::free(q);
    *used -= rounded;
  });
}

namespace {

// Linux's MemAvailable (free plus reclaimable page cache, /proc/meminfo) in bytes,
// 0 where it cannot be read.
uint64_t mem_available() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  unsigned long long kib = 0;
  while (std::getline(f, line))
    if (std::sscanf(line.c_str(), "MemAvailable: %llu kB", &kib) == 1) return kib * 1024;
  return 0;
}

}  // namespace

MemoryInfo HostMemory::info() const {
  MemoryInfo m;
  const long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) m.total_bytes = static_cast<uint64_t>(pages) * page;
  // Free memory counts the page cache the kernel would give back (a model file just
  // read fills it); without /proc/meminfo, the free pages alone.
  m.free_bytes = mem_available();
  if (m.free_bytes == 0 && avail > 0 && page > 0)
    m.free_bytes = static_cast<uint64_t>(avail) * page;
  m.used_bytes = used();
  return m;
}

}  // namespace pivot
