// `cuda`: NVIDIA GPUs through the CUDA runtime. Weights and activations live in
// device memory (host_visible = false, so WeightLoader uploads every weight once);
// every op is enqueued on one stream and runs asynchronously until synchronize().
// Decode matmuls read the GGUF blocks directly (matvec.cu); batched matmuls
// dequantize tiles to F32 and call the GEMM (blas.cu, TF32 tensor cores unless
// PIVOT_CUDA_TF32=0). Large uploads are staged through two pinned buffers so the
// host copy of one chunk overlaps the DMA of the previous one.
//
// Portability: only runtime-API calls (cudaMalloc, cudaMemcpyAsync, streams,
// events) appear here; each has a same-shaped HIP/MUSA/MACA counterpart.
// Not done: CUDA graphs for the decode step (each op is a separate launch).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "dispatch.h"
#include "kernels.h"
#include "op_check.h"
#include "pivot/backend.h"
#include "pivot/error.h"

namespace pivot {
namespace {

using namespace cuda;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail("cuda: %s failed: %s", what, cudaGetErrorString(e));
}

float* f32(const Tensor& t) {
  return static_cast<float*>(t.data);
}
const int32_t* i32(const Tensor& t) {
  return static_cast<const int32_t*>(t.data);
}
bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const BackendOptions& o) : dev_(o.device) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorInsufficientDriver)
      fail(
          "cuda: no usable CUDA driver (none installed, or older than this build's CUDA %d.%d "
          "runtime); run with --device cpu",
          CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    if (e != cudaSuccess && e != cudaErrorNoDevice)
      fail("cuda: no usable CUDA device (%s); run with --device cpu", cudaGetErrorString(e));
    if (e == cudaErrorNoDevice || count == 0)
      fail("cuda: no CUDA device found; run with --device cpu");
    if (dev_ < 0 || dev_ >= count)
      fail("cuda: device %d does not exist (this machine has %d: cuda:0 .. cuda:%d)", dev_, count,
           count - 1);
    use();
    cudaDeviceProp p{};
    check(cudaGetDeviceProperties(&p, dev_), "cudaGetDeviceProperties");
    total_ = p.totalGlobalMem;
    label_ = device_label(dev_, p.name, p.major, p.minor, total_);
    int clock_khz = 0, bus_bits = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, dev_) == cudaSuccess &&
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev_) == cudaSuccess)
      peak_Bps_ = 2.0 * clock_khz * 1e3 * bus_bits / 8;  // double data rate
    cudaGetLastError();  // an unsupported attribute leaves no sticky error behind
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cudaHostAlloc(reinterpret_cast<void**>(&err_host_), sizeof(int), cudaHostAllocMapped),
          "cudaHostAlloc (error flag)");
    *err_host_ = kErrNone;
    check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&err_dev_), err_host_, 0),
          "cudaHostGetDevicePointer");
    blas_ = blas_create(stream_);
    const char* tf32 = std::getenv("PIVOT_CUDA_TF32");
    tf32_ = !(tf32 && std::strcmp(tf32, "0") == 0);
    if (o.measure_bandwidth) {
      size_t free_b = 0, total_b = 0;
      check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
      copy_Bps_ = measure_copy_bandwidth(std::min<size_t>(size_t{1} << 30, free_b / 4), 10);
    }
  }

  ~CudaBackend() override {
    cudaSetDevice(dev_);  // never throws here
    if (stream_) cudaStreamSynchronize(stream_);
    blas_destroy(blas_);
    for (int i = 0; i < 2; ++i) {
      if (stage_[i]) cudaFreeHost(stage_[i]);
      if (stage_ev_[i]) cudaEventDestroy(stage_ev_[i]);
    }
    scratch_.reset();
    if (err_host_) cudaFreeHost(err_host_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  DeviceProps props() const override {
    DeviceProps p;
    p.name = label_;
    p.vendor = "NVIDIA";
    p.index = dev_;
    p.memory_bytes = total_;
    p.bandwidth_Bps = peak_Bps_;
    p.alignment = 256;
    p.host_visible = false;
    p.copy_bandwidth_Bps = copy_Bps_;
    return p;
  }

  Buffer allocate(size_t bytes, MemKind) override {
    use();
    const size_t n = std::max<size_t>(bytes, 256);
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, n);
    if (e != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      fail(
          "cuda: out of device memory on cuda:%d: %.1f MiB requested, %.1f MiB free of %.1f MiB "
          "(%s)",
          dev_, n / 1048576.0, free_b / 1048576.0, total_b / 1048576.0, cudaGetErrorString(e));
    }
    *used_ += n;
    return Buffer(p, bytes, [used = used_, n, dev = dev_](void* q) {
      int prev = -1;
      cudaGetDevice(&prev);
      if (prev != dev) cudaSetDevice(dev);
      cudaFree(q);
      if (prev >= 0 && prev != dev) cudaSetDevice(prev);
      *used -= n;
    });
  }

  void copy(void* dst, const void* src, size_t bytes, CopyKind kind) override {
    if (bytes == 0) return;
    use();
    switch (kind) {
      case CopyKind::kHostToDevice:
        if (bytes >= kStagedCopyMin && staged_upload(dst, src, bytes)) return;
        return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_),
                     "cudaMemcpyAsync (host to device)");
      case CopyKind::kDeviceToHost:
        return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_),
                     "cudaMemcpyAsync (device to host)");
      case CopyKind::kDeviceToDevice:
        return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_),
                     "cudaMemcpyAsync (device to device)");
    }
  }

  Support supports(const OpDesc& op) const override { return support_of(op); }

  void execute(const OpDesc& op) override {
    check_op(op, "cuda");
    if (support_of(op) == Support::kNo)
      fail("cuda: %s (dst %s, src0 %s) is not supported by this backend",
           std::string(op_name(op.kind)).c_str(), op.dst.shape_str().c_str(),
           op.src[0].shape_str().c_str());
    use();
    const Tensor& a = op.src[0];
    const Tensor& b = op.src[1];
    cudaStream_t st = stream_;
    switch (op.kind) {
      case OpKind::kMatmul:
        return matmul(op);
      case OpKind::kGetRows:
        return get_rows(a.type, a.data, a.row_bytes(), a.ne[0], a.ne[1], i32(b), b.n_elements(),
                        f32(op.dst), err_dev_, st);
      case OpKind::kRmsNorm:
        return rms_norm(f32(a), f32(b), f32(op.dst), a.ne[0], a.n_rows(), op.eps, st);
      case OpKind::kRope:
        return rope(f32(a), f32(op.dst), i32(b), op.src[2].data ? f32(op.src[2]) : nullptr, a.ne[0],
                    a.ne[1], a.ne[2], op.rope, st);
      case OpKind::kAttention:
        return attention(f32(a), f32(b), f32(op.src[2]), f32(op.dst), a.ne[0], a.ne[1], b.ne[1],
                         a.ne[2], op.attn.scale, op.attn.pos0, op.attn.window, st);
      case OpKind::kPagedAttention:
        return paged_attention(f32(a), f32(b), f32(op.src[2]), i32(op.src[3]), op.src[3].ne[0],
                               f32(op.dst), a.ne[0], a.ne[1], b.ne[1], b.ne[2], b.ne[3], a.ne[2],
                               op.attn.scale, op.attn.window, err_dev_, st);
      case OpKind::kSiluMul:
        return silu_mul(f32(a), f32(b), f32(op.dst), op.dst.n_elements(), st);
      case OpKind::kGeluMul:
        return gelu_mul(f32(a), f32(b), f32(op.dst), op.dst.n_elements(), st);
      case OpKind::kAdd:
        return add(f32(a), f32(b), f32(op.dst), op.dst.n_elements(), b.n_elements(), st);
      case OpKind::kScale:
        return scale(f32(a), op.scale, f32(op.dst), op.dst.n_elements(), st);
    }
    fail("cuda: unknown op %d", static_cast<int>(op.kind));
  }

  void synchronize() override {
    use();
    const cudaError_t e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess)
      fail("cuda: a kernel or copy failed on cuda:%d: %s", dev_, cudaGetErrorString(e));
    const int err = *static_cast<volatile int*>(err_host_);
    if (err != kErrNone) {
      *err_host_ = kErrNone;
      fail(err == kErrRowId ? "cuda: get_rows: an id was outside the table (rows set to zero)"
                            : "cuda: paged_attention: a table position or block id was out of "
                              "range (outputs set to zero)");
    }
  }

  MemoryInfo memory_info() const override {
    MemoryInfo m;
    size_t free_b = 0, total_b = 0;
    use();
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) cudaGetLastError();
    m.total_bytes = total_b ? total_b : total_;
    m.free_bytes = free_b;
    m.used_bytes = used_->load();
    return m;
  }

 private:
  // The runtime's current device is per host thread and shared by every backend
  // object on it: make it ours (cudaGetDevice is a cheap thread-local read).
  void use() const {
    int cur = -1;
    if (cudaGetDevice(&cur) == cudaSuccess && cur == dev_) return;
    check(cudaSetDevice(dev_), "cudaSetDevice");
  }

  void matmul(const OpDesc& op) {
    const Tensor& w = op.src[0];
    const float* x = f32(op.src[1]);
    float* y = f32(op.dst);
    const int64_t K = w.ne[0], N = w.ne[1], M = op.src[1].n_rows();
    const MatmulPlan plan = plan_matmul(w.type, K, N, M, aligned16(w.data), aligned16(x));
    switch (plan.path) {
      case MatmulPath::kMatvec:
        return matvec(w.type, w.data, K, N, x, M, y, N, stream_);
      case MatmulPath::kGemm:
        return gemm_f32(blas_, f32(w), x, y, N, M, K, N, plan.tf32 && tf32_);
      case MatmulPath::kDequantMatvec:
      case MatmulPath::kDequantGemm: {
        float* tile = scratch(static_cast<size_t>(plan.tile_rows * K) * sizeof(float));
        const size_t row_bytes = w.row_bytes();
        for (int64_t n0 = 0; n0 < N; n0 += plan.tile_rows) {
          const int64_t rows = std::min(plan.tile_rows, N - n0);
          dequantize_rows(w.type, w.data, row_bytes, K, n0, rows, tile, stream_);
          if (plan.path == MatmulPath::kDequantMatvec)
            matvec(GgmlType::F32, tile, K, rows, x, M, y + n0, N, stream_);
          else
            gemm_f32(blas_, tile, x, y + n0, rows, M, K, N, plan.tf32 && tf32_);
        }
        return;
      }
    }
  }

  // Device scratch of at least `bytes`, grown (never shrunk) on demand.
  float* scratch(size_t bytes) {
    if (scratch_.bytes() < bytes) {
      scratch_.reset();  // cudaFree waits for work still using it
      scratch_ = allocate(bytes, MemKind::kDevice);
    }
    return static_cast<float*>(scratch_.data());
  }

  // Host -> device through two pinned buffers: memcpy chunk i while chunk i - 1 is
  // in flight. False (nothing copied) if pinned memory cannot be had.
  bool staged_upload(void* dst, const void* src, size_t bytes) {
    for (int i = 0; i < 2; ++i) {
      if (stage_[i]) continue;
      if (cudaHostAlloc(&stage_[i], kStageBytes, cudaHostAllocDefault) != cudaSuccess ||
          cudaEventCreateWithFlags(&stage_ev_[i], cudaEventDisableTiming) != cudaSuccess) {
        cudaGetLastError();
        if (stage_[i]) cudaFreeHost(stage_[i]);
        stage_[i] = nullptr;
        return false;
      }
    }
    int i = 0;
    for (const Chunk& c : split(bytes, kStageBytes)) {
      check(cudaEventSynchronize(stage_ev_[i]), "cudaEventSynchronize (staging)");
      std::memcpy(stage_[i], static_cast<const uint8_t*>(src) + c.offset, c.bytes);
      check(cudaMemcpyAsync(static_cast<uint8_t*>(dst) + c.offset, stage_[i], c.bytes,
                            cudaMemcpyHostToDevice, stream_),
            "cudaMemcpyAsync (staged upload)");
      check(cudaEventRecord(stage_ev_[i], stream_), "cudaEventRecord (staging)");
      i ^= 1;
    }
    return true;
  }

  int dev_;
  std::string label_;
  uint64_t total_ = 0;
  double peak_Bps_ = 0, copy_Bps_ = 0;
  cudaStream_t stream_ = nullptr;
  Blas* blas_ = nullptr;
  int* err_host_ = nullptr;  // pinned, mapped: kernels write it, synchronize() reads it
  int* err_dev_ = nullptr;
  bool tf32_ = true;
  void* stage_[2] = {nullptr, nullptr};
  cudaEvent_t stage_ev_[2] = {nullptr, nullptr};
  std::shared_ptr<std::atomic<uint64_t>> used_ = std::make_shared<std::atomic<uint64_t>>(0);
  Buffer scratch_;
};

std::unique_ptr<Backend> make_cuda(const BackendOptions& o) {
  return std::make_unique<CudaBackend>(o);
}

}  // namespace

PIVOT_REGISTER_BACKEND(cuda, "NVIDIA GPUs (CUDA): quantized matvec, TF32 GEMM prefill", &make_cuda);

}  // namespace pivot
