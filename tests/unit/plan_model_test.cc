// Planner model side: parameter counts, KV sizes and step costs against numbers
// computed by hand from the models' published config.json files; GGUF and
// config.json parsing, including the errors a user can hit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pivot/error.h"
#include "pivot/gguf.h"
#include "pivot/plan_model.h"
#include "test_util.h"

namespace pivot::plan {
namespace {

const std::string kPresets = std::string(PIVOT_SOURCE_DIR) + "/data/model_presets.json";

PlanModel preset(const char* id) {
  return PlanModel::from_preset(id, kPresets);
}

using test::error_of;

TEST(PlanModel, Llama31_8bByHand) {
  PlanModel m = preset("llama-3.1-8b");
  // embd 128256*4096 twice (untied) + 32 layers * (attn 41,943,040 + norms 8,192 +
  // ffn 3*4096*14336) + final norm 4096.
  EXPECT_DOUBLE_EQ(m.total_params(), 8030261248.0);
  EXPECT_NEAR(m.weight_bytes(dtype_from_name("bf16")) / 1e9, 16.06, 0.005);
  // KV per token = 2 * n_layer * n_kv_head * head_dim * bytes = 2*32*8*128*2.
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(dtype_from_name("bf16")), 131072.0);
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(dtype_from_name("fp8")), 65536.0);
  // Active = everything but the embedding lookup.
  EXPECT_DOUBLE_EQ(m.active_params(), 8030261248.0 - 525336576.0);
}

TEST(PlanModel, PresetsMatchPublishedParameterCounts) {
  for (const auto& id : PlanModel::preset_ids(kPresets)) {
    PlanModel m = preset(id.c_str());
    ASSERT_TRUE(m.published_params) << id;
    EXPECT_NEAR(m.total_params() / *m.published_params, 1.0, 0.015) << id;
  }
}

TEST(PlanModel, DeepSeekV3MoeAndMla) {
  PlanModel m = preset("deepseek-v3");
  EXPECT_TRUE(m.is_moe());
  EXPECT_TRUE(m.is_mla());
  EXPECT_NEAR(m.total_params() / 671e9, 1.0, 0.01);
  // DeepSeek's README_WEIGHTS: 36.6B activated incl. the 0.9B output head.
  EXPECT_NEAR(m.active_params() / 36.6e9, 1.0, 0.02);
  // MLA cache: (kv_lora_rank 512 + rope 64) per layer, 61 layers, bf16.
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(dtype_from_name("bf16")), 61.0 * 576 * 2);
  // Batch 1 touches 8 routed experts per layer; a huge batch touches all 256.
  EXPECT_NEAR(experts_touched(m, 1), 8.0, 1e-9);
  EXPECT_NEAR(experts_touched(m, 100000), 256.0, 1e-6);
}

TEST(PlanModel, DTypes) {
  EXPECT_DOUBLE_EQ(dtype_from_name("Q4_K").bytes_per_elem, 144.0 / 256);
  EXPECT_EQ(dtype_from_name("q4_k_m").name, "Q4_K");
  EXPECT_DOUBLE_EQ(dtype_from_name("q8_0").bytes_per_elem, 34.0 / 32);
  EXPECT_EQ(dtype_from_name("fp8").compute, ComputeClass::kFp8);
  EXPECT_EQ(dtype_from_name("int8").compute, ComputeClass::kInt8);
  EXPECT_NE(error_of([] { dtype_from_name("int3"); }).find("unknown weight/KV type 'int3'"),
            std::string::npos);
}

TEST(PlanModel, DecodeCostByHand) {
  PlanModel m = preset("llama-3.1-8b");
  DType bf16 = dtype_from_name("bf16");
  StepCost c = decode_cost(m, bf16, bf16, 1, 100);
  // Weights read: LM head + all layers + final norm, plus one embedding row.
  EXPECT_DOUBLE_EQ(c.weight_bytes, 2.0 * (8030261248.0 - 525336576.0) + 2.0 * 4096);
  EXPECT_DOUBLE_EQ(c.kv_bytes, 101.0 * 131072);
  // FLOPs: 2 * active params + 4 * n_layer * n_head * head_dim * (context + 1).
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * (8030261248.0 - 525336576.0) + 4.0 * 32 * 32 * 128 * 101);
  EXPECT_EQ(c.n_allreduce, 64);
  EXPECT_DOUBLE_EQ(c.comm_bytes_per_allreduce, 4096.0 * 2);
}

TEST(PlanModel, PrefillCostByHand) {
  PlanModel m = preset("llama-3.1-8b");
  DType bf16 = dtype_from_name("bf16");
  StepCost c = prefill_cost(m, bf16, bf16, 1000, 1);
  const double body = 8030261248.0 - 2 * 525336576.0;  // no embedding, no LM head
  const double attn = 4.0 * 32 * 32 * 128 * (1000.0 * 1001 / 2);
  EXPECT_NEAR(c.flops, 1000 * 2 * body + 2 * 525336576.0 + attn, 1e3);
}

TEST(PlanModel, HfConfigErrorsNameTheField) {
  EXPECT_NE(error_of([] {
              PlanModel::from_hf_config(R"({"hidden_size": "abc"})", "config.json");
            }).find("config.json: field 'hidden_size'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              PlanModel::from_hf_config(R"({"hidden_size": 64, "num_attention_heads": 4,
                                           "vocab_size": 10, "intermediate_size": 8})",
                                        "config.json");
            }).find("missing field 'num_hidden_layers'"),
            std::string::npos);
  EXPECT_NE(
      error_of([] { PlanModel::from_hf_config("{not json", "c.json"); }).find("not valid JSON"),
      std::string::npos);
  EXPECT_NE(error_of([] {
              PlanModel::from_hf_config(R"({"hidden_size": 64, "num_hidden_layers": 2,
                                           "num_attention_heads": 4, "num_key_value_heads": 3,
                                           "vocab_size": 10, "intermediate_size": 8})",
                                        "c.json");
            }).find("not a multiple of 3 KV heads"),
            std::string::npos);
}

TEST(PlanModel, HfConfigWithTextConfig) {
  PlanModel m = PlanModel::from_hf_config(
      R"({"model_type": "gemma3", "text_config": {"hidden_size": 640, "num_hidden_layers": 18,
          "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
          "vocab_size": 262144, "intermediate_size": 2048, "tie_word_embeddings": true}})",
      "gemma.json");
  EXPECT_EQ(m.n_layer, 18);
  EXPECT_EQ(m.head_dim, 256);
  EXPECT_TRUE(m.tied_embeddings);
}

TEST(PlanModel, UnknownModelListsPresets) {
  std::string e = error_of([] { PlanModel::resolve("llama-3.1-8", kPresets); });
  EXPECT_NE(e.find("unknown model 'llama-3.1-8'"), std::string::npos) << e;
  EXPECT_NE(e.find("llama-3.1-8b"), std::string::npos) << e;
  EXPECT_NE(
      error_of([] { PlanModel::resolve("/nonexistent/m.gguf", kPresets); }).find("no such file"),
      std::string::npos);
}

// --- GGUF -------------------------------------------------------------------

using Writer = test::GgufWriter;

TEST(PlanModel, FromGgufSynthetic) {
  Writer w;
  w.put<uint32_t>(0x46554747).put<uint32_t>(3).put<uint64_t>(1).put<uint64_t>(7);
  w.str("general.architecture").put<uint32_t>(8).str("llama");
  w.str("llama.block_count").put<uint32_t>(4).put<uint32_t>(2);
  w.str("llama.embedding_length").put<uint32_t>(4).put<uint32_t>(8);
  w.str("llama.feed_forward_length").put<uint32_t>(4).put<uint32_t>(16);
  w.str("llama.attention.head_count").put<uint32_t>(4).put<uint32_t>(2);
  w.str("llama.attention.head_count_kv").put<uint32_t>(4).put<uint32_t>(1);
  w.str("tokenizer.ggml.tokens").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(4);
  for (const char* t : {"a", "b", "c", "d"}) w.str(t);
  w.str("token_embd.weight").put<uint32_t>(2).put<uint64_t>(8).put<uint64_t>(4);
  w.put<uint32_t>(0).put<uint64_t>(0);  // F32 at offset 0
  while (w.b.size() % 32) w.b.push_back(0);
  w.b.resize(w.b.size() + 8 * 4 * 4, 0);
  GgufFile f = GgufFile::parse(w.b, "tiny.gguf");
  PlanModel m = PlanModel::from_gguf(f);
  EXPECT_EQ(m.n_layer, 2);
  EXPECT_EQ(m.n_vocab, 4);
  EXPECT_EQ(m.head_dim, 4);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_EQ(*m.file_weight_bytes, 128u);
  EXPECT_EQ(m.file_weight_type, "F32");
  EXPECT_DOUBLE_EQ(m.weight_bytes(m.default_weight_type()), 128.0);
}

TEST(PlanModel, FromGgufMissingKeyIsNamed) {
  Writer w;
  w.put<uint32_t>(0x46554747).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1);
  w.str("general.architecture").put<uint32_t>(8).str("llama");
  GgufFile f = GgufFile::parse(w.b, "bad.gguf");
  EXPECT_NE(error_of([&] { PlanModel::from_gguf(f); }).find("llama.block_count"),
            std::string::npos);
}

// The real SmolLM2 file (scripts/get-models.sh) agrees with its config.json preset.
TEST(PlanModel, SmolLM2GgufMatchesPreset) {
  const std::string path = test::cached_model("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not downloaded";
  PlanModel g = PlanModel::from_gguf_path(path);
  PlanModel p = preset("smollm2-135m");
  EXPECT_EQ(g.n_layer, p.n_layer);
  EXPECT_EQ(g.n_embd, p.n_embd);
  EXPECT_EQ(g.n_ff, p.n_ff);
  EXPECT_EQ(g.n_head_kv, p.n_head_kv);
  EXPECT_EQ(g.n_vocab, p.n_vocab);
  EXPECT_EQ(g.tied_embeddings, p.tied_embeddings);
  EXPECT_DOUBLE_EQ(g.total_params(), p.total_params());
  EXPECT_DOUBLE_EQ(g.weight_bytes(g.default_weight_type()), double(*g.file_weight_bytes));
}

}  // namespace
}  // namespace pivot::plan
