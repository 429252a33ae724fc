// Causal grouped-query attention over a contiguous or a paged KV cache, for prefill
// and decode alike: one thread block per (query head, query token); its warps take
// every kWarps-th key and keep an online softmax (running max, running sum, f32
// accumulator: Milakov & Gimelshein 2018, "Online normalizer calculation for
// softmax"), merged across warps at the end. Each lane owns head dims lane + 32i.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kMaxHeadDim = 256;

struct Args {
  const float* q;
  const float* k;
  const float* v;
  float* dst;
  int64_t D, n_head, n_kv, M;
  float scale;
  int32_t pos0, window;
  // Paged only (table == nullptr: contiguous cache).
  const int32_t* table;
  int64_t table_w, block_size, n_blocks;
  int* err;
};

// Rows of k/v for position j of query m's sequence; nullptr if the table is bad.
__device__ __forceinline__ int64_t kv_row(const Args& a, const int32_t* trow, int64_t j) {
  if (!a.table) return j;
  const int32_t blk = trow[1 + j / a.block_size];
  if (blk < 0 || blk >= a.n_blocks) return -1;
  return static_cast<int64_t>(blk) * a.block_size + j % a.block_size;
}

template <int NDL>  // head dims per lane: D <= 32 * NDL
__global__ void __launch_bounds__(kWarps* kWarp) attention_kernel(Args a) {
  const int64_t h = blockIdx.x, m = blockIdx.y;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int64_t D = a.D, kvh = h / (a.n_head / a.n_kv);
  const int32_t* trow = a.table ? a.table + m * a.table_w : nullptr;
  int64_t p = a.pos0 + m;
  bool bad = false;
  if (trow) {
    p = trow[0];
    bad = p < 0 || 1 + p / a.block_size >= a.table_w;
  }
  const int64_t lo = bad ? 0 : (a.window > 0 && p - a.window + 1 > 0 ? p - a.window + 1 : 0);
  const int64_t hi = bad ? -1 : p;  // keys lo ..= hi

  float qv[NDL], acc[NDL];
  const float* qrow = a.q + (m * a.n_head + h) * D;
#pragma unroll
  for (int i = 0; i < NDL; ++i) {
    const int64_t d = lane + kWarp * i;
    qv[i] = d < D ? qrow[d] * a.scale : 0.0f;
    acc[i] = 0.0f;
  }
  float run_max = -INFINITY, run_sum = 0.0f;
  for (int64_t j = lo + warp; j <= hi; j += kWarps) {
    const int64_t row = kv_row(a, trow, j);
    if (row < 0) {
      bad = true;
      break;
    }
    const float* kr = a.k + (row * a.n_kv + kvh) * D;
    const float* vr = a.v + (row * a.n_kv + kvh) * D;
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < NDL; ++i) {
      const int64_t d = lane + kWarp * i;
      if (d < D) s += qv[i] * kr[d];
    }
    s = warp_sum(s);
    const float new_max = fmaxf(run_max, s);
    const float c = expf(run_max - new_max), e = expf(s - new_max);
    run_sum = run_sum * c + e;
#pragma unroll
    for (int i = 0; i < NDL; ++i) {
      const int64_t d = lane + kWarp * i;
      acc[i] = acc[i] * c + (d < D ? e * vr[d] : 0.0f);
    }
    run_max = new_max;
  }
  if (bad && lane == 0 && a.err) *static_cast<volatile int*>(a.err) = kErrPagedTable;

  __shared__ float s_max[kWarps], s_sum[kWarps];
  __shared__ float s_acc[kWarps][kMaxHeadDim];
  if (lane == 0) {
    s_max[warp] = run_max;
    s_sum[warp] = run_sum;
  }
#pragma unroll
  for (int i = 0; i < NDL; ++i) {
    const int64_t d = lane + kWarp * i;
    if (d < D) s_acc[warp][d] = acc[i];
  }
  __syncthreads();
  float gmax = -INFINITY;
  for (int w = 0; w < kWarps; ++w) gmax = fmaxf(gmax, s_max[w]);
  float* out = a.dst + (m * a.n_head + h) * D;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    float num = 0.0f, den = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      if (s_max[w] == -INFINITY) continue;  // this warp saw no key
      const float f = expf(s_max[w] - gmax);
      num += f * s_acc[w][d];
      den += f * s_sum[w];
    }
    out[d] = den > 0.0f ? num / den : 0.0f;
  }
}

void launch(const Args& a, cudaStream_t st) {
  const dim3 grid(static_cast<unsigned>(a.n_head), static_cast<unsigned>(a.M));
  const int threads = kWarps * kWarp;
  if (a.D <= 32) {
    attention_kernel<1><<<grid, threads, 0, st>>>(a);
  } else if (a.D <= 64) {
    attention_kernel<2><<<grid, threads, 0, st>>>(a);
  } else if (a.D <= 128) {
    attention_kernel<4><<<grid, threads, 0, st>>>(a);
  } else {
    attention_kernel<8><<<grid, threads, 0, st>>>(a);
  }
  PIVOT_CUDA_LAUNCHED();
}

}  // namespace

bool attention_supported(int64_t D) {
  return D >= 1 && D <= kMaxHeadDim;
}

void attention(const float* q, const float* k, const float* v, float* dst, int64_t D,
               int64_t n_head, int64_t n_kv, int64_t M, float scale, int32_t pos0, int32_t window,
               cudaStream_t st) {
  launch(Args{q, k, v, dst, D, n_head, n_kv, M, scale, pos0, window, nullptr, 0, 1, 0, nullptr},
         st);
}

void paged_attention(const float* q, const float* k, const float* v, const int32_t* table,
                     int64_t table_w, float* dst, int64_t D, int64_t n_head, int64_t n_kv,
                     int64_t block_size, int64_t n_blocks, int64_t M, float scale, int32_t window,
                     int* err, cudaStream_t st) {
  launch(Args{q, k, v, dst, D, n_head, n_kv, M, scale, 0, window, table, table_w, block_size,
              n_blocks, err},
         st);
}

}  // namespace pivot::cuda
