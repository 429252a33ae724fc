// Element-wise dequantization of every GGUF block type quant.h can decode: the
// general (slow) path behind get_rows, the prefill GEMM's weight tiles and matmul
// for types without a matvec kernel. Each formula mirrors src/format/quant*.cc
// operation for operation, so results equal the reference backend's bit for bit
// (up to fused multiply-adds).
#include <algorithm>

#include "blocks.cuh"
#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {
namespace {

// out[r][k] = W row n0 + r, element k; one thread per element.
template <GgmlType T>
__global__ void dequant_kernel(const uint8_t* __restrict__ W, size_t row_bytes, int64_t K,
                               int64_t n0, int64_t rows, float* __restrict__ out) {
  const int64_t total = rows * K;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / K, k = i % K;
    out[i] = row_elem<T>(W + (n0 + r) * row_bytes, k);
  }
}

// One thread block per id.
template <GgmlType T>
__global__ void get_rows_kernel(const uint8_t* __restrict__ table, size_t row_bytes, int64_t K,
                                int64_t V, const int32_t* __restrict__ ids, float* __restrict__ dst,
                                int* err) {
  const int64_t m = blockIdx.x;
  const int32_t id = ids[m];
  float* out = dst + m * K;
  if (id < 0 || id >= V) {
    if (threadIdx.x == 0) *static_cast<volatile int*>(err) = kErrRowId;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) out[k] = 0.0f;
    return;
  }
  const uint8_t* row = table + static_cast<int64_t>(id) * row_bytes;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) out[k] = row_elem<T>(row, k);
}

// Calls f.template run<T>() for the runtime type; false if it is not decodable.
template <class F>
bool with_type(GgmlType type, const F& f) {
  switch (type) {
#define PIVOT_CASE(T)              \
  case GgmlType::T:                \
    f.template run<GgmlType::T>(); \
    return true;
    PIVOT_CASE(F32)
    PIVOT_CASE(F16)
    PIVOT_CASE(BF16)
    PIVOT_CASE(Q4_0)
    PIVOT_CASE(Q4_1)
    PIVOT_CASE(Q5_0)
    PIVOT_CASE(Q5_1)
    PIVOT_CASE(Q8_0)
    PIVOT_CASE(Q2_K)
    PIVOT_CASE(Q3_K)
    PIVOT_CASE(Q4_K)
    PIVOT_CASE(Q5_K)
    PIVOT_CASE(Q6_K)
    PIVOT_CASE(Q8_K)
#undef PIVOT_CASE
    default:
      return false;
  }
}

struct Nothing {
  template <GgmlType T>
  void run() const {}
};

struct DequantLaunch {
  const uint8_t* w;
  size_t row_bytes;
  int64_t K, n0, rows;
  float* out;
  cudaStream_t st;
  template <GgmlType T>
  void run() const {
    const int64_t total = rows * K;
    const unsigned grid = static_cast<unsigned>(std::min<int64_t>(blocks_for(total, 256), 65535));
    dequant_kernel<T><<<grid, 256, 0, st>>>(w, row_bytes, K, n0, rows, out);
  }
};

struct GetRowsLaunch {
  const uint8_t* table;
  size_t row_bytes;
  int64_t K, V;
  const int32_t* ids;
  int64_t M;
  float* dst;
  int* err;
  cudaStream_t st;
  template <GgmlType T>
  void run() const {
    get_rows_kernel<T>
        <<<static_cast<unsigned>(M), 256, 0, st>>>(table, row_bytes, K, V, ids, dst, err);
  }
};

}  // namespace

bool dequant_supported(GgmlType type) {
  return with_type(type, Nothing{});
}

void dequantize_rows(GgmlType type, const void* W, size_t row_bytes, int64_t K, int64_t n0,
                     int64_t rows, float* out, cudaStream_t st) {
  const DequantLaunch l{static_cast<const uint8_t*>(W), row_bytes, K, n0, rows, out, st};
  if (!with_type(type, l))
    fail("cuda: dequantize: type %s is not supported",
         ggml_type_name(static_cast<uint32_t>(type)).c_str());
  PIVOT_CUDA_LAUNCHED();
}

void get_rows(GgmlType type, const void* table, size_t row_bytes, int64_t K, int64_t V,
              const int32_t* ids, int64_t M, float* dst, int* err, cudaStream_t st) {
  const GetRowsLaunch l{static_cast<const uint8_t*>(table), row_bytes, K, V, ids, M, dst, err, st};
  if (!with_type(type, l))
    fail("cuda: get_rows: type %s is not supported",
         ggml_type_name(static_cast<uint32_t>(type)).c_str());
  PIVOT_CUDA_LAUNCHED();
}

}  // namespace pivot::cuda
