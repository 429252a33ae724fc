// The cpu backend's prefill GEMM (src/backend/cpu/gemm.h) with each tile kernel
// (scalar fallback and AVX2 where compiled), against a double-precision triple
// loop, on shapes off the 6 x 16 tile and the 128-wide K block.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "../../src/backend/cpu/gemm.h"

namespace pivot::cpu {
namespace {

// y = x · Wᵀ through packed panels of kGemmPanelRows rows, as cpu_backend does.
std::vector<float> gemm(GemmTile tile, const std::vector<float>& x, const std::vector<float>& w,
                        int64_t M, int64_t N, int64_t K) {
  std::vector<float> y(static_cast<size_t>(M * N), NAN);
  std::vector<float> panel(static_cast<size_t>(gemm_panel_floats(kGemmPanelRows, K)));
  for (int64_t n0 = 0; n0 < N; n0 += kGemmPanelRows) {
    const int64_t nr = std::min(kGemmPanelRows, N - n0);
    for (int64_t s0 = 0; s0 < nr; s0 += kGemmNr) {
      const float* rows[kGemmNr];
      const int64_t ns = std::min<int64_t>(kGemmNr, nr - s0);
      for (int64_t r = 0; r < ns; ++r) rows[r] = w.data() + (n0 + s0 + r) * K;
      gemm_pack_strip(rows, ns, K, panel.data() + s0 * K);
    }
    gemm_panel(tile, x.data(), M, K, panel.data(), nr, y.data() + n0, N);
  }
  return y;
}

TEST(CpuGemm, EveryTileMatchesDoubleLoop) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<GemmTile> tiles = {gemm_tile_scalar()};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (gemm_tile_avx2() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    tiles.push_back(gemm_tile_avx2());
#endif
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {5, 17, 3}, {6, 16, 128}, {13, 33, 129}, {50, 70, 300}, {7, 48, 576}}) {
    std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K));
    for (float& v : x) v = u(rng);
    for (float& v : w) v = u(rng);
    for (size_t t = 0; t < tiles.size(); ++t) {
      const std::vector<float> y = gemm(tiles[t], x, w, M, N, K);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double want = 0;
          for (int64_t k = 0; k < K; ++k) want += double(x[m * K + k]) * w[n * K + k];
          ASSERT_NEAR(y[m * N + n], want, 1e-5 * std::sqrt(double(K)) + 1e-6)
              << "tile " << t << " M=" << M << " N=" << N << " K=" << K << " at " << m << "," << n;
        }
    }
  }
}

}  // namespace
}  // namespace pivot::cpu
