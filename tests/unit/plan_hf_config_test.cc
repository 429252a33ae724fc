// Hugging Face config.json variants the planner must read right: Mixtral's MoE keys,
// Qwen2-MoE's shared expert, Gemma's tied-embedding default; and a target load too
// large for any deployment. Parameter counts by hand from each model's published
// config.json (numbers in the comments).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "pivot/error.h"
#include "pivot/plan.h"
#include "pivot/plan_model.h"

namespace pivot::plan {
namespace {

// Mixtral-8x7B-v0.1 config.json: 8 experts of 14336, 2 per token, all layers MoE.
TEST(PlanHfConfig, MixtralLocalExperts) {
  PlanModel m = PlanModel::from_hf_config(
      R"({"model_type": "mixtral", "hidden_size": 4096, "num_hidden_layers": 32,
          "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
          "intermediate_size": 14336, "num_local_experts": 8, "num_experts_per_tok": 2,
          "tie_word_embeddings": false})",
      "mixtral.json");
  ASSERT_TRUE(m.is_moe());
  EXPECT_EQ(m.n_expert, 8);
  EXPECT_EQ(m.n_ff_expert, 14336);
  // Published: 46.7 B total, 12.9 B active per token (counting the embedding table,
  // which active_params() leaves out: a lookup is no matmul).
  EXPECT_NEAR(m.total_params() / 1e9, 46.7, 0.1);
  EXPECT_NEAR((m.active_params() + m.embd_params()) / 1e9, 12.9, 0.05);
}

// Qwen1.5-MoE-A2.7B config.json: 60 experts of 1408, 4 per token, one shared expert
// of 5632 (= 4 routed widths). Published: 14.3 B total, 2.7 B activated.
TEST(PlanHfConfig, Qwen2MoeSharedExpert) {
  PlanModel m = PlanModel::from_hf_config(
      R"({"model_type": "qwen2_moe", "hidden_size": 2048, "num_hidden_layers": 24,
          "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 151936,
          "intermediate_size": 5632, "moe_intermediate_size": 1408, "num_experts": 60,
          "num_experts_per_tok": 4, "shared_expert_intermediate_size": 5632,
          "tie_word_embeddings": false})",
      "qwen-moe.json");
  EXPECT_EQ(m.n_expert_shared, 4);
  EXPECT_NEAR(m.total_params() / 1e9, 14.3, 0.1);
  EXPECT_NEAR((m.active_params() + m.embd_params()) / 1e9, 2.7, 0.05);
}

// Gemma 3 270M config.json states no tie_word_embeddings: Gemma's default is tied.
TEST(PlanHfConfig, GemmaTiesByDefault) {
  const char* body = R"("hidden_size": 640, "num_hidden_layers": 18, "num_attention_heads": 4,
      "num_key_value_heads": 1, "head_dim": 256, "vocab_size": 262144,
      "intermediate_size": 2048)";
  PlanModel g = PlanModel::from_hf_config(
      std::string(R"({"model_type": "gemma3_text", )") + body + "}", "gemma.json");
  EXPECT_TRUE(g.tied_embeddings);
  EXPECT_NEAR(g.total_params() / 1e6, 268, 1);  // published: 270 M
  PlanModel l = PlanModel::from_hf_config(std::string(R"({"model_type": "llama", )") + body + "}",
                                          "llama.json");
  EXPECT_FALSE(l.tied_embeddings);
  // A multimodal config may state it at the top level.
  PlanModel t = PlanModel::from_hf_config(
      std::string(R"({"model_type": "llava", "tie_word_embeddings": true, "text_config": {)") +
          body + "}}",
      "mm.json");
  EXPECT_TRUE(t.tied_embeddings);
}

// Llama 3.1 8B in bf16 (f16 KV) on an H100, from the committed catalog and presets.
struct Llama8bOnH100 : ::testing::Test {
  const Catalog cat = Catalog::load(std::string(PIVOT_SOURCE_DIR) + "/data/accelerators.json");
  const PlanModel m = PlanModel::from_preset(
      "llama-3.1-8b", std::string(PIVOT_SOURCE_DIR) + "/data/model_presets.json");
  const Accelerator& chip = cat.find("h100");
  PlanInputs in = [] {
    PlanInputs i;
    i.weight = dtype_from_name("bf16");
    i.kv = dtype_from_name("f16");
    return i;
  }();
};

// A load no deployment meets must come out infeasible, never a negative chip count.
TEST_F(Llama8bOnH100, HugeTargetLoadIsInfeasible) {
  TargetLoad load;
  load.rps = 1e10;
  load.prompt = 1000;
  load.output = 200;
  load.ttft_ms = 2000;
  load.tpot_ms = 50;
  TargetPlan t = plan_for_target(m, chip, cat.efficiency(chip), in, load);
  EXPECT_FALSE(t.best.has_value());
  for (const auto& o : t.options) EXPECT_GE(o.chips, 0);
  load.rps = INFINITY;
  EXPECT_THROW(plan_for_target(m, chip, cat.efficiency(chip), in, load), Error);
}

// A tensor-parallel degree that does not divide the heads is planned with a warning.
TEST_F(Llama8bOnH100, UnevenTensorParallelSplitIsFlagged) {
  auto warned = [&](int tp) {
    in.tp = tp;
    for (const auto& a : make_plan(m, chip, cat.efficiency(chip), in).assumptions)
      if (a.find("does not divide the 32 attention heads") != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(warned(3));
  EXPECT_FALSE(warned(4));
}

}  // namespace
}  // namespace pivot::plan
