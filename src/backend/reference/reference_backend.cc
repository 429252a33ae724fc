// `reference`: the in-project oracle. Plain loops over host memory, f32 storage,
// f64 accumulation for every reduction (dot products, mean squares, softmax).
// Obviously correct beats fast here; every other backend is tested against it.
#include <cmath>
#include <cstring>
#include <vector>

#include "../host_memory.h"
#include "../op_check.h"
#include "pivot/backend.h"
#include "pivot/error.h"
#include "pivot/quant.h"

namespace pivot {
namespace {

float* f32(const Tensor& t) {
  return static_cast<float*>(t.data);
}
const int32_t* i32(const Tensor& t) {
  return static_cast<const int32_t*>(t.data);
}

// Row r of a (possibly quantized) 2-D tensor, as floats.
void dequant_row(const Tensor& w, int64_t r, float* out) {
  const auto* base = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r) * w.row_bytes();
  dequantize_row(w.type, base, out, w.ne[0]);
}

// Four partial sums only to break the add dependency chain; still f64 throughout.
double dot(const float* a, const float* b, int64_t n) {
  double s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += static_cast<double>(a[i + j]) * b[i + j];
  for (; i < n; ++i) s[0] += static_cast<double>(a[i]) * b[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

void matmul(const OpDesc& op) {
  const Tensor& w = op.src[0];
  const Tensor& x = op.src[1];
  const int64_t K = w.ne[0], N = w.ne[1], M = x.n_rows();
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    dequant_row(w, n, row.data());
    for (int64_t m = 0; m < M; ++m)
      f32(op.dst)[m * N + n] = static_cast<float>(dot(f32(x) + m * K, row.data(), K));
  }
}

void get_rows(const OpDesc& op) {
  const Tensor& table = op.src[0];
  const int64_t K = table.ne[0], M = op.src[1].n_elements();
  for (int64_t m = 0; m < M; ++m) {
    const int32_t id = i32(op.src[1])[m];
    if (id < 0 || id >= table.ne[1])
      fail("reference: get_rows: id %d out of [0, %lld)", id, static_cast<long long>(table.ne[1]));
    dequant_row(table, id, f32(op.dst) + m * K);
  }
}

void rms_norm(const OpDesc& op) {
  const int64_t K = op.src[0].ne[0], M = op.src[0].n_rows();
  for (int64_t m = 0; m < M; ++m) {
    const float* x = f32(op.src[0]) + m * K;
    const double inv = 1.0 / std::sqrt(dot(x, x, K) / K + op.eps);
    for (int64_t k = 0; k < K; ++k)
      f32(op.dst)[m * K + k] = static_cast<float>(x[k] * inv) * f32(op.src[1])[k];
  }
}

void rope(const OpDesc& op) {
  const Tensor& x = op.src[0];
  const int64_t head_dim = x.ne[0], n_head = x.ne[1], M = x.ne[2];
  const int n_rot = op.rope.n_rot, half = n_rot / 2;
  const float* factors = op.src[2].data ? f32(op.src[2]) : nullptr;
  for (int64_t m = 0; m < M; ++m) {
    const double pos = i32(op.src[1])[m];
    for (int64_t h = 0; h < n_head; ++h) {
      const float* in = f32(x) + (m * n_head + h) * head_dim;
      float* out = f32(op.dst) + (m * n_head + h) * head_dim;
      std::vector<float> tmp(in, in + head_dim);  // in may alias out
      for (int i = 0; i < half; ++i) {
        double theta =
            pos * op.rope.freq_scale * std::pow(double(op.rope.freq_base), -2.0 * i / n_rot);
        if (factors) theta /= factors[i];
        const double c = std::cos(theta), s = std::sin(theta);
        const int i0 = op.rope.mode == RopeMode::kNorm ? 2 * i : i;
        const int i1 = op.rope.mode == RopeMode::kNorm ? 2 * i + 1 : i + half;
        out[i0] = static_cast<float>(tmp[i0] * c - tmp[i1] * s);
        out[i1] = static_cast<float>(tmp[i0] * s + tmp[i1] * c);
      }
      for (int64_t d = n_rot; d < head_dim; ++d) out[d] = tmp[d];
    }
  }
}

void attention(const OpDesc& op) {
  const Tensor& q = op.src[0];
  const Tensor& kc = op.src[1];
  const int64_t D = q.ne[0], n_head = q.ne[1], M = q.ne[2], n_kv_head = kc.ne[1];
  const int64_t group = n_head / n_kv_head;
  std::vector<double> score;
  std::vector<double> acc(static_cast<size_t>(D));
  for (int64_t m = 0; m < M; ++m) {
    const int64_t p = op.attn.pos0 + m;  // causal: positions j0 ..= p
    const int64_t j0 = op.attn.window > 0 ? std::max<int64_t>(0, p - op.attn.window + 1) : 0;
    score.assign(static_cast<size_t>(p + 1), 0.0);
    for (int64_t h = 0; h < n_head; ++h) {
      const float* qv = f32(q) + (m * n_head + h) * D;
      const int64_t kvh = h / group;
      double max_s = -INFINITY;
      for (int64_t j = j0; j <= p; ++j) {
        score[j] = op.attn.scale * dot(qv, f32(kc) + (j * n_kv_head + kvh) * D, D);
        max_s = std::max(max_s, score[j]);
      }
      double sum = 0;
      for (int64_t j = j0; j <= p; ++j) sum += score[j] = std::exp(score[j] - max_s);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = j0; j <= p; ++j) {
        const float* vv = f32(op.src[2]) + (j * n_kv_head + kvh) * D;
        for (int64_t d = 0; d < D; ++d) acc[d] += score[j] * vv[d];
      }
      float* out = f32(op.dst) + (m * n_head + h) * D;
      for (int64_t d = 0; d < D; ++d) out[d] = static_cast<float>(acc[d] / sum);
    }
  }
}

// Pool address of position j of the sequence whose table row is `row`.
const float* paged_row(const Tensor& pool, const int32_t* row, int64_t j, int64_t kvh) {
  const int64_t D = pool.ne[0], n_kv = pool.ne[1], bs = pool.ne[2];
  const int64_t slot = row[1 + j / bs] * bs + j % bs;
  return static_cast<const float*>(pool.data) + (slot * n_kv + kvh) * D;
}

void paged_attention(const OpDesc& op) {
  const Tensor& q = op.src[0];
  const int64_t D = q.ne[0], n_head = q.ne[1], M = q.ne[2], n_kv_head = op.src[1].ne[1];
  const int64_t group = n_head / n_kv_head, W = op.src[3].ne[0];
  std::vector<double> score;
  std::vector<double> acc(static_cast<size_t>(D));
  for (int64_t m = 0; m < M; ++m) {
    const int32_t* row = i32(op.src[3]) + m * W;
    check_paged_row(op, m, "reference");
    const int64_t p = row[0];
    const int64_t j0 = op.attn.window > 0 ? std::max<int64_t>(0, p - op.attn.window + 1) : 0;
    score.assign(static_cast<size_t>(p + 1), 0.0);
    for (int64_t h = 0; h < n_head; ++h) {
      const float* qv = f32(q) + (m * n_head + h) * D;
      const int64_t kvh = h / group;
      double max_s = -INFINITY;
      for (int64_t j = j0; j <= p; ++j) {
        score[j] = op.attn.scale * dot(qv, paged_row(op.src[1], row, j, kvh), D);
        max_s = std::max(max_s, score[j]);
      }
      double sum = 0;
      for (int64_t j = j0; j <= p; ++j) sum += score[j] = std::exp(score[j] - max_s);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = j0; j <= p; ++j) {
        const float* vv = paged_row(op.src[2], row, j, kvh);
        for (int64_t d = 0; d < D; ++d) acc[d] += score[j] * vv[d];
      }
      float* out = f32(op.dst) + (m * n_head + h) * D;
      for (int64_t d = 0; d < D; ++d) out[d] = static_cast<float>(acc[d] / sum);
    }
  }
}

void elementwise(const OpDesc& op) {
  const int64_t n = op.dst.n_elements(), nb = op.src[1].n_elements();
  const float* a = f32(op.src[0]);
  const float* b = f32(op.src[1]);
  float* d = f32(op.dst);
  for (int64_t i = 0; i < n; ++i) {
    switch (op.kind) {
      case OpKind::kSiluMul:
        d[i] = static_cast<float>(a[i] / (1.0 + std::exp(-double(a[i])))) * b[i];
        break;
      case OpKind::kGeluMul:
        d[i] = gelu_tanh(a[i]) * b[i];
        break;
      case OpKind::kAdd:
        d[i] = a[i] + b[i % nb];
        break;
      case OpKind::kScale:
        d[i] = a[i] * op.scale;
        break;
      default:
        break;
    }
  }
}

class ReferenceBackend final : public Backend {
 public:
  DeviceProps props() const override {
    DeviceProps p;
    p.name = "reference";
    p.vendor = "pivot";
    p.memory_bytes = mem_.info().total_bytes;
    p.host_visible = true;
    return p;
  }

  Buffer allocate(size_t bytes, MemKind kind) override {
    return mem_.allocate(bytes, 64, "reference", kind == MemKind::kWeight);
  }

  void copy(void* dst, const void* src, size_t bytes, CopyKind) override {
    if (bytes) std::memmove(dst, src, bytes);
  }

  Support supports(const OpDesc& op) const override {
    if (!op_shape_error(op).empty()) return Support::kNo;
    if (op.kind == OpKind::kMatmul || op.kind == OpKind::kGetRows)
      return can_dequantize(op.src[0].type) ? Support::kSlow : Support::kNo;
    return Support::kSlow;
  }

  void execute(const OpDesc& op) override {
    check_op(op, "reference");
    switch (op.kind) {
      case OpKind::kMatmul:
        return matmul(op);
      case OpKind::kGetRows:
        return get_rows(op);
      case OpKind::kRmsNorm:
        return rms_norm(op);
      case OpKind::kRope:
        return rope(op);
      case OpKind::kAttention:
        return attention(op);
      case OpKind::kPagedAttention:
        return paged_attention(op);
      case OpKind::kSiluMul:
      case OpKind::kGeluMul:
      case OpKind::kAdd:
      case OpKind::kScale:
        return elementwise(op);
    }
  }

  void synchronize() override {}
  MemoryInfo memory_info() const override { return mem_.info(); }

 private:
  HostMemory mem_;
};

std::unique_ptr<Backend> make_reference(const BackendOptions&) {
  return std::make_unique<ReferenceBackend>();
}

}  // namespace

PIVOT_REGISTER_BACKEND(reference, "plain loops, f64 accumulation: the oracle", &make_reference);

}  // namespace pivot
