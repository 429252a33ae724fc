// The x8 weight layout: a matmul weight of a 32-element block type repacked at
// load (CpuBackend::prepare_weight) so the decode kernels read 8 weight rows as
// one linear stream and take one row per 32-bit SIMD lane. Used only where the
// kernel set has a kernel for it (Kernels::row_dot_q8_x8) and only with Q8
// activations; the prefill GEMM unpacks blocks back (unpack_x8) before its own
// packing.
//
// A block of 32 is h header bytes (f16 fields: the scale d, for Q4_1 then the
// min m) and c code bytes (Q4_0: h = 2, c = 16; Q4_1: 4, 16; quant.h). Rows are
// taken in groups of 8 (the row count must be a multiple of 8); a group keeps
// its 8 · row_bytes bytes, so a row range starting at a multiple of 8 starts at
// the same byte offset as before. Within a group, block b (elements 32b ..
// 32b + 31 of each of the 8 rows) is the 8 · (h + c) bytes at 8 (h + c) b:
//   8h header bytes, field by field: field f (0: d, 1: m) of row r at 16 f + 2 r
//   (8 lanes of f16, one vcvtph2ps);
//   then c / 4 chunks of 32 bytes: chunk j holds code bytes 4j .. 4j + 3 of
//   each row, row r's at 8h + 32 j + 4 r.
// A chunk loaded into a 256-bit register has row r in 32-bit lane r, so after
// _mm256_maddubs_epi16 / _mm256_madd_epi16 against 4 broadcast activation
// bytes each lane holds one row's partial dot product.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pivot/ggml_type.h"

namespace pivot::cpu {

inline constexpr int kX8Rows = 8;

// Whether `type` has an x8 layout (Q4_0, Q4_1).
bool has_x8_layout(GgmlType type);

// Repacks n_rows (a multiple of 8) GGUF rows of `type`, row r at src + r ·
// row_bytes, into dst (n_rows · row_bytes bytes, not overlapping src).
void repack_x8(GgmlType type, const uint8_t* src, size_t row_bytes, int64_t n_rows, uint8_t* dst);

// The inverse for part of one group: blocks b0 .. b0 + nb of rows r0 .. r1 (<= 8)
// of the group at `group` as GGUF blocks, row r at dst + (r - r0) · dst_row_bytes.
void unpack_x8(GgmlType type, const uint8_t* group, int64_t b0, int64_t nb, int r0, int r1,
               uint8_t* dst, size_t dst_row_bytes);

}  // namespace pivot::cpu
