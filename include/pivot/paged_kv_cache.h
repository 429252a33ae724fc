// Paged KV cache shared by all sequences of a batch (the serving engine's KV).
//
// Storage: per layer one K pool and one V pool, F32 {head_dim, n_head_kv,
// block_size, n_blocks}, in the backend's memory. A sequence owns an ordered
// list of blocks (its block table, KvSeq::blocks); its position j lives in
// block blocks[j / block_size], slot j % block_size. Blocks come from one free
// list; a block belongs to at most one sequence. kPagedAttention
// (pivot/backend.h) reads this layout.
//
// Costs: bytes() = 2 · n_layer · n_head_kv · head_dim · block_size · n_blocks · 4.
// Not thread-safe: owned by the engine thread; used()/total() may be read by
// others only through the engine's own snapshots.
#pragma once

#include <cstdint>
#include <vector>

#include "pivot/backend.h"
#include "pivot/model_spec.h"

namespace pivot {

// One sequence's place in a PagedKvCache.
struct KvSeq {
  std::vector<int32_t> blocks;  // block table: pool block of positions [i·bs, (i+1)·bs)
  int64_t n_past = 0;           // positions [0, n_past) hold valid K/V
};

class PagedKvCache {
 public:
  static constexpr int64_t kDefaultBlockSize = 16;  // tokens per block

  // Throws pivot::Error for n_blocks < 1, block_size < 1 or out of memory.
  PagedKvCache(Backend& backend, const ModelSpec& spec, int64_t n_blocks,
               int64_t block_size = kDefaultBlockSize);

  int64_t block_size() const { return block_size_; }
  int64_t total() const { return n_blocks_; }  // blocks in the pool
  int64_t used() const { return n_blocks_ - static_cast<int64_t>(free_.size()); }
  int64_t free() const { return static_cast<int64_t>(free_.size()); }
  uint64_t bytes() const { return bytes_; }
  int64_t blocks_for(int64_t n_tokens) const { return (n_tokens + block_size_ - 1) / block_size_; }

  const Tensor& k(int64_t layer) const { return k_[static_cast<size_t>(layer)]; }
  const Tensor& v(int64_t layer) const { return v_[static_cast<size_t>(layer)]; }

  // Grows seq's block table to cover positions [0, n_tokens). Returns false and
  // takes nothing if the pool has too few free blocks.
  bool reserve(KvSeq& seq, int64_t n_tokens);
  // Returns all of seq's blocks to the pool at once; seq becomes empty.
  void release(KvSeq& seq);

  // Copies K and V rows for positions [pos, pos + n) of `seq` (already reserved)
  // of `layer` from contiguous device tensors' rows (head_dim · n_head_kv floats
  // each, starting at k_src / v_src) into the pools: one device copy per block run.
  void store(Backend& backend, int64_t layer, const KvSeq& seq, int64_t pos, int64_t n,
             const float* k_src, const float* v_src) const;

 private:
  int64_t n_blocks_, block_size_, row_;  // row_: floats per position per layer
  uint64_t bytes_ = 0;
  Buffer buffer_;
  std::vector<Tensor> k_, v_;
  std::vector<int32_t> free_;  // stack of free block ids
};

}  // namespace pivot
