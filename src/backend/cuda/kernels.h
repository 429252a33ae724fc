// Host-side launchers of the CUDA backend's kernels (one .cu file per family).
// All take device pointers and enqueue on `stream`; none synchronizes. Shapes
// follow OpKind in pivot/backend.h (ne[0] fastest; K reduction, N outputs, M
// tokens). Kernels that find bad data (an id out of range) set *err to a
// KernelError code instead of faulting; the backend reports it at synchronize().
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "pivot/backend.h"

namespace pivot::cuda {

enum KernelError : int {
  kErrNone = 0,
  kErrRowId = 1,       // get_rows: id outside [0, V)
  kErrPagedTable = 2,  // paged attention: position or block id outside the table/pool
};

// --- matvec.cu: y[m * ldy + n] = Σ_k W[n][k] x[m][k] for n < N, m < M, weights read
// in their GGUF blocks. Only for has_matvec_kernel(type, K) (dispatch.h), with W and
// x 16-byte aligned; cost grows with M (rows in chunks of 8/4/2/1).
void matvec(GgmlType type, const void* W, int64_t K, int64_t N, const float* x, int64_t M, float* y,
            int64_t ldy, cudaStream_t stream);

// --- dequant.cu: rows [n0, n0 + rows) of W (any dequantizable type, row_bytes
// apart) as F32 into out[rows][K]. Element-wise decode; the slow, general path.
bool dequant_supported(GgmlType type);
void dequantize_rows(GgmlType type, const void* W, size_t row_bytes, int64_t K, int64_t n0,
                     int64_t rows, float* out, cudaStream_t stream);
// dst[m] = table row ids[m] as F32, for m < M; ids outside [0, V) set *err.
void get_rows(GgmlType type, const void* table, size_t row_bytes, int64_t K, int64_t V,
              const int32_t* ids, int64_t M, float* dst, int* err, cudaStream_t stream);

// --- blas.cu (cuBLAS, the one vendor-library file): C[M][N] = X[M][K] · A[N][K]ᵀ with
// A, X, C F32 row-major, C rows ldc floats apart. tf32: tensor cores with TF32
// inputs (~1e-3 relative error) instead of full F32.
struct Blas;
Blas* blas_create(cudaStream_t stream);  // throws pivot::Error
void blas_destroy(Blas* b);
void gemm_f32(Blas* b, const float* A, const float* X, float* C, int64_t N, int64_t M, int64_t K,
              int64_t ldc, bool tf32);

// --- norm_rope.cu
void rms_norm(const float* x, const float* w, float* y, int64_t K, int64_t M, float eps,
              cudaStream_t stream);
// x, y: {D, n_head, M} (y may equal x); pos: {M}; factors: {n_rot/2} or null.
void rope(const float* x, float* y, const int32_t* pos, const float* factors, int64_t D,
          int64_t n_head, int64_t M, const RopeParams& p, cudaStream_t stream);

// --- attention.cu. q, dst: {D, n_head, M}. Contiguous cache: k, v {D, n_kv, n_ctx},
// query m at pos0 + m. Paged: k, v pools {D, n_kv, block_size, n_blocks}, table {W, M}
// (see kPagedAttention). window 0: full causal.
bool attention_supported(int64_t D);
void attention(const float* q, const float* k, const float* v, float* dst, int64_t D,
               int64_t n_head, int64_t n_kv, int64_t M, float scale, int32_t pos0, int32_t window,
               cudaStream_t stream);
void paged_attention(const float* q, const float* k, const float* v, const int32_t* table,
                     int64_t table_w, float* dst, int64_t D, int64_t n_head, int64_t n_kv,
                     int64_t block_size, int64_t n_blocks, int64_t M, float scale, int32_t window,
                     int* err, cudaStream_t stream);

// --- elementwise.cu: n elements; add broadcasts b (nb elements) over a.
void silu_mul(const float* a, const float* b, float* d, int64_t n, cudaStream_t stream);
void gelu_mul(const float* a, const float* b, float* d, int64_t n, cudaStream_t stream);
void add(const float* a, const float* b, float* d, int64_t n, int64_t nb, cudaStream_t stream);
void scale(const float* a, float s, float* d, int64_t n, cudaStream_t stream);

// --- bandwidth.cu: device-to-device copy bandwidth (bytes read + written per second,
// best of `reps` copies of `bytes`), as bandwidthTest counts it. Allocates 2×bytes.
double measure_copy_bandwidth(size_t bytes, int reps);

}  // namespace pivot::cuda
