// GGUF reader: metadata, tensor table and a memory-mapped data section.
//
// Format: ggml/docs/gguf.md (versions 2 and 3, little-endian). Layout:
//   magic "GGUF" u32 | version u32 | tensor_count u64 | kv_count u64 |
//   kv_count × (key: string, type: u32, value) |
//   tensor_count × (name: string, n_dims: u32, dims: u64[n_dims], type: u32, offset: u64) |
//   padding to general.alignment (default 32) | data section.
// Strings are u64 length + bytes (not NUL-terminated). Tensor offsets are
// relative to the start of the data section.
//
// Everything is validated before use; any problem throws pivot::Error with one
// line "PATH: offset 0xOFF: WHAT" naming the field (key or tensor name). The
// data section is never copied: tensor_data() points into the mapping.
// A GgufFile is immutable after open and safe to read from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pivot/ggml_type.h"
#include "pivot/mapped_file.h"

namespace pivot {

// Metadata value types, numbered as in the GGUF spec.
enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
const char* gguf_type_name(GgufType t);  // "uint32", "string", "array", ...

struct GgufValue;
struct GgufArray {
  GgufType elem_type = GgufType::UINT8;
  std::vector<GgufValue> items;
};

// One metadata value. Integers are widened (unsigned to uint64_t, signed to
// int64_t), floats to double; `type` keeps the type as stored in the file.
struct GgufValue {
  GgufType type = GgufType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;

  bool is_integer() const;
  bool is_float() const { return type == GgufType::FLOAT32 || type == GgufType::FLOAT64; }
  bool is_array() const { return type == GgufType::ARRAY; }
  bool is_string() const { return type == GgufType::STRING; }

  // Checked accessors: throw pivot::Error naming `what` (e.g. the key) when the
  // stored type does not convert (a negative int to u64, a string to a number).
  uint64_t as_u64(std::string_view what) const;
  int64_t as_i64(std::string_view what) const;
  double as_f64(std::string_view what) const;  // any integer or float
  bool as_bool(std::string_view what) const;
  const std::string& as_string(std::string_view what) const;
  const GgufArray& as_array(std::string_view what) const;
};

struct GgufKV {
  std::string key;
  GgufValue value;
  uint64_t file_offset;  // where the key's string starts
};

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims;
  uint64_t ne[4];  // elements per dimension, ne[0] fastest-varying; unused dims are 1
  GgmlType type;
  uint64_t offset;       // from the start of the data section
  uint64_t n_elements;   // product of ne
  uint64_t n_bytes;      // ggml_row_bytes(type, n_elements)
  uint64_t file_offset;  // where this tensor's info starts in the file
};

class GgufFile {
 public:
  // Maps and validates the file at `path`.
  static GgufFile open(const std::string& path);
  // Parses a caller-owned buffer (tests, fuzzing); `label` names it in errors.
  // The buffer must outlive the GgufFile.
  static GgufFile parse(std::span<const uint8_t> bytes, const std::string& label);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute file offset
  uint64_t file_size() const { return bytes_.size(); }
  const std::string& path() const { return label_; }

  // Metadata in file order.
  const std::vector<GgufKV>& metadata() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;  // nullptr if absent
  const GgufValue& get(std::string_view key) const;   // throws naming the key if absent

  // Tensor infos in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;  // nullptr if absent
  // The tensor's bytes inside the mapping (n_bytes long).
  const uint8_t* tensor_data(const GgufTensorInfo& t) const;
  // MappedFile::release for bytes of this file's mapping (no-op for parse()).
  void release(const void* p, size_t n) const;

 private:
  GgufFile() = default;
  std::shared_ptr<MappedFile> map_;  // null for parse()
  std::span<const uint8_t> bytes_;
  std::string label_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKV> kvs_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  friend class GgufParser;
};

// The file's weight type as llama.cpp names it: general.file_type (llama_ftype,
// llama.cpp include/llama.h: Q4_K_M names a mix whose dominant block type is
// Q4_K), else the type of blk.0.ffn_down.weight, else "mixed".
std::string gguf_file_type_name(const GgufFile& file);

}  // namespace pivot
