// What every architecture's forward_batch() does around its layers: check a
// batch of SeqChunks, upload token ids, positions and the kPagedAttention block
// table, write each layer's new K/V rows into the chunks' blocks, pick the rows
// whose logits are wanted, and advance the sequences. Owned by one Model.
#pragma once

#include <span>
#include <vector>

#include "pivot/backend.h"
#include "pivot/model.h"
#include "pivot/paged_kv_cache.h"

namespace pivot {

class BatchInputs {
 public:
  BatchInputs(Backend& backend, int64_t n_batch, int64_t n_vocab)
      : be_(backend), n_batch_(n_batch), n_vocab_(n_vocab) {}

  // Checks the batch (non-empty chunks, ids in [0, n_vocab), blocks covering the
  // new positions, at most n_batch tokens) and uploads ids / positions (I32, into
  // the given device arrays of n_batch entries) and the block table. Returns the
  // token count M. Throws pivot::Error naming what is wrong.
  int64_t prepare(std::span<const SeqChunk> batch, const PagedKvCache& kv, void* ids_dst,
                  void* pos_dst);
  // I32 {W, M}: row m = [position, the token's sequence's blocks...].
  const Tensor& table() const { return table_; }
  // Writes a layer's new K and V rows (F32 {head_dim · n_head_kv, M}, batch
  // order) into each chunk's sequence at its positions.
  void store_kv(PagedKvCache& kv, int64_t layer, const Tensor& k, const Tensor& v) const;
  // Batch rows whose logits are wanted, in output order (kLast: the chunk's last
  // row, kAll: all of them, kNone: none).
  const std::vector<int64_t>& logit_rows() const { return want_; }
  // After the step: every chunk's seq->n_past += its token count.
  void advance() const;

 private:
  Backend& be_;
  int64_t n_batch_, n_vocab_;
  std::span<const SeqChunk> batch_;
  std::vector<int32_t> ids_, pos_, table_host_;
  std::vector<int64_t> want_;
  Buffer table_buffer_;  // grown on demand
  Tensor table_;
};

}  // namespace pivot
