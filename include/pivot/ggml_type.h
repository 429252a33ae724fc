// Tensor element types as numbered in GGUF files (ggml's `enum ggml_type`).
//
// Source: ggml/include/ggml.h and the GGUF spec (ggml/docs/gguf.md). Block
// sizes and bytes per block match gguf-py's GGML_QUANT_SIZES, which
// tests/unit/ggml_type_test.cc checks against a committed copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pivot {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;  // as gguf-py spells it: "Q4_K", "BF16"
  uint32_t block_size;    // elements per block (1 for plain types)
  uint32_t type_size;     // bytes per block
};

// Traits of a raw type id read from a file; nullopt for ids ggml does not define
// (including the removed ids 4, 5, 31-33, 36-38).
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id);

// Traits of a known type.
GgmlTypeTraits ggml_type_traits(GgmlType type);

// Name of a type id, or "type#N" for unknown ids.
std::string ggml_type_name(uint32_t id);

// Type by name (case-sensitive, gguf-py spelling); nullopt if unknown.
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

// Bytes taken by n elements of a type: n / block_size * type_size.
// nullopt if n is not a multiple of block_size or the result overflows uint64.
std::optional<uint64_t> ggml_row_bytes(GgmlType type, uint64_t n);

}  // namespace pivot
