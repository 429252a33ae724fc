// Weight loading shared by architectures: finds a tensor by name, checks its
// type and shape, and places it on the backend (zero-copy into the file mapping
// when the backend is host-visible, else one upload). The architecture calls
// WeightLoader::prepare() (Backend::prepare_weight) itself on matmul weights (not on
// lookup tables).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "pivot/backend.h"
#include "pivot/gguf.h"

namespace pivot {

class WeightLoader {
 public:
  WeightLoader(const GgufFile& file, Backend& backend);

  // The tensor `name` with exactly the dims `ne` (ne[0] first). Throws
  // pivot::Error naming the tensor if it is missing or differs.
  Tensor get(const std::string& name, std::initializer_list<int64_t> ne);
  // Like get(), but a missing tensor gives a Tensor with data == nullptr.
  Tensor get_optional(const std::string& name, std::initializer_list<int64_t> ne);

  // Backend::prepare_weight(t); if the backend moved the weight out of the file
  // mapping (the cpu backend copies weights onto huge pages), the mapping's pages
  // are released, so the process does not hold the weight twice.
  void prepare(Tensor& t);

  // Buffers holding uploaded weights; keep them alive as long as the tensors.
  std::vector<Buffer> take_buffers() { return std::move(buffers_); }

 private:
  const GgufFile& file_;
  Backend& backend_;
  bool host_visible_;
  std::vector<Buffer> buffers_;
};

// One allocation carved into activation tensors, so a forward step allocates
// nothing. Usage: reserve all, then allocate(), then take views.
class Arena {
 public:
  // Adds an F32 (or I32) tensor of the given dims; returns its index.
  size_t add(GgmlType type, int64_t ne0, int64_t ne1 = 1, int64_t ne2 = 1);
  void allocate(Backend& backend);
  const Tensor& operator[](size_t i) const { return tensors_[i]; }

 private:
  std::vector<Tensor> tensors_;
  std::vector<size_t> offsets_;
  size_t bytes_ = 0;
  Buffer buffer_;
};

}  // namespace pivot
