// RMS norm (one thread block per row, f32 sum of squares; y may alias x) and
// rotary embedding (one thread per rotated pair; the angle and its sine/cosine in
// f64 as in the reference backend, since f32 loses ~1e-4 at positions in the
// thousands).
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {
namespace {

constexpr int kNormThreads = 256;

__global__ void __launch_bounds__(kNormThreads)
    rms_norm_kernel(const float* x, const float* __restrict__ w, float* y, int64_t K, float eps) {
  const float* xr = x + blockIdx.x * K;
  float* yr = y + blockIdx.x * K;
  float ss = 0.0f;
  for (int64_t k = threadIdx.x; k < K; k += kNormThreads) ss += xr[k] * xr[k];
  __shared__ float part[kNormThreads / kWarp];
  ss = warp_sum(ss);
  if (threadIdx.x % kWarp == 0) part[threadIdx.x / kWarp] = ss;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < kNormThreads / kWarp; ++i) total += part[i];
  const float inv = static_cast<float>(1.0 / sqrt(static_cast<double>(total) / K + eps));
  for (int64_t k = threadIdx.x; k < K; k += kNormThreads) yr[k] = (xr[k] * inv) * w[k];
}

// Thread i of row (m, h): pair i < n_rot / 2, else copies dim n_rot + (i - n_rot/2).
__global__ void rope_kernel(const float* x, float* y, const int32_t* __restrict__ pos,
                            const float* __restrict__ factors, int64_t D, int64_t n_head, int64_t M,
                            RopeParams p) {
  const int half = p.n_rot / 2;
  const int64_t per_row = half + (D - p.n_rot);
  const int64_t total = M * n_head * per_row;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = t / per_row, i = t % per_row, m = row / n_head;
    const float* in = x + row * D;
    float* out = y + row * D;
    if (i >= half) {  // unrotated tail
      const int64_t d = p.n_rot + (i - half);
      out[d] = in[d];
      continue;
    }
    double theta = static_cast<double>(pos[m]) * p.freq_scale *
                   pow(static_cast<double>(p.freq_base), -2.0 * static_cast<double>(i) / p.n_rot);
    if (factors) theta /= factors[i];
    double s, c;
    sincos(theta, &s, &c);
    const bool norm = p.mode == RopeMode::kNorm;
    const int64_t i0 = norm ? 2 * i : i, i1 = norm ? 2 * i + 1 : i + half;
    const float a = in[i0], b = in[i1];
    out[i0] = static_cast<float>(a * c - b * s);
    out[i1] = static_cast<float>(a * s + b * c);
  }
}

}  // namespace

void rms_norm(const float* x, const float* w, float* y, int64_t K, int64_t M, float eps,
              cudaStream_t st) {
  rms_norm_kernel<<<static_cast<unsigned>(M), kNormThreads, 0, st>>>(x, w, y, K, eps);
  PIVOT_CUDA_LAUNCHED();
}

void rope(const float* x, float* y, const int32_t* pos, const float* factors, int64_t D,
          int64_t n_head, int64_t M, const RopeParams& p, cudaStream_t st) {
  const int64_t total = M * n_head * (p.n_rot / 2 + (D - p.n_rot));
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(blocks_for(total, 256), 65535));
  rope_kernel<<<grid, 256, 0, st>>>(x, y, pos, factors, D, n_head, M, p);
  PIVOT_CUDA_LAUNCHED();
}

}  // namespace pivot::cuda
