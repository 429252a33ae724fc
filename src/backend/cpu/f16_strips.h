// The F16 strip layout: an F16 matmul weight repacked at load
// (CpuBackend::prepare_weight) into the prefill GEMM's strip order, so the prefill
// tiles read each K block of 16 rows in place, widening the halves as they load them
// (gemm.h: a strip is kGemmNr weight rows, k-major; gemm_panel_block_f16), and decode
// reads 16 rows as one linear stream, one output per SIMD lane
// (Kernels::f16_strip_dot). Used only where the kernel set has that kernel.
//
// Rows are taken in groups of kF16StripRows = 16 (the row count must be a multiple
// of 16); a group keeps its 16 · K halves (16 · row_bytes bytes), so a row range
// starting at a multiple of 16 starts at the same byte offset as before. Within a
// group, element k of row r is the half at index 16 k + r: K block [k0, k0 + kc)
// of the group is the 16 · kc halves from index 16 k0, exactly one packed strip.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gemm.h"

namespace pivot::cpu {

inline constexpr int kF16StripRows = kGemmNr;

// Repacks n_rows (a multiple of 16) F16 rows of K halves, row r at src + r · K,
// into dst (n_rows · K halves, not overlapping src).
void repack_f16_strips(const uint16_t* src, int64_t K, int64_t n_rows, uint16_t* dst);

// Row r (0 .. 15) of the group at `group` (K halves per row) into dst[0 .. K).
void f16_strip_row(const uint16_t* group, int64_t K, int r, uint16_t* dst);

}  // namespace pivot::cpu
