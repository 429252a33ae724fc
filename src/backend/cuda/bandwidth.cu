// Device-to-device copy bandwidth, the denominator of the decode roofline that
// `pivot bench` prints for a GPU: cudaMemcpyAsync between two device buffers,
// timed with events, counting bytes read plus bytes written (as NVIDIA's
// bandwidthTest does).
#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {

double measure_copy_bandwidth(size_t bytes, int reps) {
  void *a = nullptr, *b = nullptr;
  cudaEvent_t e0 = nullptr, e1 = nullptr;
  double best = 0;
  try {
    PIVOT_CUDA_CHECK(cudaMalloc(&a, bytes));
    PIVOT_CUDA_CHECK(cudaMalloc(&b, bytes));
    PIVOT_CUDA_CHECK(cudaMemset(a, 1, bytes));
    PIVOT_CUDA_CHECK(cudaEventCreate(&e0));
    PIVOT_CUDA_CHECK(cudaEventCreate(&e1));
    PIVOT_CUDA_CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));  // warm-up
    for (int r = 0; r < reps; ++r) {
      PIVOT_CUDA_CHECK(cudaEventRecord(e0));
      PIVOT_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice));
      PIVOT_CUDA_CHECK(cudaEventRecord(e1));
      PIVOT_CUDA_CHECK(cudaEventSynchronize(e1));
      float ms = 0;
      PIVOT_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
      if (ms > 0) best = std::max(best, 2.0 * static_cast<double>(bytes) / (ms * 1e-3));
    }
  } catch (...) {
    cudaFree(a);
    cudaFree(b);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    throw;
  }
  cudaFree(a);
  cudaFree(b);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return best;
}

}  // namespace pivot::cuda
