#include "pivot/kv_cache.h"

#include "pivot/error.h"

namespace pivot {

namespace {

int64_t checked(int64_t n_ctx) {
  if (n_ctx < 1) fail("context size must be >= 1, got %lld", static_cast<long long>(n_ctx));
  return n_ctx;
}

Tensor contiguous(const Tensor& pool, int64_t n_ctx) {
  return make_tensor(pool.data, GgmlType::F32, pool.ne[0], pool.ne[1], n_ctx);
}

Tensor rows_of(const Tensor& t, int64_t pos, int64_t n) {
  const int64_t row = t.ne[0] * t.ne[1];
  return make_tensor(static_cast<float*>(t.data) + pos * row, GgmlType::F32, row, n);
}

}  // namespace

KvCache::KvCache(Backend& backend, const ModelSpec& spec, int64_t n_ctx)
    : n_ctx_(checked(n_ctx)),
      paged_(backend, spec,
             (n_ctx + PagedKvCache::kDefaultBlockSize - 1) / PagedKvCache::kDefaultBlockSize) {
  paged_.reserve(seq_, n_ctx);  // a fresh pool hands out blocks 0, 1, 2, ... in order
  for (size_t i = 0; i < seq_.blocks.size(); ++i)
    if (seq_.blocks[i] != static_cast<int32_t>(i)) fail("KV cache: blocks out of order");
}

Tensor KvCache::k(int64_t layer) const {
  return contiguous(paged_.k(layer), n_ctx_);
}
Tensor KvCache::v(int64_t layer) const {
  return contiguous(paged_.v(layer), n_ctx_);
}
Tensor KvCache::k_rows(int64_t layer, int64_t pos, int64_t n) const {
  return rows_of(k(layer), pos, n);
}
Tensor KvCache::v_rows(int64_t layer, int64_t pos, int64_t n) const {
  return rows_of(v(layer), pos, n);
}

}  // namespace pivot
