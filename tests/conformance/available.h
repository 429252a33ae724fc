// Backends that cannot start on this machine (`cuda` without a GPU) are skipped by
// the conformance tests, with the reason printed, rather than failing them.
#pragma once

#include <iostream>
#include <memory>
#include <string>

#include "pivot/backend.h"

namespace pivot {

// The backend `name`, or nullptr (reason in *why and on stderr) if it cannot start.
inline std::unique_ptr<Backend> available_backend(const std::string& name,
                                                  std::string* why = nullptr,
                                                  const BackendOptions& opts = {}) {
  try {
    return create_backend(name, opts);
  } catch (const std::exception& e) {
    // Not "[  SKIPPED ]": ctest would mark the whole test skipped (hiding its checks on
    // the backends that did run) because gtest_discover_tests matches that text.
    std::cerr << "note: backend " << name << " unavailable here, not checked: " << e.what() << "\n";
    if (why) *why = e.what();
    return nullptr;
  }
}

}  // namespace pivot
