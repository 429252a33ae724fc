// GGUF block formats: dequantize to f32 and quantize from f32.
//
// The one place where the meaning of every block is defined; every backend
// dequantizes (or repacks) through these definitions. Block layouts follow
// ggml's ggml-common.h; tests/golden/quants checks them bit for bit against
// gguf-py's reference implementation (gguf.quants).
//
// Shapes: `n` is a number of elements and must be a multiple of the type's
// block_size (see ggml_type.h); `src`/`dst` hold n / block_size blocks.
// Errors: pivot::Error for an unsupported type or a bad n.
#pragma once

#include <cstdint>

#include "pivot/ggml_type.h"

namespace pivot {

// True if dequantize_row supports the type: F32, F16, BF16, Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
bool can_dequantize(GgmlType type);

// True if quantize_row supports the type: F32, F16, BF16, Q8_0, Q4_0, Q4_1,
// Q4_K, Q6_K (and any other the implementation lists in quant.cc).
bool can_quantize(GgmlType type);

// src: n elements of `type` in GGUF block layout -> dst: n floats.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// src: n floats -> dst: n elements of `type` in GGUF block layout
// (ggml_row_bytes(type, n) bytes).
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

// IEEE half / bfloat16 conversions (round to nearest even, as ggml and numpy do).
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);

}  // namespace pivot
