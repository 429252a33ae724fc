// GGUF reader: a valid file built byte by byte parses back exactly; each kind of
// malformed file fails with a one-line error that names the field and offset.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "pivot/error.h"
#include "pivot/gguf.h"
#include "test_util.h"

namespace pivot {
namespace {

using Writer = test::GgufWriter;

struct Tensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type;
  uint64_t offset;
};

// A small valid file: every scalar type, a string, nested arrays, two tensors.
struct Spec {
  uint32_t version = 3;
  uint32_t alignment = 32;
  bool write_alignment = true;
  std::vector<Tensor> tensors = {{"tok_embd.weight", {32, 4}, 0 /*F32*/, 0},
                                 {"blk.0.attn_q.weight", {64, 2}, 2 /*Q4_0*/, 512}};
  uint64_t data_bytes = 512 + 72;
};

std::vector<uint8_t> build(const Spec& s, std::function<void(Writer&)> extra_kv = nullptr) {
  Writer w;
  w.put<uint32_t>(0x46554747).put<uint32_t>(s.version);
  w.put<uint64_t>(s.tensors.size());
  uint64_t n_kv = 14 + (s.write_alignment ? 1 : 0) + (extra_kv ? 1 : 0);
  w.put<uint64_t>(n_kv);
  w.str("general.architecture").put<uint32_t>(8).str("llama");
  w.str("u8").put<uint32_t>(0).put<uint8_t>(200);
  w.str("i8").put<uint32_t>(1).put<int8_t>(-100);
  w.str("u16").put<uint32_t>(2).put<uint16_t>(60000);
  w.str("i16").put<uint32_t>(3).put<int16_t>(-30000);
  w.str("u32").put<uint32_t>(4).put<uint32_t>(4000000000u);
  w.str("i32").put<uint32_t>(5).put<int32_t>(-2000000000);
  w.str("f32").put<uint32_t>(6).put<float>(1e-5f);
  w.str("bool").put<uint32_t>(7).put<uint8_t>(1);
  w.str("u64").put<uint32_t>(10).put<uint64_t>(UINT64_MAX);
  w.str("i64").put<uint32_t>(11).put<int64_t>(INT64_MIN);
  w.str("f64").put<uint32_t>(12).put<double>(3.25);
  w.str("tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(3).str("a").str("").str("<s>");
  // [[1, 2], []] as arrays of int32
  w.str("nested").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(2);
  w.put<uint32_t>(5).put<uint64_t>(2).put<int32_t>(1).put<int32_t>(2);
  w.put<uint32_t>(5).put<uint64_t>(0);
  if (s.write_alignment) w.str("general.alignment").put<uint32_t>(4).put<uint32_t>(s.alignment);
  if (extra_kv) extra_kv(w);
  for (const auto& t : s.tensors) {
    w.str(t.name).put<uint32_t>(t.ne.size());
    for (auto d : t.ne) w.put<uint64_t>(d);
    w.put<uint32_t>(t.type).put<uint64_t>(t.offset);
  }
  w.pad(s.alignment);
  for (uint64_t i = 0; i < s.data_bytes; ++i) w.b.push_back(static_cast<uint8_t>(i));
  return w.b;
}

GgufFile parse(const std::vector<uint8_t>& b) {
  return GgufFile::parse(std::span<const uint8_t>(b.data(), b.size()), "test.gguf");
}

// Parsing must fail with one line containing every fragment in `want`.
void expect_error(const std::vector<uint8_t>& b, std::vector<std::string> want) {
  try {
    parse(b);
    ADD_FAILURE() << "parsed without error; wanted: " << want[0];
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("test.gguf: offset 0x", 0), 0u) << msg;
    for (const auto& w : want)
      EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
  }
}

TEST(Gguf, ParsesEveryValueType) {
  auto b = build(Spec{});
  GgufFile f = parse(b);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.get("general.architecture").as_string("k"), "llama");
  EXPECT_EQ(f.get("u8").as_u64("k"), 200u);
  EXPECT_EQ(f.get("i8").as_i64("k"), -100);
  EXPECT_EQ(f.get("u16").as_u64("k"), 60000u);
  EXPECT_EQ(f.get("i16").as_i64("k"), -30000);
  EXPECT_EQ(f.get("u32").as_u64("k"), 4000000000u);
  EXPECT_EQ(f.get("i32").as_i64("k"), -2000000000);
  EXPECT_EQ(f.get("f32").as_f64("k"), double(1e-5f));
  EXPECT_TRUE(f.get("bool").as_bool("k"));
  EXPECT_EQ(f.get("u64").as_u64("k"), UINT64_MAX);
  EXPECT_EQ(f.get("i64").as_i64("k"), INT64_MIN);
  EXPECT_EQ(f.get("f64").as_f64("k"), 3.25);
  const auto& toks = f.get("tokens").as_array("k");
  ASSERT_EQ(toks.items.size(), 3u);
  EXPECT_EQ(toks.items[2].as_string("k"), "<s>");
  const auto& nested = f.get("nested").as_array("k");
  ASSERT_EQ(nested.items.size(), 2u);
  EXPECT_EQ(nested.items[0].as_array("k").items[1].as_i64("k"), 2);
  EXPECT_TRUE(nested.items[1].as_array("k").items.empty());
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_THROW(f.get("missing"), Error);
  EXPECT_THROW(f.get("u64").as_i64("u64"), Error);
  EXPECT_THROW(f.get("i8").as_u64("i8"), Error);
  EXPECT_THROW(f.get("tokens").as_string("tokens"), Error);

  ASSERT_EQ(f.tensors().size(), 2u);
  const auto* q = f.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::Q4_0);
  EXPECT_EQ(q->n_elements, 128u);
  EXPECT_EQ(q->n_bytes, 72u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.tensor_data(*q)[0], static_cast<uint8_t>(512));
}

TEST(Gguf, Version2AndCustomAlignment) {
  Spec s;
  s.version = 2;
  s.alignment = 64;
  s.tensors[1].offset = 512;
  GgufFile f = parse(build(s));
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
}

TEST(Gguf, VocabOnlyFileWithoutDataSection) {
  Spec s;
  s.tensors.clear();
  s.data_bytes = 0;
  auto b = build(s);
  GgufFile f = parse(b);
  EXPECT_TRUE(f.tensors().empty());
}

// Truncating a valid file at any byte before its last tensor ends must fail cleanly.
TEST(GgufMalformed, TruncatedAnywhere) {
  auto full = build(Spec{});
  size_t end_of_data = full.size();
  for (size_t n = 0; n < end_of_data; ++n) {
    std::vector<uint8_t> b(full.begin(), full.begin() + n);
    EXPECT_THROW(parse(b), Error) << "truncated at " << n;
  }
}

TEST(GgufMalformed, TruncatedInEachSection) {
  auto full = build(Spec{});
  auto cut = [&](size_t n) { return std::vector<uint8_t>(full.begin(), full.begin() + n); };
  expect_error(cut(2), {"magic"});
  expect_error(cut(6), {"version"});
  expect_error(cut(20), {"kv_count"});
  expect_error(cut(30), {"tensor_count 2 cannot fit"});  // counts checked against what is left
  expect_error(cut(300), {"truncated"});                 // inside the metadata
  expect_error(cut(full.size() - 600), {"truncated"});   // inside the tensor infos
  expect_error(cut(full.size() - 1), {"runs past the end of the data section"});
}

TEST(GgufMalformed, BadMagicAndVersion) {
  auto b = build(Spec{});
  auto m = b;
  m[0] = 'X';
  expect_error(m, {"bad magic"});
  auto v1 = b;
  v1[4] = 1;
  expect_error(v1, {"version 1"});
  auto v9 = b;
  v9[4] = 9;
  expect_error(v9, {"unsupported GGUF version 9"});
  auto be = b;
  be[4] = 0;
  be[7] = 3;
  expect_error(be, {"big-endian"});
}

TEST(GgufMalformed, HugeCounts) {
  auto b = build(Spec{});
  auto t = b;
  uint64_t huge = 1ull << 60;
  std::memcpy(&t[8], &huge, 8);
  expect_error(t, {"tensor_count", "cannot fit"});
  auto k = b;
  std::memcpy(&k[16], &huge, 8);
  expect_error(k, {"kv_count", "cannot fit"});
}

TEST(GgufMalformed, HugeStringAndArrayLengths) {
  Spec s;
  expect_error(build(s, [](Writer& w) { w.str("s").put<uint32_t>(8).put<uint64_t>(1ull << 62); }),
               {"string value length", "past the end"});
  expect_error(build(s,
                     [](Writer& w) {
                       w.str("a").put<uint32_t>(9).put<uint32_t>(10).put<uint64_t>(1ull << 61);
                     }),
               {"key 'a'", "array of", "cannot fit"});
  // key length beyond any sane name
  expect_error(build(s, [](Writer& w) { w.put<uint64_t>(1ull << 40); }), {"key length"});
}

TEST(GgufMalformed, BadValueTypesAndBools) {
  Spec s;
  expect_error(build(s, [](Writer& w) { w.str("x").put<uint32_t>(13).put<uint8_t>(0); }),
               {"key 'x'", "unknown value type 13"});
  expect_error(
      build(s, [](Writer& w) { w.str("x").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(0); }),
      {"unknown value type 77"});
  expect_error(build(s, [](Writer& w) { w.str("flag").put<uint32_t>(7).put<uint8_t>(2); }),
               {"key 'flag'", "bool"});
}

TEST(GgufMalformed, DeeplyNestedArrays) {
  Spec s;
  expect_error(build(s,
                     [](Writer& w) {
                       w.str("deep").put<uint32_t>(9);
                       for (int i = 0; i < 64; ++i) w.put<uint32_t>(9).put<uint64_t>(1);
                       w.put<uint32_t>(0).put<uint64_t>(0);
                     }),
               {"nested deeper"});
}

TEST(GgufMalformed, DuplicateKeysAndNames) {
  Spec s;
  expect_error(build(s, [](Writer& w) { w.str("u8").put<uint32_t>(0).put<uint8_t>(1); }),
               {"duplicate metadata key 'u8'"});
  s.tensors[1].name = s.tensors[0].name;
  expect_error(build(s), {"duplicate tensor name 'tok_embd.weight'"});
}

TEST(GgufMalformed, BadAlignment) {
  Spec s;
  s.alignment = 48;
  expect_error(build(s), {"general.alignment 48 is not a power of two"});
  s.alignment = 0;
  s.write_alignment = true;
  // alignment 0 would make padding impossible; build() cannot pad by 0, so patch bytes.
  Spec ok;
  auto b = build(ok);
  const char* key = "general.alignment";
  auto it = std::search(b.begin(), b.end(), key, key + std::strlen(key));
  ASSERT_NE(it, b.end());
  size_t at = (it - b.begin()) + std::strlen(key) + 4;
  auto z = b;
  std::memset(&z[at], 0, 4);
  expect_error(z, {"general.alignment 0"});
  auto wrong_type = b;
  wrong_type[at - 4] = 10;  // uint64 instead of uint32: shifts the rest, still must not crash
  EXPECT_THROW(parse(wrong_type), Error);
}

TEST(GgufMalformed, TensorDims) {
  Spec s;
  s.tensors[0].ne = {};
  expect_error(build(s), {"tensor 'tok_embd.weight'", "n_dims 0"});
  s.tensors[0].ne = {1, 1, 1, 1, 1};
  expect_error(build(s), {"n_dims 5"});
  s.tensors[0].ne = {1ull << 40, 1ull << 40};
  expect_error(build(s), {"overflows"});
  s.tensors[0].ne = {UINT64_MAX};
  expect_error(build(s), {"negative"});
  s.tensors = {{"q", {33}, 2 /*Q4_0*/, 0}};
  expect_error(build(s), {"tensor 'q'", "block size 32"});
}

TEST(GgufMalformed, UnknownTensorType) {
  Spec s;
  s.tensors[1].type = 4;  // removed from ggml
  expect_error(build(s), {"tensor 'blk.0.attn_q.weight'", "unknown tensor type 4"});
  s.tensors[1].type = 1000;
  expect_error(build(s), {"unknown tensor type 1000"});
}

TEST(GgufMalformed, OffsetsOutsideDataSection) {
  Spec s;
  s.tensors[1].offset = 1ull << 40;
  expect_error(build(s), {"tensor 'blk.0.attn_q.weight'", "past the end of the data section"});
  s.tensors[1].offset = UINT64_MAX - 31;  // offset + size would wrap
  expect_error(build(s), {"past the end of the data section"});
}

TEST(GgufMalformed, MisalignedOffset) {
  Spec s;
  s.tensors[1].offset = 520;
  expect_error(build(s), {"tensor 'blk.0.attn_q.weight'", "not a multiple of the alignment 32"});
}

TEST(GgufMalformed, OverlappingTensors) {
  Spec s;
  s.tensors[1].offset = 480;  // tok_embd occupies [0, 512)
  expect_error(build(s), {"overlaps tensor 'tok_embd.weight'"});
}

TEST(GgufMalformed, EmptyNames) {
  Spec s;
  s.tensors[0].name = "";
  expect_error(build(s), {"empty name"});
  expect_error(build(s, [](Writer& w) { w.str("").put<uint32_t>(0).put<uint8_t>(1); }),
               {"key", "empty"});
}

TEST(Gguf, MissingFileIsAnError) {
  EXPECT_THROW(GgufFile::open("/nonexistent/model.gguf"), Error);
  EXPECT_THROW(GgufFile::open("/"), Error);
}

}  // namespace
}  // namespace pivot
