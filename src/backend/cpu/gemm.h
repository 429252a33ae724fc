// The cpu backend's prefill GEMM: y[M][N] = x[M][K] · W[N][K]ᵀ in f32 with f32
// accumulation, for M above the fused decode path. Goto/BLIS blocking: the
// activations are packed once per matmul into micro-panels of kGemmMr rows
// (k-major, so the tile broadcasts from one contiguous stream); a task owns a
// panel of up to kGemmPanelRows weight rows and walks K in blocks of kGemmKc:
// it dequantizes the block (F16 converted inside the packer) into strips of
// kGemmNr columns, k-major and back to back (128 KB, still in L2 when read), then
// runs every micro-panel of x (kGemmMr x kGemmKc floats, 6 KB, stays in L1)
// against the strips. F16 weights already in strip order (f16_strips.h) skip the
// packing: the tiles read the halves in place (gemm_panel_block_f16). The kernels
// are chosen at run time (AVX2+FMA+F16C or portable scalar). Buffers the tile reads
// are best 64-byte aligned (a 32-byte load then never splits a cache line). Prefill
// attention (attention_cpu.h) uses the whole-K panel form (gemm_pack_strip,
// gemm_panel).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels.h"
#include "pivot/ggml_type.h"

namespace pivot::cpu {

inline constexpr int kGemmMr = 6;               // activation rows per tile (micro-panel)
inline constexpr int kGemmNr = 16;              // weight rows (output columns) per strip
inline constexpr int64_t kGemmKc = 256;         // K elements per block
inline constexpr int64_t kGemmPanelRows = 128;  // most weight rows per panel (one pool task)

struct GemmKernels {
  const char* name;
  // c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + Σ_{k < kc} xp[k * kGemmMr + i] ·
  // p[k * kGemmNr + j] for i < mr (1..kGemmMr), j < nr (1..kGemmNr): one packed micro-panel of
  // x against one strip block. Rows mr .. kGemmMr of xp are read (they hold zeros).
  void (*tile)(int mr, int nr, int64_t kc, const float* xp, const float* p, float* c, int64_t ldc,
               bool accumulate);
  // As tile, with p in IEEE halves (an F16 strip, f16_strips.h), widened exactly as read.
  void (*tile_f16)(int mr, int nr, int64_t kc, const float* xp, const uint16_t* p, float* c,
                   int64_t ldc, bool accumulate);
  // dst[k * kGemmNr + j] = rows[j][k] for k < kc, j < nr (nr <= kGemmNr); columns nr ..
  // kGemmNr are zero.
  void (*pack_strip)(const float* const* rows, int64_t nr, int64_t kc, float* dst);
  // As pack_strip, from rows of IEEE half floats (GGUF F16), converted exactly.
  void (*pack_strip_f16)(const uint16_t* const* rows, int64_t nr, int64_t kc, float* dst);
};

const GemmKernels& gemm_kernels_scalar();
const GemmKernels* gemm_kernels_avx2();  // nullptr if not compiled in (non-x86 builds)

// Floats the packed activations of M rows x K occupy: M rounded up to kGemmMr, times K.
int64_t gemm_x_floats(int64_t M, int64_t K);

// Packs micro-panels p0 .. p1 (rows 6 p .. 6 p + 5 of x, row m at x + m * ldx; rows >= M
// zero) of all K into xp, which holds gemm_x_floats(M, K): K block b (k0 = b kGemmKc, kc
// wide) of micro-panel p starts at xp + k0 * Mp + p * kc * kGemmMr (Mp: M rounded up to
// kGemmMr). Different panel ranges write disjoint floats (threads may split the work).
void gemm_pack_x(const float* x, int64_t ldx, int64_t M, int64_t K, int64_t p0, int64_t p1,
                 float* xp);

// Packs micro-panel p of the gemm_pack_x layout for M rows from its n_rows (1 ..
// kGemmMr) rows, row i at rows + i * ldx; the panel's other rows are zero.
void gemm_pack_x_panel(const float* rows, int64_t ldx, int n_rows, int64_t M, int64_t K, int64_t p,
                       float* xp);

// Floats a packed panel of n_rows weight rows of K elements occupies.
int64_t gemm_panel_floats(int64_t n_rows, int64_t K);

// Packs weight rows rows[0 .. nr) (nr <= kGemmNr, K floats each) as one strip of
// kGemmNr * K floats, k-major; columns nr .. kGemmNr are zero. Strip s of a panel
// starts at panel + s * kGemmNr * K.
void gemm_pack_strip(const GemmKernels& g, const float* const* rows, int64_t nr, int64_t K,
                     float* strip);

// y[m * ldy + n] = Σ_k x[m][k] · W[n][k] for m < M, n < n_rows: x packed by gemm_pack_x,
// W packed in `panel`.
void gemm_panel(const GemmKernels& g, const float* xp, int64_t M, int64_t K, const float* panel,
                int64_t n_rows, float* y, int64_t ldy);

// Packs the K block of ns <= kGemmNr weight rows of `type` whose first bytes are at
// src + r * row_bytes (already offset to the block's first element) as one strip of
// kGemmNr x kc floats: F32 read in place, F16 converted inside the packer, other types
// dequantized into `stage` (kGemmNr * kc floats) by dq (kc <= kChunk), or by
// quant.h's dequantize_row when dq is null.
void gemm_pack_weights(const GemmKernels& g, GgmlType type, DequantChunk dq, const uint8_t* src,
                       size_t row_bytes, int64_t ns, int64_t kc, float* stage, float* strip);

// Prefetches `bytes` from each of n_rows rows (src + r * row_bytes) into L2: the
// next K block of a strip, whose rows are too short and far apart for the hardware
// prefetchers, is then in cache when it is packed.
void gemm_prefetch_rows(const uint8_t* src, size_t row_bytes, int64_t n_rows, size_t bytes);

// Floats one K block of a packed panel of n_rows weight rows occupies.
int64_t gemm_block_floats(int64_t n_rows);

// K block k0 of y = x · Wᵀ for m_begin <= m < m_end (m_begin a multiple of kGemmMr, m_end <=
// M), n < n_rows: y[m * ldy + n] = (k0 > 0 ? y[m * ldy + n] : 0) + Σ_{k0 <= k < k0 + kc}
// x[m][k] · W[n][k], kc = min(kGemmKc, K - k0). x packed by gemm_pack_x for M rows; `block`
// holds the block's strips back to back (strip s at block + s * kGemmNr * kc), so the tiles
// read one contiguous stream.
void gemm_panel_block(const GemmKernels& g, const float* xp, int64_t M, int64_t K, int64_t k0,
                      const float* block, int64_t n_rows, float* y, int64_t ldy, int64_t m_begin,
                      int64_t m_end);

// As gemm_panel_block for a weight in the F16 strip layout (f16_strips.h), read in
// place, widened by the tile: n_rows a multiple of kGemmNr, strip s (rows 16 s .. 16 s +
// 15) at groups + s * kGemmNr * K halves, its K block k0 at + kGemmNr * k0.
void gemm_panel_block_f16(const GemmKernels& g, const float* xp, int64_t M, int64_t K, int64_t k0,
                          const uint16_t* groups, int64_t n_rows, float* y, int64_t ldy,
                          int64_t m_begin, int64_t m_end);

// p rounded up to a 64-byte boundary; a buffer of n floats needs n + 15 to align.
float* gemm_align(float* p);

}  // namespace pivot::cpu
