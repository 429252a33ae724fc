// general.file_type -> llama.cpp's file type name (include/pivot/gguf.h).
#include <cstdint>
#include <map>

#include "pivot/ggml_type.h"
#include "pivot/gguf.h"

namespace pivot {

std::string gguf_file_type_name(const GgufFile& file) {
  // llama_ftype values (llama.cpp include/llama.h, LLAMA_FTYPE_MOSTLY_*).
  static const std::map<uint64_t, const char*> kFileTypes = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},   {32, "BF16"}};
  if (const GgufValue* v = file.find("general.file_type"); v && v->is_integer()) {
    auto it = kFileTypes.find(v->as_u64("general.file_type"));
    if (it != kFileTypes.end()) return it->second;
  }
  if (const GgufTensorInfo* t = file.find_tensor("blk.0.ffn_down.weight"))
    return ggml_type_name(static_cast<uint32_t>(t->type));
  return "mixed";
}

}  // namespace pivot
