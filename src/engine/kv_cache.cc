#include "pivot/kv_cache.h"

#include "pivot/error.h"

namespace pivot {

KvCache::KvCache(Backend& backend, const ModelSpec& spec, int64_t n_ctx) : n_ctx_(n_ctx) {
  if (n_ctx < 1) fail("context size must be >= 1, got %lld", static_cast<long long>(n_ctx));
  bytes_ = spec.kv_cache_bytes(n_ctx);
  buffer_ = backend.allocate(bytes_, MemKind::kDevice);
  const size_t one = bytes_ / 2 / static_cast<size_t>(spec.n_layer);
  auto* base = static_cast<uint8_t*>(buffer_.data());
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    k_.push_back(
        make_tensor(base + (2 * l) * one, GgmlType::F32, spec.head_dim, spec.n_head_kv, n_ctx));
    v_.push_back(
        make_tensor(base + (2 * l + 1) * one, GgmlType::F32, spec.head_dim, spec.n_head_kv, n_ctx));
  }
}

static Tensor rows_of(const Tensor& t, int64_t pos, int64_t n) {
  const int64_t row = t.ne[0] * t.ne[1];
  return make_tensor(static_cast<float*>(t.data) + pos * row, GgmlType::F32, row, n);
}

Tensor KvCache::k_rows(int64_t layer, int64_t pos, int64_t n) const {
  return rows_of(k(layer), pos, n);
}
Tensor KvCache::v_rows(int64_t layer, int64_t pos, int64_t n) const {
  return rows_of(v(layer), pos, n);
}

}  // namespace pivot
