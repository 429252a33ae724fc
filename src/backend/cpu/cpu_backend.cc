// `cpu`: multithreaded (ThreadPool), SIMD (AVX2 kernels chosen at run time, scalar
// fallback) host backend. Weights stay in the file's blocks and are dequantized
// in small tiles inside the matmul; everything is computed in f32. Scratch
// buffers grow only when a larger shape is first seen, so a steady decode loop
// allocates nothing.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "../host_memory.h"
#include "../op_check.h"
#include "kernels.h"
#include "pivot/backend.h"
#include "pivot/error.h"
#include "pivot/quant.h"
#include "thread_pool.h"

namespace pivot {
namespace {

using cpu::Kernels;
using cpu::ThreadPool;

constexpr int64_t kTileRows = 8;      // weight rows dequantized together (one task)
constexpr int kTileCols = 4;          // activation rows per kernel call
constexpr int64_t kFusedMaxRows = 2;  // up to this many activation rows use RowDot

float* f32(const Tensor& t) {
  return static_cast<float*>(t.data);
}
const int32_t* i32(const Tensor& t) {
  return static_cast<const int32_t*>(t.data);
}

const Kernels& pick_kernels() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu::avx2_kernels())
    return *cpu::avx2_kernels();
#endif
  return cpu::scalar_kernels();
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& o)
      : k_(pick_kernels()),
        pool_(o.n_threads > 0 ? o.n_threads
                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        scratch_(static_cast<size_t>(pool_.size())) {}

  DeviceProps props() const override {
    DeviceProps p;
    p.name = strprintf("cpu (%s, %d threads)", k_.name, pool_.size());
    p.vendor = "pivot";
    p.memory_bytes = mem_.info().total_bytes;
    p.host_visible = true;
    return p;
  }

  Buffer allocate(size_t bytes, MemKind) override { return mem_.allocate(bytes, 64, "cpu"); }

  void copy(void* dst, const void* src, size_t bytes, CopyKind) override {
    if (bytes) std::memmove(dst, src, bytes);
  }

  Support supports(const OpDesc& op) const override {
    if (!op_shape_error(op).empty()) return Support::kNo;
    if (op.kind == OpKind::kMatmul || op.kind == OpKind::kGetRows) {
      if (!can_dequantize(op.src[0].type)) return Support::kNo;
      const bool fast = op.src[0].type == GgmlType::F32 || k_.dequant(op.src[0].type) != nullptr;
      return fast ? Support::kYes : Support::kSlow;
    }
    return Support::kYes;
  }

  void execute(const OpDesc& op) override {
    check_op(op, "cpu");
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
  float* scratch(int thread, size_t n) {
    std::vector<float>& s = scratch_[static_cast<size_t>(thread)];
    if (s.size() < n) s.resize(n);
    return s.data();
  }

  // Weight row `src` (K elements of `type`) as floats: itself for F32, else
  // dequantized into buf.
  const float* weight_row(GgmlType type, const uint8_t* src, int64_t K, float* buf) const {
    if (type == GgmlType::F32) return reinterpret_cast<const float*>(src);
    if (cpu::DequantChunk dq = k_.dequant(type)) {
      const size_t chunk_bytes = ggml_row_bytes(type, cpu::kChunk).value_or(0);
      int64_t i = 0;
      for (; i + cpu::kChunk <= K; i += cpu::kChunk, src += chunk_bytes)
        dq(src, buf + i, cpu::kChunk);
      if (i < K) dq(src, buf + i, K - i);
    } else {
      dequantize_row(type, src, buf, K);
    }
    return buf;
  }

  void matmul(const OpDesc& op) {
    const Tensor& w = op.src[0];
    const float* x = f32(op.src[1]);
    float* y = f32(op.dst);
    const int64_t K = w.ne[0], N = w.ne[1], M = op.src[1].n_rows();
    const size_t row_bytes = w.row_bytes();
    const auto* wd = static_cast<const uint8_t*>(w.data);
    const cpu::RowDot fused = M <= kFusedMaxRows ? k_.row_dot(w.type) : nullptr;
    if (fused) {  // decode: weights streamed once, dequantized in registers
      const int64_t rows_per_task = 16;
      pool_.run((N + rows_per_task - 1) / rows_per_task, [&](int64_t task, int) {
        const int64_t n1 = std::min(N, (task + 1) * rows_per_task);
        for (int64_t n = task * rows_per_task; n < n1; ++n)
          for (int64_t m = 0; m < M; ++m) y[m * N + n] = fused(wd + n * row_bytes, x + m * K, K);
      });
      return;
    }
    for (int t = 0; t < pool_.size(); ++t) scratch(t, static_cast<size_t>(kTileRows * K));
    const int64_t n_tiles = (N + kTileRows - 1) / kTileRows;
    pool_.run(n_tiles, [&](int64_t tile, int thread) {
      float* buf = scratch_[static_cast<size_t>(thread)].data();
      const int64_t n0 = tile * kTileRows, nr = std::min(kTileRows, N - n0);
      const float* rows[kTileRows];
      for (int64_t r = 0; r < nr; ++r)
        rows[r] = weight_row(w.type, wd + (n0 + r) * row_bytes, K, buf + r * K);
      for (int64_t m0 = 0; m0 < M; m0 += kTileCols) {
        const int nx = static_cast<int>(std::min<int64_t>(kTileCols, M - m0));
        for (int64_t r = 0; r < nr; ++r) {
          double acc[kTileCols] = {0, 0, 0, 0};
          k_.dot_rows(rows[r], x + m0 * K, K, K, nx, acc);
          for (int j = 0; j < nx; ++j) y[(m0 + j) * N + n0 + r] = static_cast<float>(acc[j]);
        }
      }
    });
  }

  void get_rows(const OpDesc& op) {
    const Tensor& table = op.src[0];
    const int64_t K = table.ne[0], M = op.src[1].n_elements();
    for (int64_t m = 0; m < M; ++m) {
      const int32_t id = i32(op.src[1])[m];
      if (id < 0 || id >= table.ne[1])
        fail("cpu: get_rows: id %d out of [0, %lld)", id, static_cast<long long>(table.ne[1]));
      const auto* src =
          static_cast<const uint8_t*>(table.data) + static_cast<size_t>(id) * table.row_bytes();
      const float* row = weight_row(table.type, src, K, f32(op.dst) + m * K);
      if (row != f32(op.dst) + m * K)
        std::memcpy(f32(op.dst) + m * K, row, static_cast<size_t>(K) * 4);
    }
  }

  void rms_norm(const OpDesc& op) {
    const int64_t K = op.src[0].ne[0], M = op.src[0].n_rows();
    const float* w = f32(op.src[1]);
    for (int64_t m = 0; m < M; ++m) {
      const float* x = f32(op.src[0]) + m * K;
      float* y = f32(op.dst) + m * K;
      double ss = 0;
      k_.dot_rows(x, x, K, 0, 1, &ss);
      const float inv = static_cast<float>(1.0 / std::sqrt(ss / K + op.eps));
      for (int64_t i = 0; i < K; ++i) y[i] = (x[i] * inv) * w[i];
    }
  }

  void rope(const OpDesc& op) {
    const Tensor& x = op.src[0];
    const int64_t D = x.ne[0], n_head = x.ne[1], M = x.ne[2];
    const int half = op.rope.n_rot / 2;
    const float* factors = op.src[2].data ? f32(op.src[2]) : nullptr;
    float* cs = scratch(0, static_cast<size_t>(2 * half));
    for (int64_t m = 0; m < M; ++m) {
      const double pos = i32(op.src[1])[m];
      for (int i = 0; i < half; ++i) {
        double theta = pos * op.rope.freq_scale *
                       std::pow(double(op.rope.freq_base), -2.0 * i / op.rope.n_rot);
        if (factors) theta /= factors[i];
        cs[2 * i] = static_cast<float>(std::cos(theta));
        cs[2 * i + 1] = static_cast<float>(std::sin(theta));
      }
      const bool norm = op.rope.mode == RopeMode::kNorm;
      for (int64_t h = 0; h < n_head; ++h) {
        const float* in = f32(x) + (m * n_head + h) * D;
        float* out = f32(op.dst) + (m * n_head + h) * D;
        for (int i = 0; i < half; ++i) {
          const int i0 = norm ? 2 * i : i, i1 = norm ? 2 * i + 1 : i + half;
          const float a = in[i0], b = in[i1];
          out[i0] = a * cs[2 * i] - b * cs[2 * i + 1];
          out[i1] = a * cs[2 * i + 1] + b * cs[2 * i];
        }
        if (out != in)
          std::memcpy(out + op.rope.n_rot, in + op.rope.n_rot, (D - op.rope.n_rot) * 4);
      }
    }
  }

  void attention(const OpDesc& op) {
    const Tensor& q = op.src[0];
    const float* kc = f32(op.src[1]);
    const float* vc = f32(op.src[2]);
    const int64_t D = q.ne[0], n_head = q.ne[1], M = q.ne[2], n_kv_head = op.src[1].ne[1];
    const int64_t group = n_head / n_kv_head, n_max = op.attn.pos0 + M;
    for (int t = 0; t < pool_.size(); ++t) scratch(t, static_cast<size_t>(n_max + D));
    pool_.run(M * n_head, [&](int64_t task, int thread) {
      const int64_t m = task / n_head, h = task % n_head, kvh = h / group;
      const int64_t qpos = op.attn.pos0 + m;  // sees j0 ..= qpos
      const int64_t j0 = op.attn.window > 0 ? std::max<int64_t>(0, qpos - op.attn.window + 1) : 0;
      float* score = scratch_[static_cast<size_t>(thread)].data();
      float* acc = score + n_max;
      const float* qv = f32(q) + (m * n_head + h) * D;
      float max_s = -INFINITY;
      for (int64_t j = j0; j <= qpos; ++j) {
        double s = 0;
        k_.dot_rows(qv, kc + (j * n_kv_head + kvh) * D, D, 0, 1, &s);
        score[j] = static_cast<float>(s) * op.attn.scale;
        max_s = std::max(max_s, score[j]);
      }
      double sum = 0;
      for (int64_t j = j0; j <= qpos; ++j) sum += score[j] = std::exp(score[j] - max_s);
      std::fill(acc, acc + D, 0.0f);
      for (int64_t j = j0; j <= qpos; ++j) {
        const float p = score[j];
        const float* vv = vc + (j * n_kv_head + kvh) * D;
        for (int64_t d = 0; d < D; ++d) acc[d] += p * vv[d];
      }
      float* out = f32(op.dst) + (m * n_head + h) * D;
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t d = 0; d < D; ++d) out[d] = acc[d] * inv;
    });
  }

  // As attention(), but each query reads its own sequence's pool blocks.
  void paged_attention(const OpDesc& op) {
    const Tensor& q = op.src[0];
    const Tensor& kp = op.src[1];
    const int64_t D = q.ne[0], n_head = q.ne[1], M = q.ne[2], n_kv_head = kp.ne[1];
    const int64_t bs = kp.ne[2], W = op.src[3].ne[0], group = n_head / n_kv_head;
    const int32_t* table = i32(op.src[3]);
    int64_t n_max = 0;
    for (int64_t m = 0; m < M; ++m) {
      check_paged_row(op, m, "cpu");
      n_max = std::max<int64_t>(n_max, table[m * W] + 1);
    }
    for (int t = 0; t < pool_.size(); ++t) scratch(t, static_cast<size_t>(n_max + D));
    const float* kc = f32(kp);
    const float* vc = f32(op.src[2]);
    pool_.run(M * n_head, [&](int64_t task, int thread) {
      const int64_t m = task / n_head, h = task % n_head, kvh = h / group;
      const int32_t* row = table + m * W;
      const int64_t qpos = row[0];
      const int64_t j0 = op.attn.window > 0 ? std::max<int64_t>(0, qpos - op.attn.window + 1) : 0;
      auto at = [&](const float* pool, int64_t j) {
        return pool + ((row[1 + j / bs] * bs + j % bs) * n_kv_head + kvh) * D;
      };
      float* score = scratch_[static_cast<size_t>(thread)].data();
      float* acc = score + n_max;
      const float* qv = f32(q) + (m * n_head + h) * D;
      float max_s = -INFINITY;
      for (int64_t j = j0; j <= qpos; ++j) {
        double s = 0;
        k_.dot_rows(qv, at(kc, j), D, 0, 1, &s);
        score[j] = static_cast<float>(s) * op.attn.scale;
        max_s = std::max(max_s, score[j]);
      }
      double sum = 0;
      for (int64_t j = j0; j <= qpos; ++j) sum += score[j] = std::exp(score[j] - max_s);
      std::fill(acc, acc + D, 0.0f);
      for (int64_t j = j0; j <= qpos; ++j) {
        const float p = score[j];
        const float* vv = at(vc, j);
        for (int64_t d = 0; d < D; ++d) acc[d] += p * vv[d];
      }
      float* out = f32(op.dst) + (m * n_head + h) * D;
      const float inv = static_cast<float>(1.0 / sum);
      for (int64_t d = 0; d < D; ++d) out[d] = acc[d] * inv;
    });
  }

  void elementwise(const OpDesc& op) {
    const int64_t n = op.dst.n_elements(), nb = op.src[1].n_elements();
    const float* a = f32(op.src[0]);
    const float* b = f32(op.src[1]);
    float* d = f32(op.dst);
    switch (op.kind) {
      case OpKind::kSiluMul:
        for (int64_t i = 0; i < n; ++i) d[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
        break;
      case OpKind::kGeluMul:
        for (int64_t i = 0; i < n; ++i) d[i] = gelu_tanh(a[i]) * b[i];
        break;
      case OpKind::kAdd:
        if (nb == n) {
          for (int64_t i = 0; i < n; ++i) d[i] = a[i] + b[i];
        } else {
          for (int64_t i = 0; i < n; ++i) d[i] = a[i] + b[i % nb];
        }
        break;
      case OpKind::kScale:
        for (int64_t i = 0; i < n; ++i) d[i] = a[i] * op.scale;
        break;
      default:
        break;
    }
  }

  const Kernels& k_;
  ThreadPool pool_;
  std::vector<std::vector<float>> scratch_;  // per thread
  HostMemory mem_;
};

std::unique_ptr<Backend> make_cpu(const BackendOptions& o) {
  return std::make_unique<CpuBackend>(o);
}

}  // namespace

PIVOT_REGISTER_BACKEND(cpu, "multithreaded, SIMD (AVX2 at run time), f32 compute", &make_cpu);

}  // namespace pivot
