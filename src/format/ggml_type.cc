#include "pivot/ggml_type.h"

#include <array>
#include <string>

#include "pivot/error.h"

namespace pivot {
namespace {

using T = GgmlType;
constexpr std::array<GgmlTypeTraits, 34> kTraits = {{
    {T::F32, "F32", 1, 4},
    {T::F16, "F16", 1, 2},
    {T::Q4_0, "Q4_0", 32, 18},
    {T::Q4_1, "Q4_1", 32, 20},
    {T::Q5_0, "Q5_0", 32, 22},
    {T::Q5_1, "Q5_1", 32, 24},
    {T::Q8_0, "Q8_0", 32, 34},
    {T::Q8_1, "Q8_1", 32, 36},
    {T::Q2_K, "Q2_K", 256, 84},
    {T::Q3_K, "Q3_K", 256, 110},
    {T::Q4_K, "Q4_K", 256, 144},
    {T::Q5_K, "Q5_K", 256, 176},
    {T::Q6_K, "Q6_K", 256, 210},
    {T::Q8_K, "Q8_K", 256, 292},
    {T::IQ2_XXS, "IQ2_XXS", 256, 66},
    {T::IQ2_XS, "IQ2_XS", 256, 74},
    {T::IQ3_XXS, "IQ3_XXS", 256, 98},
    {T::IQ1_S, "IQ1_S", 256, 50},
    {T::IQ4_NL, "IQ4_NL", 32, 18},
    {T::IQ3_S, "IQ3_S", 256, 110},
    {T::IQ2_S, "IQ2_S", 256, 82},
    {T::IQ4_XS, "IQ4_XS", 256, 136},
    {T::I8, "I8", 1, 1},
    {T::I16, "I16", 1, 2},
    {T::I32, "I32", 1, 4},
    {T::I64, "I64", 1, 8},
    {T::F64, "F64", 1, 8},
    {T::IQ1_M, "IQ1_M", 256, 56},
    {T::BF16, "BF16", 1, 2},
    {T::TQ1_0, "TQ1_0", 256, 54},
    {T::TQ2_0, "TQ2_0", 256, 66},
    {T::MXFP4, "MXFP4", 32, 17},
    {T::NVFP4, "NVFP4", 64, 36},
    {T::Q1_0, "Q1_0", 128, 18},
}};

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id) {
  for (const auto& t : kTraits)
    if (static_cast<uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

GgmlTypeTraits ggml_type_traits(GgmlType type) {
  auto t = ggml_type_traits(static_cast<uint32_t>(type));
  if (!t) fail("internal: GgmlType %u has no traits", static_cast<unsigned>(type));
  return *t;
}

std::string ggml_type_name(uint32_t id) {
  auto t = ggml_type_traits(id);
  return t ? std::string(t->name) : "type#" + std::to_string(id);
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTraits)
    if (t.name == name) return t.type;
  return std::nullopt;
}

std::optional<uint64_t> ggml_row_bytes(GgmlType type, uint64_t n) {
  auto t = ggml_type_traits(type);
  if (n % t.block_size != 0) return std::nullopt;
  uint64_t blocks = n / t.block_size;
  if (blocks != 0 && t.type_size > UINT64_MAX / blocks) return std::nullopt;
  return blocks * t.type_size;
}

}  // namespace pivot
