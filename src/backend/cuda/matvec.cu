// Decode-path matmul: y[m][n] = Σ_k W[n][k] x[m][k] for a few activation rows,
// reading W once in its GGUF blocks (memory-bound: the bytes of W are the cost).
//
// Work split: a thread block (8 warps) owns R consecutive weight rows (4 for one
// activation row, else 2); its warps split each row's blocks, so even a short
// matrix fills the GPU and each warp has R rows of loads in flight. Within a
// warp, LPB lanes share one GGUF block (each decodes a contiguous slice of it), so
// one warp load instruction reads 32/LPB consecutive blocks: coalesced, without a
// repacked copy of the weights. The x slice a lane needs is loaded once and used
// for all R rows. Partial sums are f32, reduced by warp shuffles then through
// shared memory. The per-type block decoding is in blocks.cuh.
#include "blocks.cuh"
#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {
namespace {

constexpr int kWarps = 8;  // per thread block

template <class T, int MC, int kRows>
__global__ void __launch_bounds__(kWarps* kWarp)
    matvec_kernel(const uint8_t* __restrict__ W, size_t row_bytes, int64_t n_blocks,
                  const float* __restrict__ x, int64_t K, float* __restrict__ y, int64_t N,
                  int64_t ldy) {
  constexpr int kPerIter = kWarp / T::kLanes;  // blocks one warp covers per iteration
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int t = lane % T::kLanes;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int rows = N - n0 < kRows ? static_cast<int>(N - n0) : kRows;
  float acc[kRows][MC] = {};
#pragma unroll 2
  for (int64_t b = warp * kPerIter + lane / T::kLanes; b < n_blocks; b += kWarps * kPerIter) {
    float v[MC][T::kFrag];
#pragma unroll
    for (int m = 0; m < MC; ++m) T::load_x(x + m * K, b, t, v[m]);
#pragma unroll
    for (int r = 0; r < kRows; ++r)
      if (r < rows) T::template dot<MC>(W + (n0 + r) * row_bytes + b * T::kBytes, t, v, acc[r]);
  }
  __shared__ float part[kWarps][kRows][MC];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int m = 0; m < MC; ++m) {
      const float s = warp_sum(acc[r][m]);
      if (lane == 0) part[warp][r][m] = s;
    }
  __syncthreads();
  if (threadIdx.x < kRows * MC) {
    const int r = threadIdx.x / MC, m = threadIdx.x % MC;
    if (r < rows) {
      float s = 0;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) s += part[w][r][m];
      y[m * ldy + n0 + r] = s;
    }
  }
}

template <class T, int MC>
void launch_chunk(const uint8_t* w, size_t row_bytes, int64_t n_blocks, const float* x, int64_t K,
                  float* y, int64_t N, int64_t ldy, cudaStream_t st) {
  constexpr int kRows = MC == 1 ? 4 : 2;
  matvec_kernel<T, MC, kRows>
      <<<blocks_for(N, kRows), kWarps * kWarp, 0, st>>>(w, row_bytes, n_blocks, x, K, y, N, ldy);
  PIVOT_CUDA_LAUNCHED();
}

template <class T>
void launch(const void* W, int64_t K, int64_t N, const float* x, int64_t M, float* y, int64_t ldy,
            cudaStream_t st) {
  const size_t row_bytes = static_cast<size_t>(K / T::kElems) * T::kBytes;
  const int64_t n_blocks = K / T::kElems;
  const auto* w = static_cast<const uint8_t*>(W);
  for (int64_t m0 = 0; m0 < M;) {  // activation rows in chunks of 8, 4, 2, 1
    const int64_t left = M - m0;
    const float* xm = x + m0 * K;
    float* ym = y + m0 * ldy;
    if (left >= 8) {
      launch_chunk<T, 8>(w, row_bytes, n_blocks, xm, K, ym, N, ldy, st);
      m0 += 8;
    } else if (left >= 4) {
      launch_chunk<T, 4>(w, row_bytes, n_blocks, xm, K, ym, N, ldy, st);
      m0 += 4;
    } else if (left >= 2) {
      launch_chunk<T, 2>(w, row_bytes, n_blocks, xm, K, ym, N, ldy, st);
      m0 += 2;
    } else {
      launch_chunk<T, 1>(w, row_bytes, n_blocks, xm, K, ym, N, ldy, st);
      m0 += 1;
    }
  }
}

}  // namespace

void matvec(GgmlType type, const void* W, int64_t K, int64_t N, const float* x, int64_t M, float* y,
            int64_t ldy, cudaStream_t st) {
  switch (type) {
    case GgmlType::F32:
      return launch<F32W>(W, K, N, x, M, y, ldy, st);
    case GgmlType::F16:
      return launch<Half8W<false>>(W, K, N, x, M, y, ldy, st);
    case GgmlType::BF16:
      return launch<Half8W<true>>(W, K, N, x, M, y, ldy, st);
    case GgmlType::Q4_0:
      return launch<Q4_0W>(W, K, N, x, M, y, ldy, st);
    case GgmlType::Q4_1:
      return launch<Q4_1W>(W, K, N, x, M, y, ldy, st);
    case GgmlType::Q8_0:
      return launch<Q8_0W>(W, K, N, x, M, y, ldy, st);
    case GgmlType::Q4_K:
      return launch<Q4_KW>(W, K, N, x, M, y, ldy, st);
    case GgmlType::Q6_K:
      return launch<Q6_KW>(W, K, N, x, M, y, ldy, st);
    default:
      fail("cuda: matvec: no kernel for %s", ggml_type_name(static_cast<uint32_t>(type)).c_str());
  }
}

}  // namespace pivot::cuda
