// `cpu`: multithreaded (ThreadPool), SIMD (AVX2 kernels chosen at run time, scalar
// fallback) host backend. Weights keep the file's blocks (copied at load onto huge
// pages; Q4_0 / Q4_1 repacked 8 rows at a time for the Q8 decode kernels and F16
// into the GEMM's 16-row strips, see prepare_weight) and are dequantized in small
// tiles inside the prefill matmul or meet 8-bit activations in integer dot
// products at decode (kernels.h). Scratch buffers grow only when a larger shape is
// first seen, so a steady decode loop allocates nothing.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../host_memory.h"
#include "../op_check.h"
#include "attention_cpu.h"
#include "decode_attention.h"
#include "f16_strips.h"
#include "gemm.h"
#include "kernels.h"
#include "pivot/backend.h"
#include "pivot/error.h"
#include "pivot/quant.h"
#include "repack_x8.h"
#include "thread_pool.h"

namespace pivot {
namespace {

using cpu::Kernels;
using cpu::ThreadPool;

constexpr int64_t kFusedMaxRows = 8;  // up to this many activation rows use RowDot
constexpr int64_t kAttnRows = 48;     // prefill attention: query rows (queries x group) per task
// Elementwise ops, norms and RoPE go over the threads in chunks of about this many
// floats, and only when there are at least two chunks (prefill, not decode).
constexpr int64_t kParallelFloats = 8192;

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

const cpu::GemmKernels& pick_gemm(const Kernels& k) {
  if (k.name == std::string_view("avx2") && cpu::gemm_kernels_avx2())
    return *cpu::gemm_kernels_avx2();
  return cpu::gemm_kernels_scalar();
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& o)
      : k_(pick_kernels()),
        gemm_(pick_gemm(k_)),
        pool_(o.n_threads > 0 ? o.n_threads
                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        scratch_(static_cast<size_t>(pool_.size())),
        key_rows_(static_cast<size_t>(pool_.size())),
        decode_(pool_.size()),
        q8_(o.activations == ActivationType::kQ8) {}

  DeviceProps props() const override {
    DeviceProps p;
    p.name = strprintf("cpu (%s, %d threads)", k_.name, pool_.size());
    p.vendor = "pivot";
    p.memory_bytes = mem_.info().total_bytes;
    p.host_visible = true;
    return p;
  }

  Buffer allocate(size_t bytes, MemKind kind) override {
    return mem_.allocate(bytes, 64, "cpu", kind == MemKind::kWeight);
  }

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

  // Each matmul weight of at least 2 MiB moves into a buffer this backend owns until
  // it is destroyed, on transparent huge pages (host_memory.h; the file mapping has 4
  // KiB pages): decode streams every weight once per token, and the GEMM packer reads
  // 16 rows at a time, often each in its own 4 KiB page. Any size is repacked where
  // the kernel set has a kernel for the layout: with Q8 activations Q4_0 / Q4_1 into
  // the x8 layout (repack_x8.h), F16 into strips (f16_strips.h). Skipped while free
  // memory is under twice the weight's size (the file's pages stay usable as they are).
  void prepare_weight(Tensor& w) override {
    if (w.n_rows() == 0 || owned_.count(w.data)) return;
    Layout layout = Layout::kGguf;
    if (q8_ && k_.row_dot_q8_x8 && k_.row_dot_q8_x8(w.type) && w.ne[0] % 32 == 0 &&
        w.n_rows() % cpu::kX8Rows == 0)
      layout = Layout::kX8;
    if (w.type == GgmlType::F16 && k_.f16_strip_dot && w.n_rows() % cpu::kF16StripRows == 0)
      layout = Layout::kF16Strips;
    const size_t bytes = w.n_bytes();
    if ((layout == Layout::kGguf && bytes < (size_t{2} << 20)) ||
        mem_.info().free_bytes < 2 * bytes)
      return;
    Buffer b = allocate(bytes, MemKind::kWeight);
    const auto* src = static_cast<const uint8_t*>(w.data);
    auto* dst = static_cast<uint8_t*>(b.data());
    const size_t rb = w.row_bytes();
    const int64_t rows = w.n_rows(), per_task = 512;  // a multiple of kX8Rows, kF16StripRows
    pool_.run((rows + per_task - 1) / per_task, [&](int64_t t, int) {
      const int64_t r0 = t * per_task, r1 = std::min(rows, r0 + per_task);
      if (layout == Layout::kX8)
        cpu::repack_x8(w.type, src + r0 * rb, rb, r1 - r0, dst + r0 * rb);
      else if (layout == Layout::kF16Strips)
        cpu::repack_f16_strips(reinterpret_cast<const uint16_t*>(src + r0 * rb), w.ne[0], r1 - r0,
                               reinterpret_cast<uint16_t*>(dst + r0 * rb));
      else
        std::memcpy(dst + r0 * rb, src + r0 * rb, (r1 - r0) * rb);
    });
    w.data = dst;
    owned_[dst] = layout;
    packed_.push_back(std::move(b));
  }

 private:
  // How prepare_weight left a weight (kGguf: GGUF rows, also for any weight it did
  // not see).
  enum class Layout { kGguf, kX8, kF16Strips };
  Layout layout(const void* data) const {
    const auto it = owned_.find(data);
    return it == owned_.end() ? Layout::kGguf : it->second;
  }

  // Weight rows per decode matmul task: about 8 tasks per thread (each costs a claim on
  // the pool's shared counter; the LM head has 49152-262144 rows), at least 16.
  int64_t decode_rows_per_task(int64_t N) const {
    return std::max<int64_t>(16, N / (8 * pool_.size()) / 16 * 16);
  }

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
    const Layout lay = layout(w.data);
    const bool x8 = lay == Layout::kX8;                       // (then q8_)
    if (lay == Layout::kF16Strips && M <= kFusedMaxRows) {    // decode, 16 rows per stream
      const int64_t rows_per_task = decode_rows_per_task(N);  // a multiple of 16
      pool_.run((N + rows_per_task - 1) / rows_per_task, [&](int64_t task, int) {
        const int64_t n0 = task * rows_per_task, n1 = std::min(N, n0 + rows_per_task);
        k_.f16_strip_dot(reinterpret_cast<const uint16_t*>(wd + n0 * row_bytes), n1 - n0, x, K,
                         static_cast<int>(M), K, y + n0, N);
      });
      return;
    }
    const cpu::RowDotQ8 fused_q8 = M > kFusedMaxRows || !q8_ ? nullptr
                                   : x8                      ? k_.row_dot_q8_x8(w.type)
                                                             : k_.row_dot_q8(w.type);
    if (fused_q8) {  // decode, kQ8: activations quantized once, integer dot products
      const int64_t nb = K / 32;
      float* buf = scratch(0, static_cast<size_t>(M * (K / 4 + 2 * nb)));
      const cpu::Q8Rows xq{reinterpret_cast<const int8_t*>(buf + 2 * M * nb), K, buf, buf + M * nb,
                           nb};
      for (int64_t m = 0; m < M; ++m)
        k_.quantize_q8(x + m * K, K, const_cast<int8_t*>(xq.q) + m * K, buf + m * nb,
                       buf + M * nb + m * nb);
      const int64_t rows_per_task = decode_rows_per_task(N);
      pool_.run((N + rows_per_task - 1) / rows_per_task, [&](int64_t task, int) {
        const int64_t n0 = task * rows_per_task, n1 = std::min(N, n0 + rows_per_task);
        fused_q8(wd + n0 * row_bytes, row_bytes, n1 - n0, xq, static_cast<int>(M), K, y + n0, N);
      });
      return;
    }
    const cpu::RowDot fused = M <= kFusedMaxRows ? k_.row_dot(w.type) : nullptr;
    if (fused) {  // decode: weights streamed once, dequantized in registers
      float* xs = scratch(0, static_cast<size_t>(M * (K / 32)));
      cpu::block_sums_32(x, K, M, K, xs);
      const int64_t rows_per_task = decode_rows_per_task(N);
      pool_.run((N + rows_per_task - 1) / rows_per_task, [&](int64_t task, int) {
        const int64_t n1 = std::min(N, (task + 1) * rows_per_task);
        for (int64_t n = task * rows_per_task; n < n1; ++n)
          fused(wd + n * row_bytes, x, K, static_cast<int>(M), K, y + n, N, xs, K / 32);
      });
      return;
    }
    // kQ8 with a Q8 kernel for this type: the prefill GEMM sees the same Q8-rounded
    // activations (q * d) as the decode kernels, so a token's result does not
    // depend on how many rows share its step (serve's batches, chunked prefill).
    prefill_matmul(w, x, M, y, q8_ && k_.row_dot_q8(w.type) != nullptr, lay);
  }

  // Rows x[0 .. n) of K floats rounded to the Q8 grid of kernels.h (x' = q · d per
  // block of 32) into out; buf holds K / 4 + 2 K / 32 floats.
  void q8_rounded(const float* x, int64_t n, int64_t K, float* out, float* buf) const {
    const int64_t nb = K / 32;
    auto* q = reinterpret_cast<int8_t*>(buf + 2 * nb);
    for (int64_t m = 0; m < n; ++m, x += K, out += K) {
      k_.quantize_q8(x, K, q, buf, buf + nb);
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t i = 32 * b; i < 32 * b + 32; ++i) out[i] = static_cast<float>(q[i]) * buf[b];
    }
  }

  // y = x · Wᵀ for M > kFusedMaxRows (gemm.h): the activations are packed once,
  // shared by all tasks; each task owns a panel of weight rows and, one K block at
  // a time, dequantizes and packs the block (strips back to back, 128 KB: it is
  // still in L2 when the tiles read it; the next block's weight bytes are
  // prefetched near its end) and runs it over all M rows. Panels as wide
  // as allowed (activations are re-read once per panel), their count a multiple of
  // the thread count (no thread idles at the end). round_q8: the activations are
  // first rounded to the Q8 grid (q8_rounded), a micro-panel at a time. A weight in
  // the x8 layout has each strip's blocks unpacked to GGUF rows first. A weight in
  // F16 strips is not packed at all: its groups already are the strips, and the
  // tiles read the halves in place (gemm_panel_block_f16; measured 6-7% faster on
  // the 1B F16 file than widening each block to f32 first, with no software
  // prefetch: the strips are contiguous runs the hardware prefetchers follow).
  void prefill_matmul(const Tensor& w, const float* x, int64_t M, float* y, bool round_q8,
                      Layout lay) {
    const bool x8 = lay == Layout::kX8, strips = lay == Layout::kF16Strips;
    const int64_t K = w.ne[0], N = w.ne[1];
    const size_t row_bytes = w.row_bytes();
    const auto* wd = static_cast<const uint8_t*>(w.data);
    const int64_t n_mpanels = (M + cpu::kGemmMr - 1) / cpu::kGemmMr;
    if (xpack_.size() < static_cast<size_t>(cpu::gemm_x_floats(M, K) + 15))
      xpack_.resize(static_cast<size_t>(cpu::gemm_x_floats(M, K) + 15));
    float* xp = cpu::gemm_align(xpack_.data());
    const int64_t per_task = std::max<int64_t>(1, n_mpanels / (4 * pool_.size()));
    const int64_t round_floats = cpu::kGemmMr * K + K / 4 + 2 * (K / 32);
    if (round_q8)
      for (int t = 0; t < pool_.size(); ++t) scratch(t, static_cast<size_t>(round_floats));
    pool_.run((n_mpanels + per_task - 1) / per_task, [&](int64_t task, int thread) {
      const int64_t p1 = std::min(n_mpanels, (task + 1) * per_task);
      if (!round_q8) return cpu::gemm_pack_x(x, K, M, K, task * per_task, p1, xp);
      float* rows = scratch_[static_cast<size_t>(thread)].data();
      for (int64_t p = task * per_task; p < p1; ++p) {
        const int64_t n = std::min<int64_t>(cpu::kGemmMr, M - p * cpu::kGemmMr);
        q8_rounded(x + p * cpu::kGemmMr * K, n, K, rows, rows + cpu::kGemmMr * K);
        cpu::gemm_pack_x_panel(rows, K, static_cast<int>(n), M, K, p, xp);
      }
    });

    int64_t n_panels = (N + cpu::kGemmPanelRows - 1) / cpu::kGemmPanelRows;
    n_panels = (n_panels + pool_.size() - 1) / pool_.size() * pool_.size();
    const int64_t panel_rows =
        ((N + n_panels - 1) / n_panels + cpu::kGemmNr - 1) / cpu::kGemmNr * cpu::kGemmNr;
    n_panels = (N + panel_rows - 1) / panel_rows;
    const cpu::DequantChunk dq = k_.dequant(w.type);
    const int64_t block_floats = cpu::gemm_block_floats(panel_rows);
    // Per thread: the packed block, then the staging of one strip's dequantized rows,
    // then (x8) the strip's unpacked GGUF blocks.
    const size_t stage_floats = cpu::kGemmNr * cpu::kGemmKc;
    const size_t x8_floats =
        x8 ? cpu::kGemmNr * ggml_row_bytes(w.type, cpu::kGemmKc).value_or(0) / 4 + 1 : 0;
    for (int t = 0; t < pool_.size(); ++t)
      scratch(t, static_cast<size_t>(block_floats + stage_floats + x8_floats + 15));
    pool_.run(n_panels, [&](int64_t panel_index, int thread) {
      float* block = cpu::gemm_align(scratch_[static_cast<size_t>(thread)].data());
      float* stage = block + block_floats;
      auto* unpacked = reinterpret_cast<uint8_t*>(stage + stage_floats);
      const int64_t n0 = panel_index * panel_rows;
      const int64_t nr = std::min(panel_rows, N - n0);
      if (strips) {  // n0, nr: multiples of 16
        const auto* groups = reinterpret_cast<const uint16_t*>(wd + n0 * row_bytes);
        for (int64_t k0 = 0; k0 < K; k0 += cpu::kGemmKc)
          cpu::gemm_panel_block_f16(gemm_, xp, M, K, k0, groups, nr, y + n0, N, 0, M);
        return;
      }
      for (int64_t k0 = 0; k0 < K; k0 += cpu::kGemmKc) {
        const int64_t kc = std::min(cpu::kGemmKc, K - k0);
        const uint8_t* src = wd + n0 * row_bytes + ggml_row_bytes(w.type, k0).value_or(0);
        const size_t bytes = ggml_row_bytes(w.type, kc).value_or(0);
        const size_t next =  // the next K block's bytes per row
            k0 + kc < K ? ggml_row_bytes(w.type, std::min(cpu::kGemmKc, K - k0 - kc)).value_or(0)
                        : 0;
        for (int64_t s0 = 0; s0 < nr; s0 += cpu::kGemmNr) {
          const int64_t ns = std::min<int64_t>(cpu::kGemmNr, nr - s0);
          if (!x8) {
            cpu::gemm_pack_weights(gemm_, w.type, dq, src + s0 * row_bytes, row_bytes, ns, kc,
                                   stage, block + s0 * kc);
            continue;
          }
          for (int64_t r = 0; r < ns; r += cpu::kX8Rows)  // n0, s0, ns: multiples of 8
            cpu::unpack_x8(w.type, wd + (n0 + s0 + r) * row_bytes, k0 / 32, kc / 32, 0,
                           cpu::kX8Rows, unpacked + r * bytes, bytes);
          cpu::gemm_pack_weights(gemm_, w.type, dq, unpacked, bytes, ns, kc, stage,
                                 block + s0 * kc);
        }
        // The next block's weights are prefetched during the last eighth of the rows:
        // earlier, the activations streaming through L2 would evict them again.
        const int64_t m_split = M * 7 / 8 / cpu::kGemmMr * cpu::kGemmMr;
        cpu::gemm_panel_block(gemm_, xp, M, K, k0, block, nr, y + n0, N, 0, m_split);
        if (x8)  // a group's next K block is 8 · next bytes in one piece
          cpu::gemm_prefetch_rows(
              wd + n0 * row_bytes + cpu::kX8Rows * ggml_row_bytes(w.type, k0 + kc).value_or(0),
              cpu::kX8Rows * row_bytes, nr / cpu::kX8Rows, cpu::kX8Rows * next);
        else
          cpu::gemm_prefetch_rows(src + bytes, row_bytes, nr, next);
        cpu::gemm_panel_block(gemm_, xp, M, K, k0, block, nr, y + n0, N, m_split, M);
      }
    });
  }

  void get_rows(const OpDesc& op) {
    const Tensor& table = op.src[0];
    const int64_t K = table.ne[0], M = op.src[1].n_elements();
    const size_t rb = table.row_bytes();
    const Layout lay = layout(table.data);
    std::vector<uint8_t> unpacked(lay == Layout::kGguf ? 0 : rb);  // a repacked weight's row
    for (int64_t m = 0; m < M; ++m) {
      const int32_t id = i32(op.src[1])[m];
      if (id < 0 || id >= table.ne[1])
        fail("cpu: get_rows: id %d out of [0, %lld)", id, static_cast<long long>(table.ne[1]));
      const auto* src = static_cast<const uint8_t*>(table.data) + static_cast<size_t>(id) * rb;
      if (lay == Layout::kX8) {
        const int r = id % cpu::kX8Rows;
        cpu::unpack_x8(table.type, src - r * rb, 0, K / 32, r, r + 1, unpacked.data(), rb);
        src = unpacked.data();
      } else if (lay == Layout::kF16Strips) {
        const int r = id % cpu::kF16StripRows;
        cpu::f16_strip_row(reinterpret_cast<const uint16_t*>(src - r * rb), K, r,
                           reinterpret_cast<uint16_t*>(unpacked.data()));
        src = unpacked.data();
      }
      const float* row = weight_row(table.type, src, K, f32(op.dst) + m * K);
      if (row != f32(op.dst) + m * K)
        std::memcpy(f32(op.dst) + m * K, row, static_cast<size_t>(K) * 4);
    }
  }

  void rms_norm(const OpDesc& op) {
    const int64_t K = op.src[0].ne[0], M = op.src[0].n_rows();
    const float* w = f32(op.src[1]);
    for_rows(M, K, [&](int64_t m, int) {
      const float* x = f32(op.src[0]) + m * K;
      float* y = f32(op.dst) + m * K;
      double ss = 0;
      k_.dot_rows(x, x, K, 0, 1, &ss);
      const float inv = static_cast<float>(1.0 / std::sqrt(ss / K + op.eps));
      for (int64_t i = 0; i < K; ++i) y[i] = (x[i] * inv) * w[i];
    });
  }

  void rope(const OpDesc& op) {
    const Tensor& x = op.src[0];
    const int64_t D = x.ne[0], n_head = x.ne[1], M = x.ne[2];
    const int half = op.rope.n_rot / 2;
    const float* factors = op.src[2].data ? f32(op.src[2]) : nullptr;
    for (int t = 0; t < pool_.size(); ++t) scratch(t, static_cast<size_t>(2 * half));
    for_rows(M, n_head * D, [&](int64_t m, int thread) {
      float* cs = scratch_[static_cast<size_t>(thread)].data();
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
    });
  }

  void attention(const OpDesc& op) {
    const Tensor& q = op.src[0];
    const float* kc = f32(op.src[1]);
    const float* vc = f32(op.src[2]);
    const int64_t D = q.ne[0], n_head = q.ne[1], M = q.ne[2], n_kv_head = op.src[1].ne[1];
    const int64_t group = n_head / n_kv_head;
    if (M > kFusedMaxRows) {  // prefill: blocks of consecutive queries share their keys
      std::vector<std::pair<int64_t, int64_t>> blocks;
      const int64_t qb = std::max<int64_t>(1, kAttnRows / group);
      for (int64_t m0 = 0; m0 < M; m0 += qb) blocks.push_back({m0, std::min(qb, M - m0)});
      return attention_blocks(op, blocks, [&](const float* cache, int64_t, int64_t j, int64_t kvh) {
        return cache + (j * n_kv_head + kvh) * D;
      });
    }
    cpu::DecodeQuery queries[kFusedMaxRows];
    for (int64_t m = 0; m < M; ++m) {
      const int64_t qpos = op.attn.pos0 + m;  // sees first ..= qpos
      queries[m] = {f32(q) + m * n_head * D, f32(op.dst) + m * n_head * D,
                    op.attn.window > 0 ? std::max<int64_t>(0, qpos - op.attn.window + 1) : 0, qpos,
                    nullptr};
    }
    decode_.run(pool_, k_.dot_rows, {kc, vc, D, n_head, n_kv_head, 1, op.attn.scale}, queries, M);
  }

  // As attention(), but each query reads its own sequence's pool blocks.
  void paged_attention(const OpDesc& op) {
    const Tensor& q = op.src[0];
    const Tensor& kp = op.src[1];
    const int64_t D = q.ne[0], n_head = q.ne[1], M = q.ne[2], n_kv_head = kp.ne[1];
    const int64_t bs = kp.ne[2], W = op.src[3].ne[0], group = n_head / n_kv_head;
    const int32_t* table = i32(op.src[3]);
    for (int64_t m = 0; m < M; ++m) check_paged_row(op, m, "cpu");
    if (M > kFusedMaxRows) {  // prefill: consecutive queries with the same block table
      std::vector<std::pair<int64_t, int64_t>> blocks;
      const int64_t qb = std::max<int64_t>(1, kAttnRows / group);
      for (int64_t m = 0; m < M; ++m) {
        const bool same =
            !blocks.empty() && blocks.back().second < qb &&
            std::equal(table + m * W + 1, table + (m + 1) * W, table + blocks.back().first * W + 1);
        if (same) {
          ++blocks.back().second;
        } else {
          blocks.push_back({m, 1});
        }
      }
      return attention_blocks(
          op, blocks, [&](const float* pool, int64_t m, int64_t j, int64_t kvh) {
            const int32_t* row = table + m * W;
            return pool + ((row[1 + j / bs] * bs + j % bs) * n_kv_head + kvh) * D;
          });
    }
    cpu::DecodeQuery queries[kFusedMaxRows];
    for (int64_t m = 0; m < M; ++m) {
      const int32_t* row = table + m * W;  // [position, block ids...]
      const int64_t qpos = row[0];
      queries[m] = {f32(q) + m * n_head * D, f32(op.dst) + m * n_head * D,
                    op.attn.window > 0 ? std::max<int64_t>(0, qpos - op.attn.window + 1) : 0, qpos,
                    row + 1};
    }
    decode_.run(pool_, k_.dot_rows,
                {f32(kp), f32(op.src[2]), D, n_head, n_kv_head, bs, op.attn.scale}, queries, M);
  }

  // Prefill attention over query blocks {first query, count} (attention_cpu.h), one
  // task per (block, KV head). Query m sits at position pos(m) and sees keys
  // max(0, pos - window + 1) ..= pos; at(cache, m, j, kvh) is key j's row for query
  // m in the K or V cache (the block's queries share it).
  template <typename At>
  void attention_blocks(const OpDesc& op, const std::vector<std::pair<int64_t, int64_t>>& blocks,
                        At at) {
    const Tensor& q = op.src[0];
    const int64_t D = q.ne[0], n_head = q.ne[1], n_kv_head = op.src[1].ne[1];
    const int64_t group = n_head / n_kv_head, n_blocks = static_cast<int64_t>(blocks.size());
    const bool paged = op.kind == OpKind::kPagedAttention;
    const int32_t* table = paged ? i32(op.src[3]) : nullptr;
    const int64_t W = paged ? op.src[3].ne[0] : 0;
    auto pos = [&](int64_t m) -> int64_t { return paged ? table[m * W] : op.attn.pos0 + m; };
    auto first = [&](int64_t p) -> int64_t {
      return op.attn.window > 0 ? std::max<int64_t>(0, p - op.attn.window + 1) : 0;
    };
    int64_t max_qb = 0, max_keys = 0;
    for (auto [m0, nq] : blocks) {
      int64_t lo = INT64_MAX, hi = 0;
      for (int64_t i = 0; i < nq; ++i) {
        lo = std::min(lo, first(pos(m0 + i)));
        hi = std::max(hi, pos(m0 + i));
      }
      max_qb = std::max(max_qb, nq);
      max_keys = std::max(max_keys, hi - lo + 1);
    }
    const int64_t floats = cpu::attention_block_scratch(max_qb, group, max_keys, D);
    for (int t = 0; t < pool_.size(); ++t) {
      scratch(t, static_cast<size_t>(floats));
      if (key_rows_[static_cast<size_t>(t)].size() < static_cast<size_t>(2 * max_keys))
        key_rows_[static_cast<size_t>(t)].resize(static_cast<size_t>(2 * max_keys));
    }
    std::vector<int64_t> lims(static_cast<size_t>(2 * max_qb * pool_.size()));
    const float* kc = f32(op.src[1]);
    const float* vc = f32(op.src[2]);
    pool_.run(n_blocks * n_kv_head, [&](int64_t task, int thread) {
      const auto [m0, nq] = blocks[static_cast<size_t>(task / n_kv_head)];
      const int64_t kvh = task % n_kv_head;
      int64_t* lo = lims.data() + 2 * max_qb * thread;
      int64_t* hi = lo + max_qb;
      cpu::AttentionBlock b;
      b.j_lo = INT64_MAX;
      for (int64_t i = 0; i < nq; ++i) {
        hi[i] = pos(m0 + i);
        lo[i] = first(hi[i]);
        b.j_lo = std::min(b.j_lo, lo[i]);
        b.j_hi = std::max(b.j_hi, hi[i]);
      }
      const float** rows = key_rows_[static_cast<size_t>(thread)].data();
      const int64_t n = b.j_hi - b.j_lo + 1;
      for (int64_t j = 0; j < n; ++j) {
        rows[j] = at(kc, m0, b.j_lo + j, kvh);
        rows[n + j] = at(vc, m0, b.j_lo + j, kvh);
      }
      b.q = f32(q) + (m0 * n_head + kvh * group) * D;
      b.out = f32(op.dst) + (m0 * n_head + kvh * group) * D;
      b.q_stride = n_head * D;
      b.n_q = nq;
      b.group = group;
      b.D = D;
      b.k_rows = rows;
      b.v_rows = rows + n;
      b.first = lo;
      b.last = hi;
      b.scale = op.attn.scale;
      cpu::attention_block(gemm_, *k_.act, b, scratch_[static_cast<size_t>(thread)].data());
    });
  }

  void elementwise(const OpDesc& op) {
    const int64_t n = op.dst.n_elements(), nb = op.src[1].n_elements();
    const float* a = f32(op.src[0]);
    const float* b = f32(op.src[1]);
    float* d = f32(op.dst);
    // Each element is independent: prefill's (tokens x n_embd or x n_ff) are
    // spread over the threads in chunks; decode's few thousand stay on this one.
    auto parallel = [&](auto f) {
      if (n < 2 * kParallelFloats) return f(int64_t{0}, n);
      pool_.run((n + kParallelFloats - 1) / kParallelFloats, [&](int64_t c, int) {
        f(c * kParallelFloats, std::min(n, (c + 1) * kParallelFloats));
      });
    };
    switch (op.kind) {
      case OpKind::kSiluMul:
        return parallel(
            [&](int64_t i0, int64_t i1) { k_.act->silu_mul(a + i0, b + i0, d + i0, i1 - i0); });
      case OpKind::kGeluMul:
        return parallel(
            [&](int64_t i0, int64_t i1) { k_.act->gelu_mul(a + i0, b + i0, d + i0, i1 - i0); });
      case OpKind::kAdd:
        return parallel([&](int64_t i0, int64_t i1) {
          if (nb == n) {
            for (int64_t i = i0; i < i1; ++i) d[i] = a[i] + b[i];
          } else {
            for (int64_t i = i0; i < i1; ++i) d[i] = a[i] + b[i % nb];
          }
        });
      case OpKind::kScale:
        return parallel([&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) d[i] = a[i] * op.scale;
        });
      default:
        break;
    }
  }

  // Runs f(m, thread) for m < M rows: over the pool's threads when the rows hold at
  // least 2 kParallelFloats in all (prefill), on this thread otherwise (decode).
  template <typename F>
  void for_rows(int64_t M, int64_t row_floats, F f) {
    if (M < 2 || M * row_floats < 2 * kParallelFloats) {
      for (int64_t m = 0; m < M; ++m) f(m, 0);
      return;
    }
    const int64_t per_task =
        std::max<int64_t>(1, kParallelFloats / std::max<int64_t>(1, row_floats));
    pool_.run((M + per_task - 1) / per_task, [&](int64_t t, int thread) {
      for (int64_t m = t * per_task; m < std::min(M, (t + 1) * per_task); ++m) f(m, thread);
    });
  }

  const Kernels& k_;
  const cpu::GemmKernels& gemm_;
  ThreadPool pool_;
  std::vector<std::vector<float>> scratch_;          // per thread
  std::vector<float> xpack_;                         // prefill GEMM: packed activations
  std::vector<std::vector<const float*>> key_rows_;  // per thread: prefill attention's K, V rows
  cpu::DecodeAttention decode_;                      // decode attention's scratch
  HostMemory mem_;
  std::vector<Buffer> packed_;                     // prepare_weight's copies of the weights
  std::unordered_map<const void*, Layout> owned_;  // their data pointers and layouts
  const bool q8_;  // BackendOptions::activations == kQ8: decode matmuls in Q8 (kernels.h)
};

std::unique_ptr<Backend> make_cpu(const BackendOptions& o) {
  return std::make_unique<CpuBackend>(o);
}

}  // namespace

PIVOT_REGISTER_BACKEND(cpu, "multithreaded, SIMD (AVX2 at run time), f32 compute", &make_cpu);

}  // namespace pivot
