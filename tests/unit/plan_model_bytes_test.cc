// Planner weight bytes per tensor class from a GGUF file (embedding, LM head, body)
// and the PlanModel JSON that bench files carry for calibration.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "pivot/error.h"
#include "pivot/gguf.h"
#include "pivot/plan_model.h"
#include "test_util.h"

namespace pivot::plan {
namespace {

const std::string kPresets = std::string(PIVOT_SOURCE_DIR) + "/data/model_presets.json";

using test::error_of;

// A one-layer llama file labelled Q4_K_M: a Q8_0 embedding (4 rows of 32: 136 B),
// an F32 body tensor (32x32: 4096 B) and, when untied, an F32 output (32x4: 512 B).
GgufFile tiny_file(std::vector<uint8_t>& b, bool untied) {
  test::GgufWriter w;
  const uint64_t n_tensors = untied ? 3 : 2;
  w.put<uint32_t>(0x46554747).put<uint32_t>(3).put<uint64_t>(n_tensors).put<uint64_t>(8);
  w.str("general.architecture").put<uint32_t>(8).str("llama");
  w.str("general.file_type").put<uint32_t>(4).put<uint32_t>(15);  // Q4_K_M
  w.str("llama.block_count").put<uint32_t>(4).put<uint32_t>(1);
  w.str("llama.embedding_length").put<uint32_t>(4).put<uint32_t>(32);
  w.str("llama.feed_forward_length").put<uint32_t>(4).put<uint32_t>(64);
  w.str("llama.attention.head_count").put<uint32_t>(4).put<uint32_t>(2);
  w.str("llama.attention.head_count_kv").put<uint32_t>(4).put<uint32_t>(1);
  w.str("tokenizer.ggml.tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(4);
  for (const char* t : {"a", "b", "c", "d"}) w.str(t);
  w.str("token_embd.weight").put<uint32_t>(2).put<uint64_t>(32).put<uint64_t>(4);
  w.put<uint32_t>(8).put<uint64_t>(0);  // Q8_0: 4 rows x 34 B = 136 B at 0
  w.str("blk.0.attn_q.weight").put<uint32_t>(2).put<uint64_t>(32).put<uint64_t>(32);
  w.put<uint32_t>(0).put<uint64_t>(160);  // F32, 4096 B
  if (untied) {
    w.str("output.weight").put<uint32_t>(2).put<uint64_t>(32).put<uint64_t>(4);
    w.put<uint32_t>(0).put<uint64_t>(4256);  // F32, 512 B
  }
  w.pad(32);
  w.b.resize(w.b.size() + (untied ? 4768 : 4256), 0);
  b = std::move(w.b);
  return GgufFile::parse(b, "tiny.gguf");
}

TEST(PlanModelBytes, TiedFilePricesEachTensorAtItsOwnType) {
  std::vector<uint8_t> b;
  PlanModel m = PlanModel::from_gguf(tiny_file(b, false));
  const DType w = m.default_weight_type();
  EXPECT_EQ(w.name, "gguf:Q4_K_M");
  EXPECT_EQ(m.file_weight_type, "F32");  // the type holding the most bytes
  EXPECT_TRUE(m.is_file_type(w));
  EXPECT_FALSE(m.is_file_type(dtype_from_name("Q4_K_M")));
  EXPECT_EQ(m.weight_type("q4_k_m").name, "gguf:Q4_K_M");  // --weight naming the file's type
  EXPECT_EQ(m.weight_type("").name, "gguf:Q4_K_M");
  EXPECT_EQ(m.weight_type("Q4_K").name, "Q4_K");
  EXPECT_DOUBLE_EQ(m.weight_bytes(w), 4232);
  EXPECT_DOUBLE_EQ(m.embd_bytes(w), 136);
  EXPECT_DOUBLE_EQ(m.lm_head_bytes(w), 136);  // tied: the table is the LM head
  EXPECT_DOUBLE_EQ(m.body_bytes(w), 4096);
  const DType kv = dtype_from_name("f16");
  // Decode reads the LM head and the body once; the embedding row is inside the head.
  EXPECT_DOUBLE_EQ(decode_cost(m, w, kv, 1, 0).weight_bytes, 4232);
  EXPECT_DOUBLE_EQ(prefill_cost(m, w, kv, 64).weight_bytes, 4232);
  // The label's dominant type prices everything at 0.5625 B/param instead.
  const DType q4k = dtype_from_name("Q4_K_M");
  EXPECT_DOUBLE_EQ(decode_cost(m, q4k, kv, 1, 0).weight_bytes, m.total_params() * 0.5625);
}

TEST(PlanModelBytes, UntiedFileReadsOneEmbeddingRowPerToken) {
  std::vector<uint8_t> b;
  PlanModel m = PlanModel::from_gguf(tiny_file(b, true));
  const DType w = m.default_weight_type();
  EXPECT_FALSE(m.tied_embeddings);
  EXPECT_DOUBLE_EQ(m.lm_head_bytes(w), 512);
  EXPECT_DOUBLE_EQ(m.body_bytes(w), 4096);
  const DType kv = dtype_from_name("f16");
  EXPECT_DOUBLE_EQ(decode_cost(m, w, kv, 1, 0).weight_bytes, 512 + 4096 + 136 / 4.0);
  EXPECT_DOUBLE_EQ(decode_cost(m, w, kv, 3, 0).weight_bytes, 512 + 4096 + 3 * 136 / 4.0);
}

TEST(PlanModelBytes, JsonRoundTrip) {
  std::vector<uint8_t> b;
  for (const PlanModel& m : {PlanModel::from_gguf(tiny_file(b, true)),
                             PlanModel::from_preset("deepseek-v3", kPresets)}) {
    PlanModel r = PlanModel::from_json(m.to_json(), "m.json");
    EXPECT_EQ(r.to_json(), m.to_json());
    const DType w = m.default_weight_type(), kv = dtype_from_name("bf16");
    EXPECT_EQ(r.default_weight_type().name, w.name);
    EXPECT_DOUBLE_EQ(decode_cost(r, w, kv, 8, 1000).weight_bytes,
                     decode_cost(m, w, kv, 8, 1000).weight_bytes);
    EXPECT_DOUBLE_EQ(prefill_cost(r, w, kv, 512).flops, prefill_cost(m, w, kv, 512).flops);
    EXPECT_DOUBLE_EQ(r.kv_bytes_per_token(kv), m.kv_bytes_per_token(kv));
  }
}

TEST(PlanModelBytes, JsonErrorsNameTheField) {
  EXPECT_NE(error_of([] {
              PlanModel::from_json(R"({"id": "x"})", "b.json");
            }).find("b.json: missing field 'arch'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              PlanModel::from_json(R"({"id": "x", "arch": "llama", "n_layer": -2})", "b.json");
            }).find("field 'n_layer': expected an integer >= 0, got -2"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              PlanModel::from_json(R"({"id": "x", "arch": "llama", "n_layer": 2})", "b.json");
            }).find("must all be positive"),
            std::string::npos);
  EXPECT_NE(error_of([] { PlanModel::from_json("[1", "b.json"); }).find("not valid JSON"),
            std::string::npos);
}

// The real Gemma 3 270M Q4_K_M file (scripts/get-models.sh): the planner's decode
// bytes are exactly the file's tensors (tied embedding read once, as the LM head),
// not every weight at Q4_K's size (which undercounts by ~40%).
TEST(PlanModelBytes, Gemma3FileDecodeBytesAreExact) {
  const std::string path = test::cached_model("gemma-3-270m-q4_k_m.gguf");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not downloaded";
  GgufFile f = GgufFile::open(path);
  PlanModel m = PlanModel::from_gguf(f);
  double sum = 0;
  for (const auto& t : f.tensors()) sum += double(t.n_bytes);
  const DType w = m.default_weight_type(), kv = dtype_from_name("f16");
  EXPECT_EQ(w.name, "gguf:Q4_K_M");
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_DOUBLE_EQ(decode_cost(m, w, kv, 1, 0).weight_bytes, sum);
  EXPECT_GT(sum, 1.4 * decode_cost(m, dtype_from_name("Q4_K"), kv, 1, 0).weight_bytes);
}

}  // namespace
}  // namespace pivot::plan
