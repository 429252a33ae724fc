// pivot::Error — the one exception type that crosses a user-reachable boundary.
//
// Library code throws Error with a one-line message that says what is wrong and
// where (file offset, tensor name, JSON field). The CLI and the server catch it
// and turn it into an exit code or an HTTP 4xx; nothing else catches it.
#pragma once

#include <cstdarg>
#include <stdexcept>
#include <string>

namespace pivot {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// printf-style message builder, so call sites stay one line.
std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace pivot
