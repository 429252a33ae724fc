// The CUDA backend's GGUF block decoders (src/backend/cuda/blocks.cuh), run on
// the host: the matvec kernels' lane decomposition (every lane's slice of every
// block, summed as the warp reduction does) must give the reference dot product,
// and the element decoders must equal quant.h's dequantize_row bit for bit.
// On a GPU the same code runs inside the kernels (conformance suite).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda/blocks.cuh"
#include "pivot/quant.h"

namespace pivot::cuda {
namespace {

struct Row {
  std::vector<float> x, x2, w;  // activations (two rows) and dequantized weights
  std::vector<uint8_t> q;       // the weight row in GGUF blocks
};

Row make_row(GgmlType type, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  Row r;
  std::vector<float> src(static_cast<size_t>(K));
  for (float& f : src) f = u(rng);
  r.x.resize(src.size());
  r.x2.resize(src.size());
  for (float& f : r.x) f = u(rng);
  for (float& f : r.x2) f = u(rng);
  r.q.resize(ggml_row_bytes(type, static_cast<uint64_t>(K)).value());
  quantize_row(type, src.data(), r.q.data(), K);
  r.w.resize(src.size());
  dequantize_row(type, r.q.data(), r.w.data(), K);
  return r;
}

double ref_dot(const std::vector<float>& w, const std::vector<float>& x) {
  double s = 0;
  for (size_t i = 0; i < w.size(); ++i) s += static_cast<double>(w[i]) * x[i];
  return s;
}

// Every lane of every block, as the kernel's warps do; two activation rows (MC = 2).
template <class T>
void check_matvec(GgmlType type, int64_t K) {
  const Row r = make_row(type, K, 11);
  float acc[2] = {0, 0};
  for (int64_t b = 0; b < K / T::kElems; ++b)
    for (int t = 0; t < T::kLanes; ++t) {
      float v[2][T::kFrag];
      T::load_x(r.x.data(), b, t, v[0]);
      T::load_x(r.x2.data(), b, t, v[1]);
      T::template dot<2>(r.q.data() + b * T::kBytes, t, v, acc);
    }
  double scale = 0;
  for (size_t i = 0; i < r.w.size(); ++i) scale += std::fabs(double(r.w[i]) * r.x[i]);
  EXPECT_NEAR(acc[0], ref_dot(r.w, r.x), 1e-6 * scale) << ggml_type_name(uint32_t(type));
  EXPECT_NEAR(acc[1], ref_dot(r.w, r.x2), 1e-6 * scale) << ggml_type_name(uint32_t(type));
}

TEST(CudaBlocks, MatvecLaneSlicesSumToTheDotProduct) {
  check_matvec<F32W>(GgmlType::F32, 1024);
  check_matvec<Half8W<false>>(GgmlType::F16, 1024);
  check_matvec<Half8W<true>>(GgmlType::BF16, 1024);
  check_matvec<Q4_0W>(GgmlType::Q4_0, 1024);
  check_matvec<Q4_1W>(GgmlType::Q4_1, 1024);
  check_matvec<Q8_0W>(GgmlType::Q8_0, 1024);
  check_matvec<Q4_KW>(GgmlType::Q4_K, 1024);
  check_matvec<Q6_KW>(GgmlType::Q6_K, 1024);
}

template <GgmlType T>
void check_elements() {
  const int64_t K = 512;
  const Row r = make_row(T, K, 5);
  int bad = 0;
  for (int64_t k = 0; k < K; ++k) bad += row_elem<T>(r.q.data(), k) != r.w[static_cast<size_t>(k)];
  EXPECT_EQ(bad, 0) << ggml_type_name(uint32_t(T)) << ": elements differing from dequantize_row";
}

TEST(CudaBlocks, ElementDecodersEqualDequantizeRow) {
  check_elements<GgmlType::F32>();
  check_elements<GgmlType::F16>();
  check_elements<GgmlType::BF16>();
  check_elements<GgmlType::Q4_0>();
  check_elements<GgmlType::Q4_1>();
  check_elements<GgmlType::Q5_0>();
  check_elements<GgmlType::Q5_1>();
  check_elements<GgmlType::Q8_0>();
  check_elements<GgmlType::Q2_K>();
  check_elements<GgmlType::Q3_K>();
  check_elements<GgmlType::Q4_K>();
  check_elements<GgmlType::Q5_K>();
  check_elements<GgmlType::Q6_K>();
}

TEST(CudaBlocks, HostBytePermuteMatchesThePtxDefinition) {
  // Selector nibble i picks byte i of the result from {x bytes 0-3, y bytes 4-7}.
  EXPECT_EQ(byte_perm(0x44332211u, 0x88776655u, 0x7654u), 0x88776655u);
  EXPECT_EQ(byte_perm(0x44332211u, 0x88776655u, 0x0123u), 0x11223344u);
  EXPECT_EQ(byte_f<2>(0x00ab0000u), 171.0f);
  EXPECT_EQ(byte_f<0>(0x000000ffu, 8.0f), 247.0f);
  EXPECT_EQ(int_f(63, 32), 31.0f);
}

}  // namespace
}  // namespace pivot::cuda
