#include "pivot/paged_kv_cache.h"

#include <algorithm>

#include "pivot/error.h"

namespace pivot {

PagedKvCache::PagedKvCache(Backend& backend, const ModelSpec& spec, int64_t n_blocks,
                           int64_t block_size)
    : n_blocks_(n_blocks), block_size_(block_size), row_(spec.head_dim * spec.n_head_kv) {
  if (n_blocks < 1 || block_size < 1)
    fail("paged KV cache: need >= 1 block of >= 1 token, got %lld blocks of %lld",
         static_cast<long long>(n_blocks), static_cast<long long>(block_size));
  const uint64_t one = static_cast<uint64_t>(row_ * block_size * n_blocks) * sizeof(float);
  bytes_ = 2 * one * static_cast<uint64_t>(spec.n_layer);
  buffer_ = backend.allocate(bytes_, MemKind::kDevice);
  auto* base = static_cast<uint8_t*>(buffer_.data());
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    k_.push_back(make_tensor(base + (2 * l) * one, GgmlType::F32, spec.head_dim, spec.n_head_kv,
                             block_size, n_blocks));
    v_.push_back(make_tensor(base + (2 * l + 1) * one, GgmlType::F32, spec.head_dim, spec.n_head_kv,
                             block_size, n_blocks));
  }
  free_.resize(static_cast<size_t>(n_blocks));
  for (int64_t i = 0; i < n_blocks; ++i)  // pop_back hands out block 0 first
    free_[static_cast<size_t>(i)] = static_cast<int32_t>(n_blocks - 1 - i);
}

bool PagedKvCache::reserve(KvSeq& seq, int64_t n_tokens) {
  const int64_t need = blocks_for(n_tokens) - static_cast<int64_t>(seq.blocks.size());
  if (need <= 0) return true;
  if (need > free()) return false;
  for (int64_t i = 0; i < need; ++i) {
    seq.blocks.push_back(free_.back());
    free_.pop_back();
  }
  return true;
}

void PagedKvCache::release(KvSeq& seq) {
  for (auto it = seq.blocks.rbegin(); it != seq.blocks.rend(); ++it) free_.push_back(*it);
  seq.blocks.clear();
  seq.n_past = 0;
}

void PagedKvCache::store(Backend& backend, int64_t layer, const KvSeq& seq, int64_t pos, int64_t n,
                         const float* k_src, const float* v_src) const {
  if (pos < 0 || pos + n > static_cast<int64_t>(seq.blocks.size()) * block_size_)
    fail("paged KV cache: positions [%lld, %lld) are beyond the sequence's %zu blocks",
         static_cast<long long>(pos), static_cast<long long>(pos + n), seq.blocks.size());
  auto* kp = static_cast<float*>(k(layer).data);
  auto* vp = static_cast<float*>(v(layer).data);
  for (int64_t j = pos; j < pos + n;) {
    const int64_t slot = j % block_size_, run = std::min(block_size_ - slot, pos + n - j);
    const int64_t dst =
        (seq.blocks[static_cast<size_t>(j / block_size_)] * block_size_ + slot) * row_;
    const int64_t src = (j - pos) * row_;
    const size_t bytes = static_cast<size_t>(run * row_) * sizeof(float);
    backend.copy(kp + dst, k_src + src, bytes, CopyKind::kDeviceToDevice);
    backend.copy(vp + dst, v_src + src, bytes, CopyKind::kDeviceToDevice);
    j += run;
  }
}

}  // namespace pivot
