// Backend registration table and the Tensor helpers of pivot/backend.h.
#include "pivot/backend.h"

#include <algorithm>
#include <map>

#include "pivot/error.h"

namespace pivot {
namespace {

struct Entry {
  std::string description;
  BackendFactory factory;
};

// The registration table: written only during static initialisation.
std::map<std::string, Entry, std::less<>>& table() {
  static std::map<std::string, Entry, std::less<>> t;
  return t;
}

}  // namespace

BackendRegistration::BackendRegistration(const char* name, const char* description,
                                         BackendFactory factory) {
  table()[name] = Entry{description, factory};
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const auto& [name, e] : table()) names.push_back(name);
  return names;
}

std::unique_ptr<Backend> create_backend(std::string_view name, const BackendOptions& opts) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown backend '%.*s' (this build has: %s)", static_cast<int>(name.size()), name.data(),
         known.c_str());
  }
  return it->second.factory(opts);
}

size_t Tensor::row_bytes() const {
  auto b = ggml_row_bytes(type, static_cast<uint64_t>(ne[0]));
  if (!b)
    fail("tensor %s: row of %lld elements is not a whole number of blocks", shape_str().c_str(),
         static_cast<long long>(ne[0]));
  return static_cast<size_t>(*b);
}

std::string Tensor::shape_str() const {
  int nd = 4;
  while (nd > 1 && ne[nd - 1] == 1) --nd;
  std::string s = ggml_type_name(static_cast<uint32_t>(type)) + "[";
  for (int d = 0; d < nd; ++d) s += (d ? ", " : "") + std::to_string(ne[d]);
  return s + "]";
}

Tensor make_tensor(void* data, GgmlType type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
  Tensor t;
  t.data = data;
  t.type = type;
  t.ne[0] = ne0;
  t.ne[1] = ne1;
  t.ne[2] = ne2;
  t.ne[3] = ne3;
  return t;
}

std::string_view op_name(OpKind op) {
  switch (op) {
    case OpKind::kMatmul:
      return "matmul";
    case OpKind::kGetRows:
      return "get_rows";
    case OpKind::kRmsNorm:
      return "rms_norm";
    case OpKind::kRope:
      return "rope";
    case OpKind::kAttention:
      return "attention";
    case OpKind::kSiluMul:
      return "silu_mul";
    case OpKind::kGeluMul:
      return "gelu_mul";
    case OpKind::kAdd:
      return "add";
    case OpKind::kScale:
      return "scale";
    case OpKind::kPagedAttention:
      return "paged_attention";
  }
  return "unknown";
}

}  // namespace pivot
