// One-line wrappers over Backend::execute, so an architecture reads as its math.
// Shapes and dtypes: see OpKind in pivot/backend.h.
#pragma once

#include "pivot/backend.h"

namespace pivot::ops {

// First `n` rows of a tensor whose rows are ne[0] elements; the rest as dims.
inline Tensor rows(const Tensor& t, int64_t first, int64_t n) {
  Tensor r = make_tensor(static_cast<uint8_t*>(t.data) + first * t.row_bytes(), t.type, t.ne[0], n);
  return r;
}

// Reinterprets a contiguous tensor with new dims (same element count).
inline Tensor view(const Tensor& t, int64_t ne0, int64_t ne1, int64_t ne2 = 1) {
  return make_tensor(t.data, t.type, ne0, ne1, ne2);
}

inline void matmul(Backend& b, const Tensor& dst, const Tensor& w, const Tensor& x) {
  OpDesc op;
  op.kind = OpKind::kMatmul;
  op.dst = dst;
  op.src[0] = w;
  op.src[1] = x;
  b.execute(op);
}

inline void get_rows(Backend& b, const Tensor& dst, const Tensor& table, const Tensor& ids) {
  OpDesc op;
  op.kind = OpKind::kGetRows;
  op.dst = dst;
  op.src[0] = table;
  op.src[1] = ids;
  b.execute(op);
}

inline void rms_norm(Backend& b, const Tensor& dst, const Tensor& x, const Tensor& w, float eps) {
  OpDesc op;
  op.kind = OpKind::kRmsNorm;
  op.dst = dst;
  op.src[0] = x;
  op.src[1] = w;
  op.eps = eps;
  b.execute(op);
}

inline void rope(Backend& b, const Tensor& x, const Tensor& pos, const Tensor& freq_factors,
                 const RopeParams& p) {
  OpDesc op;
  op.kind = OpKind::kRope;
  op.dst = x;
  op.src[0] = x;
  op.src[1] = pos;
  op.src[2] = freq_factors;
  op.rope = p;
  b.execute(op);
}

inline void attention(Backend& b, const Tensor& dst, const Tensor& q, const Tensor& k_cache,
                      const Tensor& v_cache, float scale, int64_t pos0, int32_t window = 0) {
  OpDesc op;
  op.kind = OpKind::kAttention;
  op.dst = dst;
  op.src[0] = q;
  op.src[1] = k_cache;
  op.src[2] = v_cache;
  op.attn.scale = scale;
  op.attn.pos0 = static_cast<int32_t>(pos0);
  op.attn.window = window;
  b.execute(op);
}

// Attention of tokens from many sequences over a paged KV cache; `table` is
// I32 {W, M}, row m = [position, block ids...] (OpKind::kPagedAttention).
inline void paged_attention(Backend& b, const Tensor& dst, const Tensor& q, const Tensor& k_pool,
                            const Tensor& v_pool, const Tensor& table, float scale,
                            int32_t window = 0) {
  OpDesc op;
  op.kind = OpKind::kPagedAttention;
  op.dst = dst;
  op.src[0] = q;
  op.src[1] = k_pool;
  op.src[2] = v_pool;
  op.src[3] = table;
  op.attn.scale = scale;
  op.attn.window = window;
  b.execute(op);
}

inline void binary(Backend& b, OpKind kind, const Tensor& dst, const Tensor& a, const Tensor& c) {
  OpDesc op;
  op.kind = kind;
  op.dst = dst;
  op.src[0] = a;
  op.src[1] = c;
  b.execute(op);
}

inline void add(Backend& b, const Tensor& dst, const Tensor& a, const Tensor& c) {
  binary(b, OpKind::kAdd, dst, a, c);
}
inline void silu_mul(Backend& b, const Tensor& dst, const Tensor& a, const Tensor& c) {
  binary(b, OpKind::kSiluMul, dst, a, c);
}
inline void gelu_mul(Backend& b, const Tensor& dst, const Tensor& a, const Tensor& c) {
  binary(b, OpKind::kGeluMul, dst, a, c);
}
inline void scale(Backend& b, const Tensor& dst, const Tensor& a, float s) {
  OpDesc op;
  op.kind = OpKind::kScale;
  op.dst = dst;
  op.src[0] = a;
  op.scale = s;
  b.execute(op);
}

}  // namespace pivot::ops
