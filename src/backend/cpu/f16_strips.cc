// The F16 strip layout (f16_strips.h).
#include "f16_strips.h"

namespace pivot::cpu {

void repack_f16_strips(const uint16_t* src, int64_t K, int64_t n_rows, uint16_t* dst) {
  for (int64_t g = 0; g < n_rows;
       g += kF16StripRows, src += kF16StripRows * K, dst += kF16StripRows * K)
    for (int64_t k = 0; k < K; ++k)
      for (int r = 0; r < kF16StripRows; ++r) dst[k * kF16StripRows + r] = src[r * K + k];
}

void f16_strip_row(const uint16_t* group, int64_t K, int r, uint16_t* dst) {
  for (int64_t k = 0; k < K; ++k) dst[k] = group[k * kF16StripRows + r];
}

}  // namespace pivot::cpu
