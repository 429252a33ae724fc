// Per-sequence KV cache: for each layer a K and a V tensor, F32
// {head_dim, n_head_kv, n_ctx}, in the backend's memory (uninitialised until
// written). Position p of layer l lives at row p of k(l) / v(l), so the rows of
// positions [p, p + M) are one contiguous {head_dim * n_head_kv, M} block.
// Owned by the engine; one sequence at a time; not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "pivot/backend.h"
#include "pivot/model_spec.h"

namespace pivot {

class KvCache {
 public:
  // Throws pivot::Error if n_ctx < 1 or the backend is out of memory.
  KvCache(Backend& backend, const ModelSpec& spec, int64_t n_ctx);

  int64_t n_ctx() const { return n_ctx_; }
  uint64_t bytes() const { return bytes_; }
  const Tensor& k(int64_t layer) const { return k_[static_cast<size_t>(layer)]; }
  const Tensor& v(int64_t layer) const { return v_[static_cast<size_t>(layer)]; }
  // View of k(layer) / v(layer) rows [pos, pos + n): {head_dim * n_head_kv, n}.
  Tensor k_rows(int64_t layer, int64_t pos, int64_t n) const;
  Tensor v_rows(int64_t layer, int64_t pos, int64_t n) const;

  // Positions [0, n_past) hold valid entries; the engine advances it.
  int64_t n_past = 0;

 private:
  int64_t n_ctx_;
  uint64_t bytes_ = 0;
  Buffer buffer_;
  std::vector<Tensor> k_, v_;
};

}  // namespace pivot
