// cuBLAS: the one file of the CUDA backend that calls an NVIDIA-only library.
// A port replaces it with the vendor BLAS (hipBLAS/rocBLAS, muBLAS, mcBLAS), whose
// GemmEx calls take the same arguments. Row-major C[M][N] = X[M][K] · A[N][K]ᵀ is
// column-major C(N×M) = A(K×N)ᵀ · X(K×M).
#include <cublas_v2.h>

#include "common.cuh"
#include "kernels.h"

namespace pivot::cuda {

struct Blas {
  cublasHandle_t handle = nullptr;
};

namespace {

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail("cuda: %s failed: %s", what, cublasGetStatusString(s));
}

}  // namespace

Blas* blas_create(cudaStream_t stream) {
  auto* b = new Blas;
  cublasStatus_t s = cublasCreate(&b->handle);
  if (s != CUBLAS_STATUS_SUCCESS) {
    delete b;
    check(s, "cublasCreate");
  }
  check(cublasSetStream(b->handle, stream), "cublasSetStream");
  return b;
}

void blas_destroy(Blas* b) {
  if (!b) return;
  if (b->handle) cublasDestroy(b->handle);
  delete b;
}

void gemm_f32(Blas* b, const float* A, const float* X, float* C, int64_t N, int64_t M, int64_t K,
              int64_t ldc, bool tf32) {
  const float one = 1.0f, zero = 0.0f;
  check(cublasGemmEx(b->handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                     static_cast<int>(K), &one, A, CUDA_R_32F, static_cast<int>(K), X, CUDA_R_32F,
                     static_cast<int>(K), &zero, C, CUDA_R_32F, static_cast<int>(ldc),
                     tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

}  // namespace pivot::cuda
