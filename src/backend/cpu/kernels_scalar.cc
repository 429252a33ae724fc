// Portable kernels: the fallback on CPUs without AVX2 (and on non-x86 builds).
#include "kernels.h"

namespace pivot::cpu {
namespace {

void dot_rows(const float* a, const float* x, int64_t n, int64_t ldx, int nx, double* acc) {
  for (int j = 0; j < nx; ++j) {
    const float* xr = x + j * ldx;
    float s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int l = 0; l < 8; ++l) s[l] += a[i + l] * xr[i + l];
    for (; i < n; ++i) s[0] += a[i] * xr[i];
    acc[j] += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  }
}

DequantChunk no_special(GgmlType) {
  return nullptr;
}
RowDot no_row_dot(GgmlType) {
  return nullptr;
}

}  // namespace

const Kernels& scalar_kernels() {
  static const Kernels k{"scalar",           dot_rows,          no_special, no_row_dot,
                         quantize_q8_scalar, row_dot_q8_scalar, nullptr};
  return k;
}

}  // namespace pivot::cpu
