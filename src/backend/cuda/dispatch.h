// Host-side decisions of the CUDA backend, kept free of CUDA calls so they are
// unit-tested on machines without a GPU (tests/cuda): what supports() answers,
// which path a matmul takes, how big uploads and dequantized GEMM tiles are cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pivot/backend.h"

namespace pivot::cuda {

// Activation rows up to which matmul runs the matvec kernels (in chunks of
// 8/4/2/1 rows, re-reading the weights per chunk); above it, dequantize + GEMM.
inline constexpr int64_t kMaxMatvecRows = 16;
// Largest head_dim the attention kernels take (dims per lane are a template).
inline constexpr int64_t kMaxHeadDim = 256;
// Bytes of F32 scratch one dequantized GEMM tile may use.
inline constexpr size_t kGemmScratchBytes = size_t{256} << 20;
// H2D copies at least this large go through pinned staging buffers.
inline constexpr size_t kStagedCopyMin = size_t{4} << 20;
inline constexpr size_t kStageBytes = size_t{32} << 20;

// A matvec kernel exists for the type at this K (F32, F16, BF16, Q4_0, Q4_1, Q8_0,
// Q4_K, Q6_K; K a multiple of the vector width / block size).
bool has_matvec_kernel(GgmlType type, int64_t K);

enum class MatmulPath : uint8_t {
  kMatvec,         // matvec kernel on the GGUF blocks
  kDequantMatvec,  // dequantize W to F32 tiles, F32 matvec kernel
  kGemm,           // F32 W straight into the GEMM
  kDequantGemm,    // dequantize W to F32 tiles, GEMM
};

struct MatmulPlan {
  MatmulPath path = MatmulPath::kMatvec;
  int64_t tile_rows = 0;  // W rows per dequantized tile (dequant paths)
  bool tf32 = false;      // GEMM may use TF32 tensor cores (only above kMaxMatvecRows)
};

// K, N, M as in OpKind::kMatmul; *_aligned: W / x start on 16-byte boundaries.
MatmulPlan plan_matmul(GgmlType type, int64_t K, int64_t N, int64_t M, bool w_aligned,
                       bool x_aligned);

// What CudaBackend::supports() answers (the device is not consulted).
Support support_of(const OpDesc& op);

struct Chunk {
  size_t offset, bytes;
};
// [0, bytes) cut into pieces of at most `piece` bytes, in order.
std::vector<Chunk> split(size_t bytes, size_t piece);

// "cuda:0 (NVIDIA H200, sm_90, 139.8 GiB)"
std::string device_label(int index, const char* name, int cc_major, int cc_minor,
                         uint64_t memory_bytes);

}  // namespace pivot::cuda
