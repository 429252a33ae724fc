// Element-wise ops on F32: silu(a)·b, gelu(a)·b (tanh approximation), a + b
// (b broadcast by rows when shorter), a·s. Grid-stride loops; in place allowed.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {
namespace {

enum class Ew { kSiluMul, kGeluMul, kAdd, kScale };

template <Ew E>
__global__ void ew_kernel(const float* a, const float* b, float* d, int64_t n, int64_t nb,
                          float s) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float x = a[i];
    if constexpr (E == Ew::kSiluMul) {
      d[i] = x / (1.0f + expf(-x)) * b[i];
    } else if constexpr (E == Ew::kGeluMul) {
      constexpr float kSqrt2OverPi = 0.79788456080286535588f;
      d[i] = 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x))) * b[i];
    } else if constexpr (E == Ew::kAdd) {
      d[i] = x + b[nb == n ? i : i % nb];
    } else {
      d[i] = x * s;
    }
  }
}

template <Ew E>
void launch(const float* a, const float* b, float* d, int64_t n, int64_t nb, float s,
            cudaStream_t st) {
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(blocks_for(n, 256), 65535));
  ew_kernel<E><<<grid, 256, 0, st>>>(a, b, d, n, nb, s);
  PIVOT_CUDA_LAUNCHED();
}

}  // namespace

void silu_mul(const float* a, const float* b, float* d, int64_t n, cudaStream_t st) {
  launch<Ew::kSiluMul>(a, b, d, n, n, 0, st);
}
void gelu_mul(const float* a, const float* b, float* d, int64_t n, cudaStream_t st) {
  launch<Ew::kGeluMul>(a, b, d, n, n, 0, st);
}
void add(const float* a, const float* b, float* d, int64_t n, int64_t nb, cudaStream_t st) {
  launch<Ew::kAdd>(a, b, d, n, nb, 0, st);
}
void scale(const float* a, float s, float* d, int64_t n, cudaStream_t st) {
  launch<Ew::kScale>(a, nullptr, d, n, n, s, st);
}

}  // namespace pivot::cuda
