#include "op_check.h"

#include <cmath>

#include "pivot/error.h"
#include "pivot/quant.h"

namespace pivot {
namespace {

bool same_shape(const Tensor& a, const Tensor& b) {
  for (int d = 0; d < 4; ++d)
    if (a.ne[d] != b.ne[d]) return false;
  return true;
}

bool is_f32(const Tensor& t) {
  return t.type == GgmlType::F32;
}

bool positive(const Tensor& t) {
  for (int d = 0; d < 4; ++d)
    if (t.ne[d] < 1) return false;
  return true;
}

std::string block_error(const Tensor& w) {
  const auto tr = ggml_type_traits(w.type);
  if (w.ne[0] % tr.block_size != 0)
    return "weight " + w.shape_str() + ": ne[0] is not a multiple of the block size " +
           std::to_string(tr.block_size);
  return {};
}

std::string why(const OpDesc& op) {
  const Tensor& d = op.dst;
  const Tensor& a = op.src[0];
  const Tensor& b = op.src[1];
  const Tensor& c = op.src[2];
  if (!positive(d) || !positive(a)) return "empty or negative dimension";
  switch (op.kind) {
    case OpKind::kMatmul: {
      if (!is_f32(b) || !is_f32(d)) return "x and dst must be F32";
      if (a.ne[2] != 1 || a.ne[3] != 1) return "weight must be 2-D";
      if (b.ne[0] != a.ne[0]) return "x.ne[0] != W.ne[0]";
      if (d.ne[0] != a.ne[1] || d.n_rows() != b.n_rows()) return "dst must be {N, M}";
      return block_error(a);
    }
    case OpKind::kGetRows: {
      if (b.type != GgmlType::I32 || !is_f32(d)) return "ids must be I32 and dst F32";
      if (a.ne[2] != 1 || a.ne[3] != 1) return "table must be 2-D";
      if (d.ne[0] != a.ne[0] || d.n_rows() != b.n_elements()) return "dst must be {K, M}";
      return block_error(a);
    }
    case OpKind::kRmsNorm:
      if (!is_f32(a) || !is_f32(b) || !is_f32(d)) return "all tensors must be F32";
      if (b.n_elements() != a.ne[0]) return "weight must have ne[0] elements";
      if (!same_shape(a, d)) return "dst shape != x shape";
      return {};
    case OpKind::kRope: {
      if (!is_f32(a) || !is_f32(d) || b.type != GgmlType::I32) return "x F32, pos I32";
      if (!same_shape(a, d)) return "dst shape != x shape";
      if (b.n_elements() != a.ne[2] || a.ne[3] != 1) return "pos must have ne[2] of x elements";
      const int n_rot = op.rope.n_rot;
      if (n_rot <= 0 || n_rot % 2 != 0 || n_rot > a.ne[0])
        return "n_rot must be even, in (0, head_dim]";
      if (c.data != nullptr && (!is_f32(c) || c.n_elements() != n_rot / 2))
        return "freq_factors must be F32 {n_rot/2}";
      return {};
    }
    case OpKind::kAttention: {
      if (!is_f32(a) || !is_f32(b) || !is_f32(c) || !is_f32(d)) return "all tensors must be F32";
      if (!same_shape(a, d)) return "dst shape != q shape";
      if (!same_shape(b, c)) return "k and v caches differ in shape";
      if (b.ne[0] != a.ne[0]) return "head_dim of q and cache differ";
      if (b.ne[1] < 1 || a.ne[1] % b.ne[1] != 0) return "n_head must be a multiple of n_head_kv";
      if (op.attn.pos0 < 0 || op.attn.pos0 + a.ne[2] > b.ne[2]) return "pos0 + M exceeds n_ctx";
      if (op.attn.window < 0) return "window must be >= 0";
      if (a.ne[3] != 1 || b.ne[3] != 1) return "4-D tensors are not supported";
      return {};
    }
    case OpKind::kSiluMul:
    case OpKind::kGeluMul:
      if (!is_f32(a) || !is_f32(b) || !is_f32(d)) return "all tensors must be F32";
      if (!same_shape(a, b) || !same_shape(a, d)) return "shapes differ";
      return {};
    case OpKind::kAdd:
      if (!is_f32(a) || !is_f32(b) || !is_f32(d)) return "all tensors must be F32";
      if (!same_shape(a, d)) return "dst shape != a shape";
      if (!same_shape(a, b) && !(b.ne[0] == a.ne[0] && b.n_rows() == 1))
        return "b must be like a or one row";
      return {};
    case OpKind::kScale:
      if (!is_f32(a) || !is_f32(d)) return "all tensors must be F32";
      if (!same_shape(a, d)) return "shapes differ";
      return {};
    case OpKind::kPagedAttention: {
      const Tensor& t = op.src[3];
      if (!is_f32(a) || !is_f32(b) || !is_f32(c) || !is_f32(d)) return "q, pools, dst must be F32";
      if (t.type != GgmlType::I32) return "table must be I32";
      if (!same_shape(a, d) || a.ne[3] != 1) return "dst shape != q shape";
      if (!same_shape(b, c)) return "k and v pools differ in shape";
      if (b.ne[0] != a.ne[0]) return "head_dim of q and pool differ";
      if (b.ne[1] < 1 || a.ne[1] % b.ne[1] != 0) return "n_head must be a multiple of n_head_kv";
      if (t.ne[0] < 2 || t.ne[1] != a.ne[2] || t.ne[2] != 1 || t.ne[3] != 1)
        return "table must be {W >= 2, M}";
      if (op.attn.window < 0) return "window must be >= 0";
      return {};
    }
  }
  return "unknown op";
}

}  // namespace

std::string op_shape_error(const OpDesc& op) {
  return why(op);
}

void check_op(const OpDesc& op, const char* backend) {
  std::string e = why(op);
  if (!e.empty())
    fail("%s: %s (dst %s, src0 %s, src1 %s): %s", backend, std::string(op_name(op.kind)).c_str(),
         op.dst.shape_str().c_str(), op.src[0].shape_str().c_str(), op.src[1].shape_str().c_str(),
         e.c_str());
}

void check_paged_row(const OpDesc& op, int64_t m, const char* backend) {
  const Tensor& pool = op.src[1];
  const int64_t W = op.src[3].ne[0], bs = pool.ne[2];
  const int32_t* row = static_cast<const int32_t*>(op.src[3].data) + m * W;
  const int64_t p = row[0];
  if (p < 0 || 1 + p / bs >= W)
    fail("%s: paged_attention: query %lld at position %lld needs more than the table's %lld blocks",
         backend, static_cast<long long>(m), static_cast<long long>(p),
         static_cast<long long>(W - 1));
  for (int64_t b = 0; b <= p / bs; ++b)
    if (row[1 + b] < 0 || row[1 + b] >= pool.ne[3])
      fail("%s: paged_attention: block id %d out of [0, %lld)", backend, row[1 + b],
           static_cast<long long>(pool.ne[3]));
}

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x)));
}

}  // namespace pivot
