// Portable kernels: the fallback on CPUs without AVX2 (and on non-x86 builds).
#include <cmath>

#include "../op_check.h"
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

void silu_mul(const float* a, const float* b, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
}

void gelu_mul(const float* a, const float* b, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = gelu_tanh(a[i]) * b[i];
}

double exp_shift(float* x, int64_t n, float shift) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += x[i] = std::exp(x[i] - shift);
  return total;
}

}  // namespace

const Activations& activations_scalar() {
  static const Activations a{silu_mul, gelu_mul, exp_shift};
  return a;
}

const Kernels& scalar_kernels() {
  static const Kernels k{
      "scalar",          dot_rows, no_special, no_row_dot,           quantize_q8_scalar,
      row_dot_q8_scalar, nullptr,  nullptr,    &activations_scalar()};
  return k;
}

}  // namespace pivot::cpu
