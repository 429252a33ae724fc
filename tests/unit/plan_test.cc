// Planner predictions and catalog: hand-computed roofline, all-reduce, memory and
// training cases; catalog validation; JSON schema; calibration; bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "pivot/error.h"
#include "pivot/plan.h"
#include "pivot/plan_calibrate.h"
#include "pivot/plan_report.h"
#include "test_util.h"

namespace pivot::plan {
namespace {

const std::string kData = std::string(PIVOT_SOURCE_DIR) + "/data";
const std::string kPresets = kData + "/model_presets.json";

const Catalog& catalog() {
  static const Catalog c = Catalog::load(kData + "/accelerators.json");
  return c;
}

using test::error_of;

PlanInputs inputs(const char* w = "bf16", int tp = 1) {
  PlanInputs in;
  in.weight = dtype_from_name(w);
  in.kv = dtype_from_name("bf16");
  in.tp = tp;
  return in;
}

Plan plan(const char* model, const char* chip, PlanInputs in) {
  const Accelerator& a = catalog().find(chip);
  return make_plan(PlanModel::from_preset(model, kPresets), a, catalog().efficiency(a), in);
}

// --- catalog ------------------------------------------------------------------

TEST(PlanCatalog, HasTheIssueListAndEveryRowIsSourced) {
  const auto& chips = catalog().chips();
  EXPECT_GE(chips.size(), 25u);
  for (const char* id :
       {"h20",      "h100",   "h200",      "h800",      "a100",  "a800",    "l20",       "b200",
        "rtx-4090", "910b2",  "910b3",     "910b4",     "910c",  "310p",    "mlu370-x8", "t20",
        "i20",      "p800",   "k100",      "bw1000",    "s4000", "bi-v100", "br104",     "mi300x",
        "mi308x",   "gaudi3", "xeon-8480", "epyc-9654", "dev-vm"})
    EXPECT_NO_THROW(catalog().find(id)) << id;
  int cpus = 0;
  for (const auto& a : chips) {
    EXPECT_FALSE(a.sources.empty()) << a.id;
    EXPECT_FALSE(a.confidence.empty()) << a.id;
    EXPECT_FALSE(a.confidence_level.empty()) << a.id;
    for (auto x : {a.bf16_tflops, a.fp16_tflops, a.fp8_tflops, a.int8_tops, a.fp32_tflops, a.mem_gb,
                   a.mem_bw_gbs, a.link_gbs, a.link_per_peer_gbs, a.tdp_w})
      if (x) {
        EXPECT_GE(*x, 0) << a.id;
      }
    cpus += a.kind == "cpu";
  }
  EXPECT_GE(cpus, 3);
  // Unknown stays unknown: Huawei publishes no 910C TDP and there is no FP8 on it.
  EXPECT_FALSE(catalog().find("910c").tdp_w);
  EXPECT_FALSE(catalog().find("910c").fp8_tflops);
}

TEST(PlanCatalog, UnknownChipListsCloseNames) {
  std::string e = error_of([] { catalog().find("h10"); });
  EXPECT_NE(e.find("unknown chip 'h10'"), std::string::npos) << e;
  EXPECT_NE(e.find("h100-sxm"), std::string::npos) << e;
  EXPECT_EQ(catalog().find("H100").id, "h100-sxm");  // case-insensitive alias
}

TEST(PlanCatalog, BadRowsAreRejectedByName) {
  auto write = [](const std::string& body) {
    std::string p = (std::filesystem::temp_directory_path() / "pivot_bad_catalog.json").string();
    std::ofstream(p) << body;
    return p;
  };
  const std::string eff = R"("efficiency_defaults": {"x": {"compute": 0.5, "bandwidth": 0.8,
      "link": 0.8, "link_latency_us": 5, "train_mfu": 0.4, "source": "test"}})";
  const std::string row = R"({"id": "c1", "vendor": "v", "name": "n", "kind": "gpu",
      "efficiency_class": "x", "confidence_level": "rumor", "confidence": "c", )";
  std::string e = error_of([&] {
    Catalog::load(
        write("{" + eff + R"(, "accelerators": [)" + row + R"("sources": ["u"], "mem_gb": -1}]})"));
  });
  EXPECT_NE(e.find("(c1): field 'mem_gb'"), std::string::npos) << e;
  e = error_of(
      [&] { Catalog::load(write("{" + eff + R"(, "accelerators": [)" + row + R"("x": 1}]})")); });
  EXPECT_NE(e.find("(c1): missing field 'sources'"), std::string::npos) << e;
  e = error_of([] { Catalog::load("/nonexistent/accelerators.json"); });
  EXPECT_NE(e.find("/nonexistent/accelerators.json"), std::string::npos) << e;
}

// --- predictions ----------------------------------------------------------------

TEST(Plan, DecodeOnH100IsWeightsOverBandwidth) {
  PlanInputs in = inputs();
  in.prompt = 1;
  in.output = 0;  // decode at context 1
  Plan p = plan("llama-3.1-8b", "h100", in);
  // bytes = 2 * (active params) + one embedding row + 2 KV positions + f32 logits.
  const double bytes = 2.0 * (8030261248.0 - 525336576.0) + 2 * 4096 + 2 * 131072 + 128256 * 4;
  EXPECT_NEAR(p.decode.memory_s, bytes / (3350e9 * 0.8), 1e-9);
  EXPECT_EQ(p.decode.bound, "memory");
  EXPECT_NEAR(p.serving.tpot_ms, 5.601, 0.001);
  EXPECT_NEAR(p.serving.tokens_per_s_per_watt, 1000 / p.serving.tpot_ms / 700, 1e-9);
  EXPECT_TRUE(p.missing.empty());
}

TEST(Plan, RingAllReduceByHand) {
  PlanInputs in = inputs("bf16", 2);
  in.prompt = 1;
  in.output = 0;
  Plan p = plan("llama-3.1-70b", "h100", in);
  // 2 all-reduces x 80 layers of 8192 bf16 activations over 450 GB/s x 0.8,
  // ring: 2(p-1)/p * S / B + 2(p-1) * 5 us.
  const double one = 2.0 * 1 / 2 * (8192 * 2) / (450e9 * 0.8) + 2.0 * 1 * 5e-6;
  EXPECT_NEAR(p.decode.comm_s, 160 * one, 1e-12);
  EXPECT_TRUE(p.mem.fits);
  Plan single = plan("llama-3.1-70b", "h100", inputs());
  EXPECT_FALSE(single.mem.fits);  // 141 GB of weights on an 80 GB part
}

TEST(Plan, MemoryPlanIsConsistent) {
  PlanInputs in = inputs();
  in.batch = 8;
  in.prompt = 1024;
  in.output = 256;
  Plan p = plan("llama-3.1-8b", "h100", in);
  EXPECT_DOUBLE_EQ(p.mem.usable, 80.0 * 1073741824 * 0.9);
  EXPECT_DOUBLE_EQ(p.mem.kv_per_sequence, 131072.0 * 1280);
  EXPECT_DOUBLE_EQ(p.mem.max_kv_tokens,
                   std::floor((p.mem.usable - p.mem.weights - p.mem.workspace) / 131072.0));
  EXPECT_DOUBLE_EQ(p.mem.max_batch_at_context, std::floor(p.mem.max_kv_tokens / 1280));
  // GQA: 8 KV heads split over tp 4, 2 each.
  Plan tp4 = plan("llama-3.1-8b", "h100", inputs("bf16", 4));
  EXPECT_DOUBLE_EQ(tp4.mem.kv_per_token, 131072.0 / 4);
}

TEST(Plan, MissingInputsAreNamedNotGuessed) {
  Plan p = plan("llama-3.1-8b", "bw1000", inputs());  // Hygon disclosed no memory figures
  EXPECT_FALSE(known(p.serving.tpot_ms));
  bool named = false;
  for (const auto& m : p.missing) named |= m.rfind("mem_bw_gbs", 0) == 0;
  EXPECT_TRUE(named);
  Plan q = plan("llama-3.1-8b", "910c", inputs("int8"));
  EXPECT_TRUE(known(q.serving.tpot_ms));
  EXPECT_FALSE(known(q.serving.tokens_per_s_per_watt));   // no published TDP
  Plan f = plan("llama-3.1-8b", "910b2", inputs("fp8"));  // no FP8 on Ascend: stated fallback
  bool stated = false;
  for (const auto& a : f.assumptions) stated |= a.find("fp8_tflops unknown") != std::string::npos;
  EXPECT_TRUE(stated);
}

TEST(Plan, TargetLoadFindsALayout) {
  const Accelerator& h100 = catalog().find("h100");
  PlanModel m = PlanModel::from_preset("llama-3.1-70b", kPresets);
  TargetLoad load{10, 1024, 256, 2000, 50};
  TargetPlan t = plan_for_target(m, h100, catalog().efficiency(h100), inputs(), load);
  ASSERT_TRUE(t.best);
  EXPECT_GE(t.best->tp, 2);  // does not fit on one chip
  EXPECT_LE(t.best->tpot_ms, 50);
  EXPECT_GE(t.best->replica_rps * t.best->replicas, 10);
}

TEST(Plan, ExpertParallelSplitsOnlyRoutedExperts) {
  PlanInputs in = inputs("int8");
  in.ep = 160;
  in.batch = 96;
  Plan p = plan("deepseek-r1", "910c", in);
  PlanModel m = PlanModel::from_preset("deepseek-r1", kPresets);
  const double routed = 58.0 * 256 * m.expert_params();  // bytes at int8
  EXPECT_NEAR(p.mem.weights, m.total_params() - routed + routed / 160, 1);
  EXPECT_EQ(p.chips, 160);
  EXPECT_GT(p.decode.comm_s, 0);
  in.tp = 2;
  EXPECT_NE(error_of([&] { plan("deepseek-r1", "910c", in); }).find("--ep needs"),
            std::string::npos);
}

TEST(Plan, TrainingByHand) {
  TrainInputs in;
  in.params = 7e9;
  in.tokens = 1e12;
  in.chips = 1000;
  in.mfu = 0.4;
  const Accelerator& h100 = catalog().find("h100");
  TrainPlan t = plan_training(h100, catalog().efficiency(h100), in);
  const double s = 6 * 7e9 * 1e12 / (1000 * 989e12 * 0.4);
  EXPECT_NEAR(t.seconds, s, 1e-6 * s);
  EXPECT_NEAR(t.energy_mwh, 1000 * 700 * s / 3.6e9, 1e-6);
  EXPECT_DOUBLE_EQ(t.state_bytes, 16 * 7e9);
}

TEST(Plan, JsonSchema) {
  ojson j = to_json(plan("qwen2.5-7b", "910c", inputs()));
  EXPECT_EQ(j["schema"], "pivot.plan.v1");
  for (const char* k : {"model", "chip", "layout", "efficiency", "memory", "prefill", "decode",
                        "serving", "assumptions", "missing", "formulas"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(j["memory"]["fits"].is_boolean());
  EXPECT_TRUE(j["serving"]["ttft_ms"].is_number());
  EXPECT_TRUE(j["serving"]["tokens_per_s_per_watt"].is_null());
  EXPECT_TRUE(j["chip"]["sources"].is_array());
  EXPECT_TRUE(j["formulas"].contains("ring_allreduce"));
  ojson c =
      compare_json({plan("qwen2.5-7b", "h20", inputs()), plan("qwen2.5-7b", "bw1000", inputs())});
  EXPECT_EQ(c["schema"], "pivot.plan.compare.v1");
  EXPECT_TRUE(c["rows"][1]["decode"]["time_s"].is_null());
  std::string svg = compare_svg(
      {plan("qwen2.5-7b", "h20", inputs()), plan("qwen2.5-7b", "bw1000", inputs())}, "t");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("hygon-bw1000"), std::string::npos);
  EXPECT_NE(svg.find("n/a"), std::string::npos);
}

TEST(Plan, ListJsonHasEveryChipAndPreset) {
  const ojson c = catalog_json(catalog());
  EXPECT_EQ(c["schema"], "pivot.plan.catalog.v1");
  ASSERT_EQ(c["chips"].size(), catalog().chips().size());
  for (const ojson& chip : c["chips"]) {
    EXPECT_EQ(catalog().find(chip["id"].get<std::string>()).id, chip["id"]);
    EXPECT_TRUE(chip["sources"].is_array() && !chip["sources"].empty()) << chip["id"];
  }
  // Unknown numbers are null, never a guess (910C has no published TDP).
  for (const ojson& chip : c["chips"]) {
    if (chip["id"] == "910c") {
      EXPECT_TRUE(chip["tdp_w"].is_null());
    }
  }
  const ojson m = models_json(kPresets);
  EXPECT_EQ(m["schema"], "pivot.plan.models.v1");
  ASSERT_EQ(m["models"].size(), PlanModel::preset_ids(kPresets).size());
  for (const ojson& e : m["models"]) EXPECT_GT(e["params"].get<double>(), 1e8) << e["id"];
}

TEST(Plan, BadInputsFail) {
  PlanInputs in = inputs();
  in.batch = 0;
  EXPECT_NE(error_of([&] { plan("llama-3.1-8b", "h100", in); }).find("batch"), std::string::npos);
}

// --- calibration ------------------------------------------------------------------

// Synthetic measurements (not a real run): the fit must recover what they imply.
TEST(PlanCalibrate, FitsAndReportsErrors) {
  auto bench = [](double pp, double tg) {
    return std::string(R"({"backend": "cpu", "model": "smollm2-135m", "weight_type": "Q4_1",
      "threads": 2, "pp": {"n_tokens": 512, "tokens_per_s": )") +
           std::to_string(pp) + R"(}, "tg": {"n_tokens": 128, "tokens_per_s": )" +
           std::to_string(tg) + R"(}, "machine": {"chip": "dev-vm-epyc-2vcpu"}})";
  };
  std::vector<BenchRecord> recs = {parse_bench_json(bench(100, 40), "a.json"),
                                   parse_bench_json(bench(120, 50), "b.json")};
  Calibration c = calibrate(recs, catalog(), kPresets);
  ASSERT_TRUE(c.fitted.count("cpu/2t/Q4_1"));
  const Efficiency* g = &c.fitted.at("cpu/2t/Q4_1");
  EXPECT_EQ(c.find("cpu"), g);
  EXPECT_EQ(c.find("cpu", 2), g);
  EXPECT_EQ(c.find("cpu", 2, "gguf:Q4_1"), g);
  EXPECT_EQ(c.find("cpu", 1, "Q8_0"), g);  // the only cpu group
  EXPECT_EQ(c.find("cuda"), nullptr);
  EXPECT_EQ(calibration_group("cpu", 2, "gguf:Q4_K_M"), "cpu/2t/Q4_K_M");
  EXPECT_EQ(calibration_group("cuda", 1, ""), "cuda");
  ASSERT_EQ(c.rows.size(), 4u);
  for (const auto& r : c.rows) {
    EXPECT_TRUE(known(r.error_before));
    EXPECT_LT(std::fabs(r.error_after), 0.15) << r.file << " " << r.phase;  // geomean of 2
    EXPECT_TRUE(known(r.error_loo)) << r.file << " " << r.phase;
  }
  EXPECT_NE(error_of([] {
              parse_bench_json(R"({"model": "m"})", "x.json");
            }).find("x.json: missing field 'backend'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_bench_json(R"({"backend": "cpu", "model": "m", "pp": {"n_tokens": 1}})",
                               "y.json");
            }).find("pp.tokens_per_s"),
            std::string::npos);
}

// Measurements made by the planner itself from known op-class efficiencies: the fit
// must recover them, and then every error (after and leave-one-out) must vanish.
TEST(PlanCalibrate, RecoversOpClassEfficiencies) {
  const Accelerator& chip = catalog().find("dev-vm-epyc-2vcpu");
  const PlanModel m = PlanModel::resolve("smollm2-135m", kPresets);
  Efficiency truth = catalog().efficiency(chip);
  // Decode is fitted as one factor on both roofline terms (so it cannot tell them
  // apart): the truth scales both defaults by 0.4.
  truth.decode_compute = truth.decode_compute_or_default() * 0.4;
  truth.bandwidth *= 0.4;
  truth.compute = 0.3, truth.attention = 0.05, truth.prefill_weight_ns = 2;
  std::vector<BenchRecord> recs;
  for (int64_t p : {64, 256, 1024, 2048}) {
    PlanInputs in;
    in.weight = dtype_from_name("Q4_1");
    in.kv = dtype_from_name("f16");
    in.prompt = p;
    in.output = 0;
    const double pp = double(p) / make_plan(m, chip, truth, in).prefill.time_s;
    in.output = 128;  // the tg context the calibration assumes: n_ctx_start + n/2
    const double tg = 1 / make_plan(m, chip, truth, in).decode.time_s;
    recs.push_back(parse_bench_json(
        strprintf(R"({"backend": "cpu", "model": "smollm2-135m", "weight_type": "Q4_1",
          "threads": 2, "pp": {"n_tokens": %lld, "tokens_per_s": %.17g},
          "tg": {"n_tokens": 128, "n_ctx_start": %lld, "tokens_per_s": %.17g},
          "machine": {"chip": "dev-vm-epyc-2vcpu"}})",
                  static_cast<long long>(p), pp, static_cast<long long>(p), tg),
        strprintf("p%lld.json", static_cast<long long>(p))));
  }
  Calibration c = calibrate(recs, catalog(), kPresets);
  const Efficiency* e = c.find("cpu", 2);
  ASSERT_NE(e, nullptr);
  EXPECT_NEAR(e->compute, 0.3, 1e-6);
  EXPECT_NEAR(e->attention, 0.05, 1e-6);
  EXPECT_NEAR(e->prefill_weight_ns, 2, 1e-6);
  EXPECT_NEAR(e->decode_compute, truth.decode_compute, 1e-6);
  EXPECT_NEAR(e->bandwidth, truth.bandwidth, 1e-6);
  ASSERT_EQ(c.rows.size(), 8u);
  double worst_before = 0;  // the defaults must be visibly wrong, or the test proves nothing
  for (const auto& r : c.rows) {
    EXPECT_LT(std::fabs(r.error_after), 1e-6) << r.file << " " << r.phase;
    EXPECT_LT(std::fabs(r.error_loo), 1e-6) << r.file << " " << r.phase;
    worst_before = std::max(worst_before, std::fabs(r.error_before));
  }
  EXPECT_GT(worst_before, 0.5);
}

// The committed measurements of this repository's dev VM (data/calibration, idle
// `pivot bench --json` runs, each planned on the machine it records — cores,
// clock, flags and in-run bandwidth): after calibration every case must be within the
// planner's stated +-25%. A change to the cost model that breaks this shows here.
TEST(PlanCalibrate, CommittedDevVmRunsWithin25Percent) {
  std::vector<BenchRecord> recs;
  for (const auto& f : std::filesystem::directory_iterator(kData + "/calibration")) {
    if (f.path().extension() != ".json") continue;
    std::ifstream in(f.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BenchRecord r = parse_bench_json(text, f.path().filename().string());
    recs.push_back(r);
  }
  ASSERT_GE(recs.size(), 8u);
  Calibration c = calibrate(recs, catalog(), kPresets);
  for (const auto& r : c.rows) {
    EXPECT_LE(std::fabs(r.error_after), 0.25) << r.file << " " << r.phase;
    EXPECT_LE(std::fabs(r.error_loo), 0.35) << r.file << " " << r.phase;  // leave-one-out
  }
}

}  // namespace
}  // namespace pivot::plan
