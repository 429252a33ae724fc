// Single-sequence KV cache (`pivot run`, `chat`, `logits`, `bench`): a
// PagedKvCache (pivot/paged_kv_cache.h) holding exactly one sequence whose
// blocks cover n_ctx positions, so Model::forward is forward_batch with one
// chunk. The sequence owns blocks 0, 1, 2, ... in order, so its positions are
// also contiguous: k(l) / v(l) view layer l's pool as F32
// {head_dim, n_head_kv, n_ctx}, position p at row p.
// Owned by the engine; one sequence at a time; not thread-safe.
#pragma once

#include <cstdint>

#include "pivot/backend.h"
#include "pivot/model_spec.h"
#include "pivot/paged_kv_cache.h"

namespace pivot {

class KvCache {
 public:
  // Throws pivot::Error if n_ctx < 1 or the backend is out of memory.
  KvCache(Backend& backend, const ModelSpec& spec, int64_t n_ctx);

  int64_t n_ctx() const { return n_ctx_; }
  uint64_t bytes() const { return paged_.bytes(); }
  Tensor k(int64_t layer) const;
  Tensor v(int64_t layer) const;
  // View of k(layer) / v(layer) rows [pos, pos + n): {head_dim * n_head_kv, n}.
  Tensor k_rows(int64_t layer, int64_t pos, int64_t n) const;
  Tensor v_rows(int64_t layer, int64_t pos, int64_t n) const;

  PagedKvCache& paged() { return paged_; }
  KvSeq& seq() { return seq_; }  // its n_past is synced from n_past by Model::forward

  // Positions [0, n_past) hold valid entries; the engine advances it.
  int64_t n_past = 0;

 private:
  int64_t n_ctx_;
  PagedKvCache paged_;
  KvSeq seq_;
};

}  // namespace pivot
