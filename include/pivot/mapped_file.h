// A read-only memory mapping of a whole file (POSIX mmap). Move-only; unmaps on
// destruction. Errors: pivot::Error naming the path and the OS reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pivot {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Drops the whole pages inside [p, p + n) from this process's mapping
  // (madvise(MADV_DONTNEED); the mapping is read-only, so a later read maps them
  // again from the file): for bytes a backend has copied and will not read here.
  // Ranges outside the mapping are ignored.
  void release(const void* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pivot
