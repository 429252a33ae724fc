// Helpers shared by unit tests: a byte-level GGUF writer (to build valid and
// malformed files field by field), token-id formatting for failure messages, the
// message of the pivot::Error a call throws, and the path of a downloaded model.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "pivot/error.h"

namespace pivot::test {

// Appends little-endian GGUF fields to `b`.
struct GgufWriter {
  std::vector<uint8_t> b;
  template <typename T>
  GgufWriter& put(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  // GGUF string: u64 length + bytes.
  GgufWriter& str(const std::string& s) {
    put<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  void pad(uint64_t alignment) {
    while (b.size() % alignment) b.push_back(0);
  }
};

// " 1 2 3": ids as llama.cpp's .out files and gtest messages show them.
inline std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    s += ' ';
    s += std::to_string(id);
  }
  return s;
}

// The message of the pivot::Error `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Where scripts/get-models.sh caches model `file` (it may not exist).
inline std::string cached_model(const std::string& file) {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/pivot/models/" + file;
}

}  // namespace pivot::test
