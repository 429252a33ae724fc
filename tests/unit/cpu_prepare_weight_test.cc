// CpuBackend::prepare_weight: a weight repacked at load (the x8 layout of
// src/backend/cpu/repack_x8.h for Q4_0 / Q4_1 with Q8 activations, the F16 strips
// of src/backend/cpu/f16_strips.h) gives the same
// matmul and get_rows results as the weight left in its GGUF rows, on the decode
// path (M <= 8) and the prefill GEMM (M > 8). Oracle: the same backend on the
// unprepared tensor (itself checked against `reference` by the conformance suite).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "pivot/backend.h"
#include "pivot/quant.h"

namespace pivot {
namespace {

TEST(CpuPrepareWeight, RepackedWeightsGiveTheSameResults) {
  BackendOptions o;
  o.n_threads = 2;
  std::unique_ptr<Backend> be = create_backend("cpu", o);
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 0.05f);
  for (GgmlType t :
       {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::F16}) {
    std::vector<std::pair<int64_t, int64_t>> shapes = {{768, 1536}, {2048, 264}, {256, 40}};
    if (t == GgmlType::F16) shapes.push_back({99, 48});  // odd K, off every block size
    for (auto [K, N] : shapes) {
      const size_t rb = ggml_row_bytes(t, K).value();
      std::vector<float> wf(static_cast<size_t>(K * N));
      for (float& v : wf) v = g(rng);
      std::vector<uint8_t> raw(rb * N);
      for (int64_t n = 0; n < N; ++n) quantize_row(t, wf.data() + n * K, raw.data() + n * rb, K);
      const Tensor plain = make_tensor(raw.data(), t, K, N);
      Tensor prepared = plain;
      be->prepare_weight(prepared);
      const bool avx2 = be->props().name.find("avx2") != std::string::npos;
      if (avx2 && t == GgmlType::F16 && N % 16 == 0) {  // the path under test was taken
        EXPECT_NE(prepared.data, plain.data) << "F16 " << K << "x" << N << " not repacked";
      }
      for (int64_t M : {1, 3, 8, 9, 40}) {
        std::vector<float> x(static_cast<size_t>(K * M)), y0(N * M), y1(N * M);
        for (float& v : x) v = g(rng) * 20;
        OpDesc op;
        op.kind = OpKind::kMatmul;
        op.src[1] = make_tensor(x.data(), GgmlType::F32, K, M);
        op.src[0] = plain;
        op.dst = make_tensor(y0.data(), GgmlType::F32, N, M);
        be->execute(op);
        op.src[0] = prepared;
        op.dst = make_tensor(y1.data(), GgmlType::F32, N, M);
        be->execute(op);
        be->synchronize();
        for (size_t i = 0; i < y0.size(); ++i)
          ASSERT_NEAR(y1[i], y0[i], 1e-4 * (std::fabs(y0[i]) + 1))
              << ggml_type_traits(t).name << " K=" << K << " N=" << N << " M=" << M << " at " << i;
      }
      std::vector<int32_t> ids = {0, 7, 8, static_cast<int32_t>(N - 1), 5, 17};
      std::vector<float> r0(K * ids.size()), r1(r0.size());
      OpDesc op;
      op.kind = OpKind::kGetRows;
      op.src[1] = make_tensor(ids.data(), GgmlType::I32, static_cast<int64_t>(ids.size()));
      op.src[0] = plain;
      op.dst = make_tensor(r0.data(), GgmlType::F32, K, static_cast<int64_t>(ids.size()));
      be->execute(op);
      op.src[0] = prepared;
      op.dst = make_tensor(r1.data(), GgmlType::F32, K, static_cast<int64_t>(ids.size()));
      be->execute(op);
      be->synchronize();
      ASSERT_EQ(r0, r1) << ggml_type_traits(t).name;
    }
  }
}

}  // namespace
}  // namespace pivot
