// The cpu backend's prefill GEMM: y[M][N] = x[M][K] · W[N][K]ᵀ in f32 with f32
// accumulation, for M above the fused decode path. Weights are dequantized once
// per panel of up to kGemmPanelRows rows and packed k-major in strips of kGemmNr
// columns; a register-blocked tile kernel (kGemmMr x kGemmNr outputs) broadcasts
// activations against a packed strip, K blocked by kGemmKc so the strip stays in
// L1. Classic Goto/BLIS blocking; the tile kernel is chosen at run time (AVX2+FMA
// or portable scalar).
#pragma once

#include <cstdint>

namespace pivot::cpu {

inline constexpr int kGemmMr = 6;               // activation rows per tile
inline constexpr int kGemmNr = 16;              // weight rows (output columns) per strip
inline constexpr int64_t kGemmKc = 128;         // K elements per block
inline constexpr int64_t kGemmPanelRows = 128;  // most weight rows per panel (one pool task)

// c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0) + Σ_{k < kc} x[i * ldx + k] · p[k * kGemmNr +
// j] for i < mr (1..kGemmMr), j < nr (1..kGemmNr); p is one packed strip block.
using GemmTile = void (*)(int mr, int nr, int64_t kc, const float* x, int64_t ldx, const float* p,
                          float* c, int64_t ldc, bool accumulate);

GemmTile gemm_tile_scalar();
GemmTile gemm_tile_avx2();  // nullptr if not compiled in (non-x86 builds)

// Floats a packed panel of n_rows weight rows of K elements occupies.
int64_t gemm_panel_floats(int64_t n_rows, int64_t K);

// Packs weight rows rows[0 .. nr) (nr <= kGemmNr, K floats each) as one strip of
// kGemmNr * K floats, k-major; columns nr .. kGemmNr are zero. Strip s of a panel
// starts at panel + s * kGemmNr * K.
void gemm_pack_strip(const float* const* rows, int64_t nr, int64_t K, float* strip);

// y[m * ldy + n] = Σ_k x[m * K + k] · W[n][k] for m < M, n < n_rows, W packed in `panel`.
void gemm_panel(GemmTile tile, const float* x, int64_t M, int64_t K, const float* panel,
                int64_t n_rows, float* y, int64_t ldy);

}  // namespace pivot::cpu
