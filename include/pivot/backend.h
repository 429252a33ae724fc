// The Backend interface: the only door to hardware (ARCHITECTURE.md, "backend/").
//
// A backend owns device memory and executes a small set of coarse, fused ops on
// tensors that live in it. Architectures (src/model/) are written as sequences of
// ops; they never touch device memory themselves. Capabilities are data
// (DeviceProps, supports()), not extra virtual methods.
//
// Tensors: `Tensor` is a non-owning view of a contiguous array in one backend's
// memory. ne[0] is the fastest-varying dimension (as in GGUF/ggml), so a matrix
// with ne = {K, N} has N rows of K elements. Activations are F32; weights may be
// any GGUF block type (quant.h); token ids and positions are I32.
//
// Errors: methods throw pivot::Error (what, which op, which shapes); allocate()
// throws on out-of-memory instead of aborting. Ops with shapes or dtypes the
// backend does not support throw; callers ask supports() first.
//
// Threading: a Backend object is used by one thread at a time (the engine's);
// it may use worker threads internally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/ggml_type.h"

namespace pivot {

// What a backend is; also what plan/ reads. Unknown numbers are 0.
struct DeviceProps {
  std::string name;    // "reference", "cpu (AVX2, 8 threads)"
  std::string vendor;  // "pivot", "NVIDIA"
  int index = 0;       // device ordinal within the backend
  uint64_t memory_bytes = 0;
  double bandwidth_Bps = 0;  // memory bandwidth, bytes/s
  double peak_f32_flops = 0;
  size_t alignment = 64;      // of allocate()'d buffers, bytes
  bool host_visible = false;  // Buffer::data() is a host pointer the CPU may read/write
  // Measured device-to-device copy bandwidth, bytes read + written per second; 0
  // unless the backend was created with BackendOptions::measure_bandwidth (bench).
  double copy_bandwidth_Bps = 0;
};

enum class MemKind : uint8_t {
  kDevice,  // working memory: activations, KV cache
  kWeight,  // read-mostly weights (a backend may place them differently)
};

// Owning handle to backend memory; freed by the backend's deleter on destruction.
class Buffer {
 public:
  Buffer() = default;
  Buffer(void* data, size_t bytes, std::function<void(void*)> free_fn)
      : data_(data), bytes_(bytes), free_(std::move(free_fn)) {}
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      data_ = o.data_;
      bytes_ = o.bytes_;
      free_ = std::move(o.free_);
      o.data_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }  // device address (host address if host_visible)
  size_t bytes() const { return bytes_; }
  void reset() {
    if (data_ && free_) free_(data_);
    data_ = nullptr;
    bytes_ = 0;
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  std::function<void(void*)> free_;
};

// Non-owning view of a contiguous tensor in backend memory (or host memory for
// weights of host-visible backends). Unused dims are 1.
struct Tensor {
  void* data = nullptr;
  GgmlType type = GgmlType::F32;
  int64_t ne[4] = {1, 1, 1, 1};

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  size_t row_bytes() const;  // ggml_row_bytes(type, ne[0])
  size_t n_bytes() const { return row_bytes() * static_cast<size_t>(n_rows()); }
  std::string shape_str() const;  // "Q4_1[576, 1536]"
};

// A view of `data` with the given type and dims.
Tensor make_tensor(void* data, GgmlType type, int64_t ne0, int64_t ne1 = 1, int64_t ne2 = 1,
                   int64_t ne3 = 1);

// The coarse ops. Shapes use K = reduction size, N = output features, M = tokens.
enum class OpKind : uint8_t {
  // dst[M][N] = x[M][K] · W[N][K]ᵀ. src0 W: any block type {K, N} (K a multiple
  // of its block size); src1 x: F32 {K, M}; dst: F32 {N, M}.
  kMatmul,
  // Embedding lookup: dst[M][K] = dequantize(table row ids[m]). src0 table: any
  // block type {K, V}; src1 ids: I32 {M}; dst: F32 {K, M}. Ids must be in [0, V).
  kGetRows,
  // dst = x / sqrt(mean(x²) + eps) * w per row. src0 x: F32 {K, M}; src1 w: F32 {K};
  // dst: F32 {K, M}; dst may alias x. Params: eps.
  kRmsNorm,
  // Rotary embedding of the first n_rot dims of each head, in place allowed.
  // src0 x: F32 {head_dim, n_head, M}; src1 pos: I32 {M}; src2 (optional, data may
  // be null) freq_factors: F32 {n_rot/2}; dst: like x. Pair i of a head rotates by
  // theta = pos · freq_scale · freq_base^(-2i/n_rot) / freq_factors[i]. Pairs are
  // (2i, 2i+1) for kNorm and (i, i + n_rot/2) for kNeox (GPT-NeoX / HF "rotate_half").
  // Params: rope.
  kRope,
  // Causal multi-head attention of M new queries over a per-sequence KV cache,
  // with grouped-query sharing (query head h reads kv head h / (n_head / n_head_kv)).
  // src0 q: F32 {head_dim, n_head, M}; src1 k cache, src2 v cache: F32
  // {head_dim, n_head_kv, n_ctx}; dst: F32 {head_dim, n_head, M}. Query m sits at
  // position p = pos0 + m and sees cache positions 0 ..= p (or only the last
  // attn.window of them, p - window < j <= p, for sliding-window layers), which the
  // caller has already written. Params: attn (scale, pos0, window).
  kAttention,
  // dst = silu(a) * b (SwiGLU); src0 a, src1 b, dst: F32 of one shape; dst may alias.
  kSiluMul,
  // dst = gelu(a) * b (GeGLU, tanh approximation as in ggml and gelu_pytorch_tanh).
  kGeluMul,
  // dst = a + b; src0 a, dst: F32 {K, M}; src1 b: F32 {K, M} or {K, 1} (broadcast).
  kAdd,
  // dst = a * s; src0 a, dst: F32 of one shape. Params: scale.
  kScale,
  // Attention of M query tokens from many sequences over a paged KV cache
  // (pivot/paged_kv_cache.h), grouped-query as kAttention. src0 q: F32
  // {head_dim, n_head, M}; src1 k pool, src2 v pool: F32 {head_dim, n_head_kv,
  // block_size, n_blocks} (one layer); src3 table: I32 {W, M}, row m =
  // [p, b_0, b_1, ...]: query m sits at position p of its sequence, whose
  // position j lives in pool block b_(j / block_size), slot j % block_size
  // (W >= 1 + ceil((p + 1) / block_size)). Query m sees its sequence's positions
  // 0 ..= p (or p - window < j <= p when attn.window > 0), which the caller has
  // already written. dst: F32 {head_dim, n_head, M}. Params: attn (scale, window;
  // pos0 unused).
  kPagedAttention,
};
inline constexpr int kOpCount = static_cast<int>(OpKind::kPagedAttention) + 1;
std::string_view op_name(OpKind op);  // "matmul", "rope", ...

enum class RopeMode : uint8_t { kNorm, kNeox };

struct RopeParams {
  RopeMode mode = RopeMode::kNorm;
  int32_t n_rot = 0;        // rotated dims per head, even, <= head_dim
  float freq_base = 10000;  // rope.freq_base
  float freq_scale = 1;     // 1 / rope.scaling.factor for linear scaling
};

struct AttentionParams {
  float scale = 1;     // applied to q·k, usually 1/sqrt(head_dim)
  int32_t pos0 = 0;    // position of the first query
  int32_t window = 0;  // 0: full causal; else query at p sees keys in (p - window, p]
};

// One op and its tensors; `params` fields not used by the op are ignored.
struct OpDesc {
  OpKind kind = OpKind::kMatmul;
  Tensor dst;
  Tensor src[4];    // src[3]: only kPagedAttention
  float eps = 0;    // kRmsNorm
  float scale = 1;  // kScale
  RopeParams rope;
  AttentionParams attn;
};

enum class Support : uint8_t { kNo, kYes, kSlow };

enum class CopyKind : uint8_t { kHostToDevice, kDeviceToHost, kDeviceToDevice };

struct MemoryInfo {
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;  // allocated through this backend
  uint64_t free_bytes = 0;
};

enum class ActivationType { kQ8, kF32 };

struct BackendOptions {
  int n_threads = 0;  // 0: the backend's default (all cores)
  int device = 0;
  bool measure_bandwidth = false;  // device backends: fill DeviceProps::copy_bandwidth_Bps
  // Activations of quantized-weight matmuls. kQ8 (default): the cpu backend's
  // decode path (few activation rows) quantizes each activation row to blocks of 32
  // int8 values with one f32 scale (like GGUF Q8_0, whose scale is f16; format in
  // src/backend/cpu/kernels.h) and takes integer dot products with the weight
  // blocks, as llama.cpp does. Logits then differ from f32 math by a few 1e-2
  // relative L2 (at most ~0.15 on the golden prompts, no more than llama.cpp's own
  // difference: tests/py/test_generation_golden.py). kF32: every matmul keeps f32
  // activations (exact up to f32 rounding; what the transformers golden tests
  // check). Backends without a Q8 path ignore it.
  ActivationType activations = ActivationType::kQ8;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Static facts about the device. Required.
  virtual DeviceProps props() const = 0;

  // `bytes` of uninitialised memory aligned to props().alignment. Required.
  // Throws pivot::Error on out-of-memory (never aborts).
  virtual Buffer allocate(size_t bytes, MemKind kind) = 0;

  // Copies `bytes` between host memory and this backend's buffers, or within
  // them. May be asynchronous: complete after synchronize(). Required.
  virtual void copy(void* dst, const void* src, size_t bytes, CopyKind kind) = 0;

  // Whether execute() accepts this op with these dtypes and shapes (data
  // pointers are not read). kSlow: accepted but not a fast path. Required.
  virtual Support supports(const OpDesc& op) const = 0;

  // Runs one op. May be asynchronous: results are visible to copy() and later
  // ops in order, and to the host after synchronize(). Throws for an unsupported
  // op. Required.
  virtual void execute(const OpDesc& op) = 0;

  // Called once per weight at load. A backend may repack the weight into a
  // buffer it owns and repoint `w.data`; the default keeps it as is. Optional.
  virtual void prepare_weight(Tensor& w) { (void)w; }

  // Blocks until all submitted work is done. Required.
  virtual void synchronize() = 0;

  // Memory now, for admission control and plan/. Required.
  virtual MemoryInfo memory_info() const = 0;
};

// Registration table of backend factories, filled at static-initialisation
// time by PIVOT_REGISTER_BACKEND and read-only afterwards (the one allowed
// mutable global). Lookups are thread-safe once main() has started.
using BackendFactory = std::unique_ptr<Backend> (*)(const BackendOptions&);

struct BackendRegistration {
  BackendRegistration(const char* name, const char* description, BackendFactory factory);
};

// Names of registered backends, sorted.
std::vector<std::string> backend_names();
// A new backend by name; throws pivot::Error listing the registered names.
std::unique_ptr<Backend> create_backend(std::string_view name, const BackendOptions& opts = {});

// In a backend's .cc: PIVOT_REGISTER_BACKEND(cpu, "multithreaded SIMD", &make_cpu);
#define PIVOT_REGISTER_BACKEND(id, description, factory)                                      \
  static const ::pivot::BackendRegistration pivot_backend_registration_##id(#id, description, \
                                                                            factory)

}  // namespace pivot
