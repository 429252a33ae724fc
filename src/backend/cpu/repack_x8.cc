// The x8 weight layout (repack_x8.h): byte moves only, no arithmetic.
#include "repack_x8.h"

#include <cstring>

#include "pivot/error.h"

namespace pivot::cpu {
namespace {

struct Split {
  int h, c;  // header and code bytes of a block of 32
};

Split split(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return {2, 16};
    case GgmlType::Q4_1:
      return {4, 16};
    default:
      fail("cpu: no x8 layout for %.*s", static_cast<int>(ggml_type_traits(type).name.size()),
           ggml_type_traits(type).name.data());
  }
}

}  // namespace

bool has_x8_layout(GgmlType type) {
  return type == GgmlType::Q4_0 || type == GgmlType::Q4_1;
}

void repack_x8(GgmlType type, const uint8_t* src, size_t row_bytes, int64_t n_rows, uint8_t* dst) {
  const Split s = split(type);
  const int bb = s.h + s.c;
  const int64_t nb = static_cast<int64_t>(row_bytes) / bb;
  for (int64_t g0 = 0; g0 + kX8Rows <= n_rows; g0 += kX8Rows) {
    const uint8_t* rows = src + g0 * row_bytes;
    uint8_t* out = dst + g0 * row_bytes;
    for (int64_t b = 0; b < nb; ++b, out += kX8Rows * bb)
      for (int r = 0; r < kX8Rows; ++r) {
        const uint8_t* blk = rows + r * row_bytes + b * bb;
        for (int f = 0; f < s.h / 2; ++f) std::memcpy(out + 16 * f + 2 * r, blk + 2 * f, 2);
        for (int j = 0; j < s.c / 4; ++j)
          std::memcpy(out + kX8Rows * s.h + 32 * j + 4 * r, blk + s.h + 4 * j, 4);
      }
  }
}

void unpack_x8(GgmlType type, const uint8_t* group, int64_t b0, int64_t nb, int r0, int r1,
               uint8_t* dst, size_t dst_row_bytes) {
  const Split s = split(type);
  const int bb = s.h + s.c;
  const uint8_t* in = group + b0 * kX8Rows * bb;
  for (int64_t b = 0; b < nb; ++b, in += kX8Rows * bb)
    for (int r = r0; r < r1; ++r) {
      uint8_t* blk = dst + (r - r0) * dst_row_bytes + b * bb;
      for (int f = 0; f < s.h / 2; ++f) std::memcpy(blk + 2 * f, in + 16 * f + 2 * r, 2);
      for (int j = 0; j < s.c / 4; ++j)
        std::memcpy(blk + s.h + 4 * j, in + kX8Rows * s.h + 32 * j + 4 * r, 4);
    }
}

}  // namespace pivot::cpu
