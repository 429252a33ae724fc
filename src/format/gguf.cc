#include "pivot/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "pivot/error.h"

namespace pivot {

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::UINT8:
      return "uint8";
    case GgufType::INT8:
      return "int8";
    case GgufType::UINT16:
      return "uint16";
    case GgufType::INT16:
      return "int16";
    case GgufType::UINT32:
      return "uint32";
    case GgufType::INT32:
      return "int32";
    case GgufType::FLOAT32:
      return "float32";
    case GgufType::BOOL:
      return "bool";
    case GgufType::STRING:
      return "string";
    case GgufType::ARRAY:
      return "array";
    case GgufType::UINT64:
      return "uint64";
    case GgufType::INT64:
      return "int64";
    case GgufType::FLOAT64:
      return "float64";
  }
  return "unknown";
}

// ---- GgufValue accessors ----------------------------------------------------

bool GgufValue::is_integer() const {
  return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v);
}

uint64_t GgufValue::as_u64(std::string_view what) const {
  if (auto* u = std::get_if<uint64_t>(&v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v)) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
    fail("%.*s: expected a non-negative integer, got %lld", int(what.size()), what.data(),
         static_cast<long long>(*i));
  }
  fail("%.*s: expected an integer, got %s", int(what.size()), what.data(), gguf_type_name(type));
}

int64_t GgufValue::as_i64(std::string_view what) const {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* u = std::get_if<uint64_t>(&v)) {
    if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(*u);
    fail("%.*s: integer %llu does not fit int64", int(what.size()), what.data(),
         static_cast<unsigned long long>(*u));
  }
  fail("%.*s: expected an integer, got %s", int(what.size()), what.data(), gguf_type_name(type));
}

double GgufValue::as_f64(std::string_view what) const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  fail("%.*s: expected a number, got %s", int(what.size()), what.data(), gguf_type_name(type));
}

bool GgufValue::as_bool(std::string_view what) const {
  if (auto* b = std::get_if<bool>(&v)) return *b;
  fail("%.*s: expected a bool, got %s", int(what.size()), what.data(), gguf_type_name(type));
}

const std::string& GgufValue::as_string(std::string_view what) const {
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  fail("%.*s: expected a string, got %s", int(what.size()), what.data(), gguf_type_name(type));
}

const GgufArray& GgufValue::as_array(std::string_view what) const {
  if (auto* a = std::get_if<GgufArray>(&v)) return *a;
  fail("%.*s: expected an array, got %s", int(what.size()), what.data(), gguf_type_name(type));
}

// ---- Parser -------------------------------------------------------------------

namespace {
constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxArrayDepth = 8;        // nested arrays deeper than this are refused
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr uint64_t kMaxNameLen = 65535;  // keys and tensor names
// Smallest encoding of one kv (empty key, type, u8 value) and one tensor info
// (empty name, n_dims, one dim, type, offset): used to refuse counts that
// cannot fit in the bytes that remain.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

uint64_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::BOOL:
      return 1;
    case GgufType::UINT16:
    case GgufType::INT16:
      return 2;
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::FLOAT32:
      return 4;
    case GgufType::STRING:
    case GgufType::UINT64:
    case GgufType::INT64:
    case GgufType::FLOAT64:
      return 8;
    case GgufType::ARRAY:
      return 12;
  }
  return 1;
}
}  // namespace

class GgufParser {
 public:
  GgufParser(GgufFile& f) : f_(f), data_(f.bytes_.data()), size_(f.bytes_.size()) {}

  void run() {
    uint32_t magic = u32("magic");
    if (magic != kMagic) err(0, "bad magic 0x%08x, not a GGUF file (expected \"GGUF\")", magic);
    f_.version_ = u32("version");
    if (f_.version_ == 1) err(4, "GGUF version 1 is not supported (only 2 and 3)");
    if (f_.version_ != 2 && f_.version_ != 3) {
      if ((f_.version_ & 0xffff) == 0 && f_.version_ != 0)
        err(4, "GGUF version %u looks big-endian; only little-endian files are supported",
            f_.version_);
      err(4, "unsupported GGUF version %u (only 2 and 3)", f_.version_);
    }
    uint64_t n_tensors = u64("tensor_count");
    uint64_t n_kv = u64("kv_count");
    check_count(8, n_tensors, kMinTensorInfoBytes, "tensor_count");
    check_count(16, n_kv, kMinKvBytes, "kv_count");

    f_.kvs_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) read_kv(i);
    read_alignment();

    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(i);

    uint64_t a = f_.alignment_;
    uint64_t start = pos_ + (a - pos_ % a) % a;
    f_.data_offset_ = start;
    check_tensor_extents();
  }

 private:
  template <typename... Args>
  [[noreturn]] void err(uint64_t off, const char* fmt, Args... args) {
    std::string what = strprintf(fmt, args...);
    fail("%s: offset 0x%llx: %s", f_.label_.c_str(), static_cast<unsigned long long>(off),
         what.c_str());
  }
  [[noreturn]] void err(uint64_t off, const char* msg) { err(off, "%s", msg); }

  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const char* what) {
    if (n > remaining())
      err(pos_, "truncated: %s needs %llu bytes, only %llu left in the file", what,
          static_cast<unsigned long long>(n), static_cast<unsigned long long>(remaining()));
  }

  template <typename T>
  T raw(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint32_t u32(const char* what) { return raw<uint32_t>(what); }
  uint64_t u64(const char* what) { return raw<uint64_t>(what); }

  void check_count(uint64_t off, uint64_t count, uint64_t min_each, const char* what) {
    if (count > remaining() / min_each)
      err(off, "%s %llu cannot fit in the %llu bytes that follow", what,
          static_cast<unsigned long long>(count), static_cast<unsigned long long>(remaining()));
  }

  std::string str(const char* what, uint64_t max_len = UINT64_MAX) {
    uint64_t at = pos_;
    uint64_t len = u64(what);
    if (len > max_len)
      err(at, "%s length %llu exceeds the limit %llu", what, static_cast<unsigned long long>(len),
          static_cast<unsigned long long>(max_len));
    if (len > remaining())
      err(at, "%s length %llu runs past the end of the file (%llu bytes left)", what,
          static_cast<unsigned long long>(len), static_cast<unsigned long long>(remaining()));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }

  GgufType value_type(const std::string& key) {
    uint64_t at = pos_;
    uint32_t t = u32("value type");
    if (t > static_cast<uint32_t>(GgufType::FLOAT64))
      err(at, "key '%s': unknown value type %u", key.c_str(), t);
    return static_cast<GgufType>(t);
  }

  GgufValue value(GgufType t, const std::string& key, int depth) {
    GgufValue out;
    out.type = t;
    switch (t) {
      case GgufType::UINT8:
        out.v = uint64_t{raw<uint8_t>("uint8 value")};
        break;
      case GgufType::INT8:
        out.v = int64_t{raw<int8_t>("int8 value")};
        break;
      case GgufType::UINT16:
        out.v = uint64_t{raw<uint16_t>("uint16 value")};
        break;
      case GgufType::INT16:
        out.v = int64_t{raw<int16_t>("int16 value")};
        break;
      case GgufType::UINT32:
        out.v = uint64_t{raw<uint32_t>("uint32 value")};
        break;
      case GgufType::INT32:
        out.v = int64_t{raw<int32_t>("int32 value")};
        break;
      case GgufType::UINT64:
        out.v = raw<uint64_t>("uint64 value");
        break;
      case GgufType::INT64:
        out.v = raw<int64_t>("int64 value");
        break;
      case GgufType::FLOAT32:
        out.v = double{raw<float>("float32 value")};
        break;
      case GgufType::FLOAT64:
        out.v = raw<double>("float64 value");
        break;
      case GgufType::BOOL: {
        uint64_t at = pos_;
        uint8_t b = raw<uint8_t>("bool value");
        if (b > 1) err(at, "key '%s': bool value %u is neither 0 nor 1", key.c_str(), b);
        out.v = b == 1;
        break;
      }
      case GgufType::STRING:
        out.v = str("string value");
        break;
      case GgufType::ARRAY:
        out.v = array(key, depth);
        break;
    }
    return out;
  }

  GgufArray array(const std::string& key, int depth) {
    uint64_t at = pos_;
    if (depth >= kMaxArrayDepth)
      err(at, "key '%s': arrays nested deeper than %d", key.c_str(), kMaxArrayDepth);
    GgufArray a;
    a.elem_type = value_type(key);
    uint64_t n = u64("array length");
    if (n > remaining() / min_value_bytes(a.elem_type))
      err(at, "key '%s': array of %llu %s cannot fit in the %llu bytes left", key.c_str(),
          static_cast<unsigned long long>(n), gguf_type_name(a.elem_type),
          static_cast<unsigned long long>(remaining()));
    a.items.reserve(n);
    for (uint64_t i = 0; i < n; ++i) a.items.push_back(value(a.elem_type, key, depth + 1));
    return a;
  }

  void read_kv(uint64_t i) {
    uint64_t at = pos_;
    std::string key = str("key", kMaxNameLen);
    if (key.empty()) err(at, "metadata key #%llu is empty", static_cast<unsigned long long>(i));
    if (f_.kv_index_.count(key)) err(at, "duplicate metadata key '%s'", key.c_str());
    GgufType t = value_type(key);
    GgufValue v = value(t, key, 0);
    f_.kv_index_.emplace(key, f_.kvs_.size());
    f_.kvs_.push_back({std::move(key), std::move(v), at});
  }

  void read_alignment() {
    auto it = f_.kv_index_.find("general.alignment");
    if (it == f_.kv_index_.end()) return;
    const GgufKV& kv = f_.kvs_[it->second];
    if (kv.value.type != GgufType::UINT32)
      err(kv.file_offset, "general.alignment must be uint32, got %s",
          gguf_type_name(kv.value.type));
    uint64_t a = std::get<uint64_t>(kv.value.v);
    if (a == 0 || (a & (a - 1)) != 0)
      err(kv.file_offset, "general.alignment %llu is not a power of two",
          static_cast<unsigned long long>(a));
    f_.alignment_ = a;
  }

  void read_tensor_info(uint64_t i) {
    GgufTensorInfo t{};
    t.file_offset = pos_;
    t.name = str("tensor name", kMaxNameLen);
    const char* nm = t.name.c_str();
    if (t.name.empty())
      err(t.file_offset, "tensor #%llu has an empty name", static_cast<unsigned long long>(i));
    if (f_.tensor_index_.count(t.name)) err(t.file_offset, "duplicate tensor name '%s'", nm);
    uint64_t at = pos_;
    t.n_dims = u32("n_dims");
    if (t.n_dims < 1 || t.n_dims > kMaxDims)
      err(at, "tensor '%s': n_dims %u is outside 1..%u", nm, t.n_dims, kMaxDims);
    t.n_elements = 1;
    for (uint32_t d = 0; d < kMaxDims; ++d) t.ne[d] = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      at = pos_;
      t.ne[d] = u64("tensor dimension");
      if (t.ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        err(at, "tensor '%s': dimension %u is %llu (negative as int64)", nm, d,
            static_cast<unsigned long long>(t.ne[d]));
      if (t.ne[d] != 0 &&
          t.n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / t.ne[d])
        err(at, "tensor '%s': element count overflows int64 at dimension %u", nm, d);
      t.n_elements *= t.ne[d];
    }
    at = pos_;
    uint32_t type_id = u32("tensor type");
    auto traits = ggml_type_traits(type_id);
    if (!traits) err(at, "tensor '%s': unknown tensor type %u", nm, type_id);
    t.type = traits->type;
    if (t.ne[0] % traits->block_size != 0)
      err(at, "tensor '%s': row length %llu is not a multiple of %s's block size %u", nm,
          static_cast<unsigned long long>(t.ne[0]), std::string(traits->name).c_str(),
          traits->block_size);
    auto bytes = ggml_row_bytes(t.type, t.n_elements);
    if (!bytes) err(at, "tensor '%s': byte size overflows", nm);
    t.n_bytes = *bytes;
    at = pos_;
    t.offset = u64("tensor offset");
    if (t.offset % f_.alignment_ != 0)
      err(at, "tensor '%s': data offset %llu is not a multiple of the alignment %llu", nm,
          static_cast<unsigned long long>(t.offset),
          static_cast<unsigned long long>(f_.alignment_));
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
  }

  void check_tensor_extents() {
    if (f_.tensors_.empty()) return;  // vocabulary-only files may end without padding
    uint64_t start = f_.data_offset_;
    if (start > size_)
      err(size_, "truncated: data section would start at %llu, past the end of the file",
          static_cast<unsigned long long>(start));
    uint64_t data_size = size_ - start;
    std::vector<const GgufTensorInfo*> order;
    for (const auto& t : f_.tensors_) {
      if (t.offset > data_size || t.n_bytes > data_size - t.offset)
        err(t.file_offset,
            "tensor '%s': data [%llu, +%llu) runs past the end of the data section (%llu bytes)",
            t.name.c_str(), static_cast<unsigned long long>(t.offset),
            static_cast<unsigned long long>(t.n_bytes), static_cast<unsigned long long>(data_size));
      order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < order.size(); ++i) {
      const auto* p = order[i - 1];
      const auto* q = order[i];
      if (q->offset < p->offset + p->n_bytes && q->n_bytes != 0 && p->n_bytes != 0)
        err(q->file_offset, "tensor '%s' at data offset %llu overlaps tensor '%s' [%llu, +%llu)",
            q->name.c_str(), static_cast<unsigned long long>(q->offset), p->name.c_str(),
            static_cast<unsigned long long>(p->offset),
            static_cast<unsigned long long>(p->n_bytes));
    }
  }

  GgufFile& f_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// ---- GgufFile ---------------------------------------------------------------

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, const std::string& label) {
  GgufFile f;
  f.bytes_ = bytes;
  f.label_ = label;
  GgufParser(f).run();
  return f;
}

GgufFile GgufFile::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  GgufFile f = parse(std::span<const uint8_t>(map->data(), map->size()), path);
  f.map_ = std::move(map);
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v)
    fail("%s: required metadata key '%.*s' is missing", label_.c_str(), int(key.size()),
         key.data());
  return *v;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& t) const {
  return bytes_.data() + data_offset_ + t.offset;
}

void GgufFile::release(const void* p, size_t n) const {
  if (map_) map_->release(p, n);
}

}  // namespace pivot
