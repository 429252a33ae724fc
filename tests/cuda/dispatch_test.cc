// The CUDA backend's host-side decisions, without a GPU: which matmul path runs
// for which type and batch, what supports() answers, how uploads are cut, and
// that a machine without a GPU gets a clear error instead of a crash.
#include <gtest/gtest.h>

#include <string>

#include "cuda/dispatch.h"
#include "pivot/backend.h"
#include "pivot/error.h"

namespace pivot::cuda {
namespace {

TEST(CudaDispatch, MatvecKernelsCoverTheDecodeTypes) {
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0, GgmlType::F16, GgmlType::BF16,
                     GgmlType::F32})
    EXPECT_TRUE(has_matvec_kernel(t, 4096)) << static_cast<int>(t);
  EXPECT_TRUE(has_matvec_kernel(GgmlType::Q4_K, 4096));
  EXPECT_TRUE(has_matvec_kernel(GgmlType::Q6_K, 14336));
  EXPECT_FALSE(has_matvec_kernel(GgmlType::Q4_K, 4096 + 32));  // not whole super-blocks
  EXPECT_FALSE(has_matvec_kernel(GgmlType::F16, 300));         // not a multiple of 8
  EXPECT_FALSE(has_matvec_kernel(GgmlType::Q5_0, 4096));       // dequantize path
  EXPECT_FALSE(has_matvec_kernel(GgmlType::Q2_K, 4096));
}

TEST(CudaDispatch, DecodeUsesMatvecAndPrefillUsesTheGemm) {
  MatmulPlan p = plan_matmul(GgmlType::Q4_0, 4096, 14336, 1, true, true);
  EXPECT_EQ(p.path, MatmulPath::kMatvec);
  EXPECT_FALSE(p.tf32);
  p = plan_matmul(GgmlType::Q8_0, 4096, 4096, kMaxMatvecRows, true, true);
  EXPECT_EQ(p.path, MatmulPath::kMatvec);
  p = plan_matmul(GgmlType::Q8_0, 4096, 4096, kMaxMatvecRows + 1, true, true);
  EXPECT_EQ(p.path, MatmulPath::kDequantGemm);
  EXPECT_TRUE(p.tf32);
  EXPECT_EQ(p.tile_rows, 4096);  // 64 MiB of F32: one tile
  // The 128256 x 4096 output matrix in tiles of kGemmScratchBytes.
  p = plan_matmul(GgmlType::BF16, 4096, 128256, 512, true, true);
  EXPECT_EQ(p.tile_rows, static_cast<int64_t>(kGemmScratchBytes / (4096 * 4)));
  p = plan_matmul(GgmlType::F32, 4096, 4096, 512, true, true);
  EXPECT_EQ(p.path, MatmulPath::kGemm);
  EXPECT_EQ(p.tile_rows, 0);
}

TEST(CudaDispatch, SmallBatchesWithoutAKernelStayExact) {
  // No matvec kernel, or misaligned data: dequantize, then the exact F32 matvec.
  MatmulPlan p = plan_matmul(GgmlType::Q5_K, 4096, 100, 3, true, true);
  EXPECT_EQ(p.path, MatmulPath::kDequantMatvec);
  EXPECT_EQ(p.tile_rows, 100);
  p = plan_matmul(GgmlType::Q4_0, 4096, 100, 1, false, true);
  EXPECT_EQ(p.path, MatmulPath::kDequantMatvec);
  // K not a multiple of 4: only the GEMM takes it, in full F32 for small M.
  p = plan_matmul(GgmlType::F16, 37, 5, 3, true, true);
  EXPECT_EQ(p.path, MatmulPath::kDequantGemm);
  EXPECT_FALSE(p.tf32);
  p = plan_matmul(GgmlType::F32, 37, 5, 3, true, true);
  EXPECT_EQ(p.path, MatmulPath::kGemm);
  EXPECT_FALSE(p.tf32);
}

OpDesc matmul_op(GgmlType t, int64_t K, int64_t N, int64_t M) {
  OpDesc op;
  op.kind = OpKind::kMatmul;
  op.src[0] = make_tensor(nullptr, t, K, N);
  op.src[1] = make_tensor(nullptr, GgmlType::F32, K, M);
  op.dst = make_tensor(nullptr, GgmlType::F32, N, M);
  return op;
}

TEST(CudaDispatch, SupportsAnswersPerTypeAndShape) {
  EXPECT_EQ(support_of(matmul_op(GgmlType::Q4_0, 4096, 64, 1)), Support::kYes);
  EXPECT_EQ(support_of(matmul_op(GgmlType::Q3_K, 4096, 64, 1)), Support::kSlow);
  EXPECT_EQ(support_of(matmul_op(GgmlType::IQ2_XXS, 4096, 64, 1)), Support::kNo);
  OpDesc bad = matmul_op(GgmlType::F32, 8, 4, 1);
  bad.src[1] = make_tensor(nullptr, GgmlType::F32, 7, 1);
  EXPECT_EQ(support_of(bad), Support::kNo);

  OpDesc att;
  att.kind = OpKind::kAttention;
  att.src[0] = make_tensor(nullptr, GgmlType::F32, 128, 32, 7);
  att.src[1] = make_tensor(nullptr, GgmlType::F32, 128, 8, 100);
  att.src[2] = att.src[1];
  att.dst = att.src[0];
  EXPECT_EQ(support_of(att), Support::kYes);
  att.src[0].ne[0] = att.src[1].ne[0] = att.src[2].ne[0] = att.dst.ne[0] = 512;
  EXPECT_EQ(support_of(att), Support::kNo);  // head_dim above kMaxHeadDim

  OpDesc paged;
  paged.kind = OpKind::kPagedAttention;
  paged.src[0] = make_tensor(nullptr, GgmlType::F32, 64, 8, 3);
  paged.src[1] = make_tensor(nullptr, GgmlType::F32, 64, 2, 16, 10);
  paged.src[2] = paged.src[1];
  paged.src[3] = make_tensor(nullptr, GgmlType::I32, 5, 3);
  paged.dst = paged.src[0];
  EXPECT_EQ(support_of(paged), Support::kYes);
}

TEST(CudaDispatch, UploadsAreCutInOrder) {
  EXPECT_TRUE(split(0, 4).empty());
  const auto c = split(10, 4);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].offset, 0u);
  EXPECT_EQ(c[1].offset, 4u);
  EXPECT_EQ(c[2].offset, 8u);
  EXPECT_EQ(c[2].bytes, 2u);
  EXPECT_EQ(split(kStageBytes * 3, kStageBytes).size(), 3u);
  EXPECT_THROW(split(10, 0), Error);
}

TEST(CudaDispatch, DeviceLabel) {
  EXPECT_EQ(device_label(1, "NVIDIA H200", 9, 0, uint64_t{150} << 30),
            "cuda:1 (NVIDIA H200, sm_90, 150.0 GiB)");
}

// Without a GPU, creating the backend throws one clear pivot::Error (the CLI
// prints it and exits 1); with one, the backend is a device backend.
TEST(CudaBackend, NoDeviceIsAClearErrorElseADeviceBackend) {
  std::unique_ptr<Backend> be;
  try {
    be = create_backend("cuda");
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("cuda: ", 0), 0u) << m;
    EXPECT_NE(m.find("--device cpu"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return;
  }
  const DeviceProps p = be->props();
  EXPECT_FALSE(p.host_visible);
  EXPECT_EQ(p.vendor, "NVIDIA");
  EXPECT_GT(p.memory_bytes, 0u);
  BackendOptions bad;
  bad.device = 1000;
  EXPECT_THROW(create_backend("cuda", bad), Error);
}

}  // namespace
}  // namespace pivot::cuda
