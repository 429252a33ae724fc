#include "batch.h"

#include <algorithm>

#include "pivot/error.h"

namespace pivot {

int64_t BatchInputs::prepare(std::span<const SeqChunk> batch, const PagedKvCache& kv, void* ids_dst,
                             void* pos_dst) {
  int64_t m = 0;
  size_t max_blocks = 0;
  for (const SeqChunk& c : batch) {
    const int64_t n = static_cast<int64_t>(c.tokens.size());
    if (n == 0 || !c.seq) fail("forward_batch: empty chunk");
    if (c.seq->n_past + n > static_cast<int64_t>(c.seq->blocks.size()) * kv.block_size())
      fail(
          "forward_batch: %lld positions in use + %lld new tokens exceed the sequence's %zu "
          "KV blocks",
          static_cast<long long>(c.seq->n_past), static_cast<long long>(n), c.seq->blocks.size());
    for (TokenId t : c.tokens)
      if (t < 0 || t >= n_vocab_)
        fail("token id %d out of range [0, %lld)", t, static_cast<long long>(n_vocab_));
    m += n;
    max_blocks = std::max(max_blocks, c.seq->blocks.size());
  }
  if (m == 0) fail("forward_batch: no tokens");
  if (m > n_batch_)
    fail("forward_batch: %lld tokens exceed the batch size %lld", static_cast<long long>(m),
         static_cast<long long>(n_batch_));
  batch_ = batch;
  const size_t W = 1 + max_blocks;
  ids_.clear();
  pos_.clear();
  want_.clear();
  table_host_.assign(W * static_cast<size_t>(m), 0);
  for (const SeqChunk& c : batch) {
    const int64_t first = static_cast<int64_t>(ids_.size()),
                  n = static_cast<int64_t>(c.tokens.size());
    for (int64_t j = 0; j < n; ++j) {
      const size_t i = ids_.size();
      ids_.push_back(c.tokens[static_cast<size_t>(j)]);
      pos_.push_back(static_cast<int32_t>(c.seq->n_past + j));
      table_host_[i * W] = pos_.back();
      std::copy(c.seq->blocks.begin(), c.seq->blocks.end(), table_host_.begin() + i * W + 1);
    }
    if (c.which == Logits::kAll)
      for (int64_t j = 0; j < n; ++j) want_.push_back(first + j);
    else if (c.which == Logits::kLast)
      want_.push_back(first + n - 1);
  }
  const size_t table_bytes = table_host_.size() * 4;
  if (table_buffer_.bytes() < table_bytes)
    table_buffer_ =
        be_.allocate(std::max(table_bytes, 2 * table_buffer_.bytes()), MemKind::kDevice);
  table_ = make_tensor(table_buffer_.data(), GgmlType::I32, static_cast<int64_t>(W), m);
  be_.copy(ids_dst, ids_.data(), static_cast<size_t>(m) * 4, CopyKind::kHostToDevice);
  be_.copy(pos_dst, pos_.data(), static_cast<size_t>(m) * 4, CopyKind::kHostToDevice);
  be_.copy(table_.data, table_host_.data(), table_bytes, CopyKind::kHostToDevice);
  return m;
}

void BatchInputs::store_kv(PagedKvCache& kv, int64_t layer, const Tensor& k,
                           const Tensor& v) const {
  int64_t row = 0;
  for (const SeqChunk& c : batch_) {
    const int64_t n = static_cast<int64_t>(c.tokens.size());
    kv.store(be_, layer, *c.seq, c.seq->n_past, n,
             static_cast<const float*>(k.data) + row * k.ne[0],
             static_cast<const float*>(v.data) + row * v.ne[0]);
    row += n;
  }
}

void BatchInputs::advance() const {
  for (const SeqChunk& c : batch_) c.seq->n_past += static_cast<int64_t>(c.tokens.size());
}

}  // namespace pivot
