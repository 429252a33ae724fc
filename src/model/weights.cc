#include "weights.h"

#include "pivot/error.h"

namespace pivot {

WeightLoader::WeightLoader(const GgufFile& file, Backend& backend)
    : file_(file), backend_(backend), host_visible_(backend.props().host_visible) {}

void WeightLoader::prepare(Tensor& t) {
  const void* before = t.data;
  backend_.prepare_weight(t);
  if (t.data != before) file_.release(before, t.n_bytes());
}

Tensor WeightLoader::get(const std::string& name, std::initializer_list<int64_t> ne) {
  Tensor t = get_optional(name, ne);
  if (!t.data) fail("%s: missing tensor %s", file_.path().c_str(), name.c_str());
  return t;
}

Tensor WeightLoader::get_optional(const std::string& name, std::initializer_list<int64_t> ne) {
  const GgufTensorInfo* info = file_.find_tensor(name);
  if (!info) return Tensor{};
  Tensor t;
  t.type = info->type;
  std::string want, have;
  bool same = true;
  int d = 0;
  for (int64_t n : ne) {
    want += (d ? ", " : "") + std::to_string(n);
    if (d >= 4 || static_cast<int64_t>(info->ne[d]) != n) same = false;
    if (d < 4) t.ne[d] = n;
    ++d;
  }
  for (int e = d; e < 4; ++e)
    if (info->ne[e] != 1) same = false;
  for (uint32_t e = 0; e < info->n_dims; ++e) have += (e ? ", " : "") + std::to_string(info->ne[e]);
  if (!same)
    fail("%s: tensor %s has shape [%s], expected [%s]", file_.path().c_str(), name.c_str(),
         have.c_str(), want.c_str());
  const uint8_t* bytes = file_.tensor_data(*info);
  if (host_visible_) {
    t.data = const_cast<uint8_t*>(bytes);  // read-only: ops never write weights
  } else {
    Buffer b = backend_.allocate(info->n_bytes, MemKind::kWeight);
    backend_.copy(b.data(), bytes, info->n_bytes, CopyKind::kHostToDevice);
    t.data = b.data();
    buffers_.push_back(std::move(b));
  }
  return t;
}

size_t Arena::add(GgmlType type, int64_t ne0, int64_t ne1, int64_t ne2) {
  Tensor t = make_tensor(nullptr, type, ne0, ne1, ne2);
  offsets_.push_back(bytes_);
  bytes_ += (t.n_bytes() + 255) / 256 * 256;
  tensors_.push_back(t);
  return tensors_.size() - 1;
}

void Arena::allocate(Backend& backend) {
  buffer_ = backend.allocate(bytes_, MemKind::kDevice);
  for (size_t i = 0; i < tensors_.size(); ++i)
    tensors_[i].data = static_cast<uint8_t*>(buffer_.data()) + offsets_[i];
}

}  // namespace pivot
