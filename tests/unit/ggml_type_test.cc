// The GGML type table agrees with gguf-py's (tests/golden/ggml_types/ggml_types.txt).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "pivot/ggml_type.h"

namespace pivot {
namespace {

TEST(GgmlType, MatchesGgufPy) {
  std::ifstream in(PIVOT_SOURCE_DIR "/tests/golden/ggml_types/ggml_types.txt");
  ASSERT_TRUE(in) << "golden file missing";
  std::string line;
  std::set<uint32_t> seen;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    uint32_t id, bs, ts;
    std::string name;
    ASSERT_TRUE(ls >> id >> name >> bs >> ts) << line;
    auto t = ggml_type_traits(id);
    ASSERT_TRUE(t.has_value()) << name;
    EXPECT_EQ(t->name, name);
    EXPECT_EQ(t->block_size, bs) << name;
    // gguf-py still lists Q8_1 with two f32 scales (40 bytes); ggml's block_q8_1
    // holds two f16 (ggml-common.h), 36 bytes. No GGUF file stores Q8_1.
    if (name != "Q8_1") {
      EXPECT_EQ(t->type_size, ts) << name;
    }
    seen.insert(id);
  }
  EXPECT_GE(seen.size(), 30u);
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 1000u})
    EXPECT_FALSE(ggml_type_traits(removed).has_value()) << removed;
}

TEST(GgmlType, RowBytes) {
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_K, 512), 288u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::F16, 3), 6u);
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q4_0, 33).has_value());
  EXPECT_FALSE(ggml_row_bytes(GgmlType::F32, UINT64_MAX).has_value());
  EXPECT_EQ(ggml_type_from_name("Q6_K"), GgmlType::Q6_K);
  EXPECT_EQ(ggml_type_name(4), "type#4");
}

}  // namespace
}  // namespace pivot
