#include "dispatch.h"

#include <algorithm>

#include "op_check.h"
#include "pivot/error.h"
#include "pivot/quant.h"

namespace pivot::cuda {

bool has_matvec_kernel(GgmlType type, int64_t K) {
  switch (type) {
    case GgmlType::F32:
      return K % 4 == 0;
    case GgmlType::F16:
    case GgmlType::BF16:
      return K % 8 == 0;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q8_0:
      return K % 32 == 0;
    case GgmlType::Q4_K:
    case GgmlType::Q6_K:
      return K % 256 == 0;
    default:
      return false;
  }
}

MatmulPlan plan_matmul(GgmlType type, int64_t K, int64_t N, int64_t M, bool w_aligned,
                       bool x_aligned) {
  MatmulPlan p;
  p.tf32 = M > kMaxMatvecRows;  // small M stays exact: it is the decode path
  const bool few_rows = M <= kMaxMatvecRows;
  if (few_rows && w_aligned && x_aligned && has_matvec_kernel(type, K)) return p;
  if (type == GgmlType::F32) {
    p.path = MatmulPath::kGemm;
    return p;
  }
  p.tile_rows = std::clamp<int64_t>(
      static_cast<int64_t>(kGemmScratchBytes / (static_cast<size_t>(K) * sizeof(float))), 1, N);
  p.path = few_rows && x_aligned && has_matvec_kernel(GgmlType::F32, K) ? MatmulPath::kDequantMatvec
                                                                        : MatmulPath::kDequantGemm;
  return p;
}

Support support_of(const OpDesc& op) {
  if (!op_shape_error(op).empty()) return Support::kNo;
  switch (op.kind) {
    case OpKind::kMatmul: {
      const Tensor& w = op.src[0];
      if (!can_dequantize(w.type)) return Support::kNo;
      if (w.ne[0] > INT32_MAX || w.ne[1] > INT32_MAX || op.src[1].n_rows() > INT32_MAX)
        return Support::kNo;  // cuBLAS takes int dimensions
      return has_matvec_kernel(w.type, w.ne[0]) ? Support::kYes : Support::kSlow;
    }
    case OpKind::kGetRows:
      return can_dequantize(op.src[0].type) && op.src[1].n_elements() <= INT32_MAX ? Support::kYes
                                                                                   : Support::kNo;
    case OpKind::kAttention:
    case OpKind::kPagedAttention:
      if (op.src[0].ne[0] > kMaxHeadDim || op.src[0].ne[2] > 65535) return Support::kNo;
      return Support::kYes;
    case OpKind::kRmsNorm:
      return op.src[0].n_rows() <= INT32_MAX ? Support::kYes : Support::kNo;
    default:
      return Support::kYes;
  }
}

std::vector<Chunk> split(size_t bytes, size_t piece) {
  if (piece == 0) fail("cuda: split: zero piece size");
  std::vector<Chunk> v;
  for (size_t off = 0; off < bytes; off += piece) v.push_back({off, std::min(piece, bytes - off)});
  return v;
}

std::string device_label(int index, const char* name, int cc_major, int cc_minor,
                         uint64_t memory_bytes) {
  return strprintf("cuda:%d (%s, sm_%d%d, %.1f GiB)", index, name, cc_major, cc_minor,
                   static_cast<double>(memory_bytes) / (1ull << 30));
}

}  // namespace pivot::cuda
