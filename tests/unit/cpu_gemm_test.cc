// The cpu backend's prefill GEMM (src/backend/cpu/gemm.h) with each kernel set
// (scalar fallback and AVX2 where compiled: tile and strip packer), against a
// double-precision triple loop, on shapes off the 6 x 16 tile, the 8-wide
// transpose and the 256-wide K block.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "../../src/backend/cpu/f16_strips.h"
#include "../../src/backend/cpu/gemm.h"
#include "../../src/backend/cpu/kernels.h"
#include "pivot/quant.h"

namespace pivot::cpu {
namespace {

// y = x · Wᵀ through packed activations and panels of kGemmPanelRows rows, as
// cpu_backend does (the activations packed in two ranges of micro-panels).
std::vector<float> gemm(const GemmKernels& g, const std::vector<float>& x,
                        const std::vector<float>& w, int64_t M, int64_t N, int64_t K) {
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  std::vector<float> panel(static_cast<size_t>(gemm_panel_floats(kGemmPanelRows, K)));
  std::vector<float> xp(static_cast<size_t>(gemm_x_floats(M, K)), NAN);
  const int64_t n_mpanels = (M + kGemmMr - 1) / kGemmMr;
  gemm_pack_x(x.data(), K, M, K, 0, n_mpanels / 2, xp.data());
  gemm_pack_x(x.data(), K, M, K, n_mpanels / 2, n_mpanels, xp.data());
  for (int64_t n0 = 0; n0 < N; n0 += kGemmPanelRows) {
    const int64_t nr = std::min(kGemmPanelRows, N - n0);
    for (int64_t s0 = 0; s0 < nr; s0 += kGemmNr) {
      const float* rows[kGemmNr];
      const int64_t ns = std::min<int64_t>(kGemmNr, nr - s0);
      for (int64_t r = 0; r < ns; ++r) rows[r] = w.data() + (n0 + s0 + r) * K;
      gemm_pack_strip(g, rows, ns, K, panel.data() + s0 * K);
    }
    gemm_panel(g, xp.data(), M, K, panel.data(), nr, y.data() + n0, N);
  }
  return y;
}

// The scalar kernel set, and the AVX2 one where compiled in and this CPU has it.
std::vector<const GemmKernels*> gemm_kernel_sets() {
  std::vector<const GemmKernels*> sets = {&gemm_kernels_scalar()};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (gemm_kernels_avx2() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    sets.push_back(gemm_kernels_avx2());
#endif
  return sets;
}

TEST(CpuGemm, EveryKernelSetMatchesDoubleLoop) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::vector<const GemmKernels*> kernels = gemm_kernel_sets();
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{{1, 1, 1},
                                                            {5, 17, 3},
                                                            {6, 16, 128},
                                                            {13, 33, 129},
                                                            {50, 70, 300},
                                                            {7, 48, 576},
                                                            {20, 32, 520},
                                                            {9, 144, 264}}) {
    std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K));
    for (float& v : x) v = u(rng);
    for (float& v : w) v = u(rng);
    for (const GemmKernels* g : kernels) {
      const std::vector<float> y = gemm(*g, x, w, M, N, K);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double want = 0;
          for (int64_t k = 0; k < K; ++k) want += double(x[m * K + k]) * w[n * K + k];
          ASSERT_NEAR(y[m * N + n], want, 1e-5 * std::sqrt(double(K)) + 1e-6)
              << g->name << " M=" << M << " N=" << N << " K=" << K << " at " << m << "," << n;
        }
    }
  }
}

// y = x · Wᵀ as prefill_matmul runs it: W in `type`, each panel packed one K block at
// a time (gemm_pack_weights, dequantized by dq or quant.h) and the block run over all
// M rows (gemm_panel_block).
std::vector<float> gemm_blocks(const GemmKernels& g, DequantChunk dq, GgmlType type,
                               const std::vector<uint8_t>& w, const std::vector<float>& x,
                               int64_t M, int64_t N, int64_t K) {
  const size_t row_bytes = ggml_row_bytes(type, K).value();
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  std::vector<float> block(static_cast<size_t>(gemm_block_floats(kGemmPanelRows)), NAN);
  std::vector<float> stage(static_cast<size_t>(kGemmNr * kGemmKc), NAN);
  std::vector<float> xp(static_cast<size_t>(gemm_x_floats(M, K)), NAN);
  gemm_pack_x(x.data(), K, M, K, 0, (M + kGemmMr - 1) / kGemmMr, xp.data());
  for (int64_t n0 = 0; n0 < N; n0 += kGemmPanelRows) {
    const int64_t nr = std::min(kGemmPanelRows, N - n0);
    for (int64_t k0 = 0; k0 < K; k0 += kGemmKc) {
      const int64_t kc = std::min(kGemmKc, K - k0);
      const uint8_t* src = w.data() + n0 * row_bytes + ggml_row_bytes(type, k0).value();
      for (int64_t s0 = 0; s0 < nr; s0 += kGemmNr)
        gemm_pack_weights(g, type, dq, src + s0 * row_bytes, row_bytes,
                          std::min<int64_t>(kGemmNr, nr - s0), kc, stage.data(),
                          block.data() + s0 * kc);
      // Rows in two calls, split at a micro-panel boundary, as prefill_matmul may.
      const int64_t split = M / 2 / kGemmMr * kGemmMr;
      gemm_panel_block(g, xp.data(), M, K, k0, block.data(), nr, y.data() + n0, N, 0, split);
      gemm_panel_block(g, xp.data(), M, K, k0, block.data(), nr, y.data() + n0, N, split, M);
    }
  }
  return y;
}

// Every weight type's packing (F32 in place, F16 in the packer, others through each
// kernel set's chunk dequantizer and quant.h's) against a double loop over the
// weights dequantized by quant.h; K off the 256-wide block, N off the panel and strip.
TEST(CpuGemm, BlockPackedWeightsMatchDoubleLoop) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<const GemmKernels*> gemms = {&gemm_kernels_scalar()};
  std::vector<const Kernels*> kernels = {&scalar_kernels()};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (gemm_kernels_avx2() && avx2_kernels() && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma")) {  // AVX2 CPUs have F16C (clang has no "f16c" here)
    gemms.push_back(gemm_kernels_avx2());
    kernels.push_back(avx2_kernels());
  }
#endif
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q4_0, GgmlType::Q8_0,
                        GgmlType::Q4_1, GgmlType::Q4_K, GgmlType::Q6_K}) {
    const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
    for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
             {7, 16, 256}, {13, 150, k_quant ? 768 : 544}, {9, 131, k_quant ? 256 : 64}}) {
      std::vector<float> x(static_cast<size_t>(M * K)), wf(static_cast<size_t>(N * K));
      for (float& v : x) v = u(rng);
      for (float& v : wf) v = u(rng);
      const size_t row_bytes = ggml_row_bytes(type, K).value();
      std::vector<uint8_t> w(row_bytes * static_cast<size_t>(N));
      std::vector<float> wd(wf.size());
      for (int64_t n = 0; n < N; ++n) {
        quantize_row(type, wf.data() + n * K, w.data() + n * row_bytes, K);
        dequantize_row(type, w.data() + n * row_bytes, wd.data() + n * K, K);
      }
      for (size_t i = 0; i < gemms.size(); ++i)
        for (DequantChunk dq : {DequantChunk{nullptr}, kernels[i]->dequant(type)}) {
          const std::vector<float> y = gemm_blocks(*gemms[i], dq, type, w, x, M, N, K);
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
              double want = 0;
              for (int64_t k = 0; k < K; ++k) want += double(x[m * K + k]) * wd[n * K + k];
              ASSERT_NEAR(y[m * N + n], want, 1e-5 * std::sqrt(double(K)) + 1e-6)
                  << gemms[i]->name << (dq ? " chunk" : " row") << " "
                  << ggml_type_name(static_cast<uint32_t>(type)) << " M=" << M << " N=" << N
                  << " K=" << K << " at " << m << "," << n;
            }
        }
    }
  }
}

// F16 weights in the strip layout (f16_strips.h) read in place by the tiles
// (gemm_panel_block_f16), each kernel set, against a double loop over the widened
// halves; panels of 128 and 16 .. 112 rows, K off the 256-wide block.
TEST(CpuGemm, F16StripsInPlaceMatchDoubleLoop) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const std::vector<const GemmKernels*> gemms = gemm_kernel_sets();
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {7, 16, 256}, {13, 160, 300}, {20, 48, 99}, {9, 256, 520}}) {
    std::vector<float> x(static_cast<size_t>(M * K));
    for (float& v : x) v = u(rng);
    std::vector<uint16_t> rows(static_cast<size_t>(N * K)), strips(rows.size());
    for (uint16_t& h : rows) h = fp32_to_fp16(u(rng));
    repack_f16_strips(rows.data(), K, N, strips.data());
    std::vector<float> xp(static_cast<size_t>(gemm_x_floats(M, K)), NAN);
    gemm_pack_x(x.data(), K, M, K, 0, (M + kGemmMr - 1) / kGemmMr, xp.data());
    for (const GemmKernels* g : gemms) {
      std::vector<float> y(static_cast<size_t>(M * N), NAN);
      for (int64_t n0 = 0; n0 < N; n0 += kGemmPanelRows) {
        const int64_t nr = std::min(kGemmPanelRows, N - n0);
        const int64_t split = M / 2 / kGemmMr * kGemmMr;
        for (int64_t k0 = 0; k0 < K; k0 += kGemmKc) {
          gemm_panel_block_f16(*g, xp.data(), M, K, k0, strips.data() + n0 * K, nr, y.data() + n0,
                               N, 0, split);
          gemm_panel_block_f16(*g, xp.data(), M, K, k0, strips.data() + n0 * K, nr, y.data() + n0,
                               N, split, M);
        }
      }
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double want = 0;
          for (int64_t k = 0; k < K; ++k)
            want += double(x[m * K + k]) * fp16_to_fp32(rows[n * K + k]);
          ASSERT_NEAR(y[m * N + n], want, 1e-5 * std::sqrt(double(K)) + 1e-6)
              << g->name << " M=" << M << " N=" << N << " K=" << K << " at " << m << "," << n;
        }
    }
  }
}

}  // namespace
}  // namespace pivot::cpu
