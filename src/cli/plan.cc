// `pivot plan`: what it takes to serve or train a model on a chip (include/pivot/plan.h).
//
//   pivot plan --model M --chip C [--chips N] [--tp N] [--batch B] [--prompt P --output O]
//              [--target-rps R --ttft-ms X --tpot-ms Y] [--json] [--plot FILE.svg]
//   pivot plan --model M --compare C1,C2,...   side-by-side table
//   pivot plan --calibrate BENCH.json...       fit efficiencies, report the planner's error
//   pivot plan train --model M --tokens D --chip C --chips N [--mfu F]
//   pivot plan --list | --list-models
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "pivot/error.h"
#include "pivot/plan.h"
#include "pivot/plan_calibrate.h"
#include "pivot/plan_report.h"

namespace pivot::cli {
namespace {

using namespace pivot::plan;

struct Options {
  std::string model, chip, compare, weight, kv = "f16", plot, catalog, presets, machine;
  int chips = 0, tp = 0, pp = 1, ep = 1;
  int64_t batch = 1, prompt = 1024, output = 256;
  double mem_util = 0.9;
  double target_rps = 0, ttft_ms = 2000, tpot_ms = 50;
  double eff_compute = 0, eff_bandwidth = 0;
  std::vector<std::string> calibrate;
  bool json = false, list = false, list_models = false;
  // train
  double params = 0, active_params = 0, tokens = 0, mfu = 0, pue = 1.0;
  std::string precision = "bf16";
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("%s: cannot open", path.c_str());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string gb(double bytes) {
  return known(bytes) ? strprintf("%.2f GB", bytes / 1e9) : "n/a";
}
std::string ms(double s) {
  return known(s) ? strprintf("%.2f ms", s * 1e3) : "n/a";
}
std::string val(double x, const char* f = "%.1f") {
  return known(x) ? strprintf(f, x) : "n/a";
}
std::string opt(const std::optional<double>& x, const char* unit) {
  return x ? strprintf("%g %s", *x, unit) : strprintf("null %s", unit);
}

struct Context {
  Options o;
  Catalog catalog;
  std::string presets;
  Calibration cal;
  bool calibrated = false;
};

Context load_context(const Options& o) {
  Context c{o, Catalog::load_default(o.catalog), "", {}, false};
  c.presets = o.presets.empty() ? Catalog::find_data_file("model_presets.json", "") : o.presets;
  c.catalog.add(host_accelerator(o.machine.empty() ? "" : read_file(o.machine)));
  if (!o.calibrate.empty()) {
    std::vector<BenchRecord> recs;
    for (const auto& f : o.calibrate) recs.push_back(parse_bench_json(read_file(f), f));
    c.cal = calibrate(recs, c.catalog, c.presets);
    c.calibrated = true;
  }
  return c;
}

Efficiency efficiency_for(const Context& c, const Accelerator& chip,
                          const std::string& weight_type = "") {
  Efficiency e = c.catalog.efficiency(chip);
  if (c.calibrated) {
    if (const Efficiency* f = c.cal.find(chip.backend, 0, weight_type)) e = *f;
  }
  if (c.o.eff_compute > 0) e.compute = c.o.eff_compute, e.source = "--eff-compute/--eff-bandwidth";
  if (c.o.eff_bandwidth > 0)
    e.bandwidth = c.o.eff_bandwidth, e.source = "--eff-compute/--eff-bandwidth";
  return e;
}

PlanInputs inputs_for(const Context& c, const PlanModel& m) {
  PlanInputs in;
  in.weight = m.weight_type(c.o.weight);
  in.kv = dtype_from_name(c.o.kv);
  in.batch = c.o.batch;
  in.prompt = c.o.prompt;
  in.output = c.o.output;
  in.pp = c.o.pp;
  in.ep = c.o.ep;
  in.mem_util = c.o.mem_util;
  return in;
}

// The layout: --tp as given, else the smallest power of two (within the chip's
// scale-up domain and --chips) whose weights and KV fit; --chips beyond tp·pp are replicas.
Plan plan_one(const Context& c, const PlanModel& m, const Accelerator& chip) {
  PlanInputs in = inputs_for(c, m);
  const Efficiency eff = efficiency_for(c, chip, in.weight.name);
  int max_tp = chip.scale_up_devices.value_or(8);
  if (c.o.chips > 0) max_tp = std::min(max_tp, c.o.chips / in.pp);
  std::string chosen;
  if (c.o.tp > 0 || in.ep > 1) {
    in.tp = std::max(1, c.o.tp);
  } else {
    in.tp = 1;
    while (in.tp * 2 <= std::max(1, max_tp) && in.tp * 2 <= m.n_head) {
      Plan trial = make_plan(m, chip, eff, in);
      if (!known(trial.mem.capacity) || trial.mem.fits) break;
      in.tp *= 2;
    }
    if (in.tp > 1) chosen = strprintf("tp %d: the smallest power of two that fits", in.tp);
  }
  if (c.o.chips > 0) {
    const int per = in.tp * in.pp * in.ep;
    if (c.o.chips % per != 0)
      fail("--chips %d is not a multiple of tp %d x pp %d x ep %d", c.o.chips, in.tp, in.pp, in.ep);
    in.replicas = c.o.chips / per;
  }
  Plan p = make_plan(m, chip, eff, in);
  if (!chosen.empty() && known(p.mem.capacity) && !p.mem.fits)
    chosen = strprintf(
        "tp %d: the largest tried (scale-up domain, heads or --chips), and it does "
        "not fit",
        in.tp);
  if (!chosen.empty()) p.assumptions.insert(p.assumptions.begin(), chosen);
  if (c.calibrated) p.assumptions.push_back("efficiency: " + eff.source);
  return p;
}

void print_plan(const Plan& p) {
  const PlanModel& m = p.model;
  const Accelerator& c = p.chip;
  std::printf("pivot plan: %s (%s weights, %s KV) on %s x %d (tp %d, pp %d, ep %d, replicas %d)\n",
              m.id.c_str(), p.in.weight.name.c_str(), p.in.kv.name.c_str(), c.id.c_str(), p.chips,
              p.in.tp, p.in.pp, p.in.ep, p.in.replicas);
  std::printf("  chip       %s %s [%s]: %s %s, %s, %s, per-peer link %s, %s\n", c.vendor.c_str(),
              c.name.c_str(), c.confidence_level.c_str(), compute_class_name(p.in.weight.compute),
              opt(c.peak_tflops(p.in.weight.compute), "TFLOPS").c_str(),
              opt(c.mem_bw_gbs, "GB/s").c_str(), opt(c.mem_gb, "GB").c_str(),
              opt(c.link_per_peer_gbs, "GB/s").c_str(), opt(c.tdp_w, "W").c_str());
  std::printf(
      "  model      %.2f B params (%.2f B active per token), weights %s, KV %.1f KiB/token\n",
      m.total_params() / 1e9, m.active_params() / 1e9, gb(m.weight_bytes(p.in.weight)).c_str(),
      m.kv_bytes_per_token(p.in.kv) / 1024);
  const MemoryPlan& mm = p.mem;
  std::printf(
      "  memory     per device: weights %s + KV %s (batch %lld x %lld tokens) + workspace %s"
      " = %s of %s usable: %s\n",
      gb(mm.weights).c_str(), gb(mm.kv_at_batch).c_str(), (long long)p.in.batch,
      (long long)(p.in.prompt + p.in.output), gb(mm.workspace).c_str(), gb(mm.total).c_str(),
      gb(mm.usable).c_str(),
      !known(mm.capacity) ? "unknown"
      : mm.fits           ? "fits"
                          : "DOES NOT FIT");
  std::printf(
      "             KV room %s tokens: largest batch at %lld tokens %s, largest context "
      "at batch %lld %s\n",
      val(mm.max_kv_tokens, "%.0f").c_str(), (long long)(p.in.prompt + p.in.output),
      val(mm.max_batch_at_context, "%.0f").c_str(), (long long)p.in.batch,
      val(mm.max_context_at_batch, "%.0f").c_str());
  auto phase = [](const char* name, const PhaseTime& t, const std::string& what) {
    std::printf("  %-10s %s: %s, %s-bound (compute %s, memory %s, comm %s)\n", name, what.c_str(),
                ms(t.time_s).c_str(), t.bound.c_str(), ms(t.compute_s).c_str(),
                ms(t.memory_s).c_str(), ms(t.comm_s).c_str());
  };
  phase("prefill", p.prefill, strprintf("%lld tokens", (long long)p.prefill.tokens));
  phase("decode", p.decode,
        strprintf("batch %lld at context %lld", (long long)p.decode.batch,
                  (long long)p.decode.context));
  const ServingPlan& s = p.serving;
  std::printf(
      "  serving    TTFT %s ms, TPOT %s ms; per chip: decode %s tok/s, prefill %s tok/s, "
      "whole requests %s output tok/s; %s tok/s/W\n",
      val(s.ttft_ms).c_str(), val(s.tpot_ms, "%.2f").c_str(),
      val(s.decode_tokens_per_s_per_chip).c_str(),
      val(s.prefill_tokens_per_s_per_chip, "%.0f").c_str(),
      val(s.output_tokens_per_s_per_chip).c_str(), val(s.tokens_per_s_per_watt, "%.3f").c_str());
  std::printf(
      "  efficiency compute %.2f (attention %.2f, decode %.2f, prefill weight prep %.2f "
      "ns/param), bandwidth %.2f, link %.2f: %s\n",
      p.eff.compute, p.eff.attention_or_default(), p.eff.decode_compute_or_default(),
      p.eff.prefill_weight_ns, p.eff.bandwidth, p.eff.link, p.eff.source.c_str());
  for (const auto& a : p.assumptions) std::printf("  assumes    %s\n", a.c_str());
  for (const auto& x : p.missing) std::printf("  MISSING    %s\n", x.c_str());
}

void print_compare(const std::vector<Plan>& plans) {
  std::printf("%-18s %5s %4s %-9s %10s %9s %9s %12s %12s %9s %-8s %s\n", "chip", "chips", "tp",
              "fits", "weights/dv", "TTFT ms", "TPOT ms", "dec tok/s/c", "out tok/s/c", "tok/s/W",
              "bound", "missing");
  for (const auto& p : plans) {
    std::string miss;
    for (const auto& x : p.missing) miss += (miss.empty() ? "" : "; ") + x.substr(0, x.find(' '));
    std::printf(
        "%-18s %5d %4d %-9s %10s %9s %9s %12s %12s %9s %-8s %s\n", p.chip.id.c_str(), p.chips,
        p.in.tp,
        !known(p.mem.capacity) ? "unknown"
        : p.mem.fits           ? "yes"
                               : "NO",
        gb(p.mem.weights).c_str(), val(p.serving.ttft_ms).c_str(),
        val(p.serving.tpot_ms, "%.2f").c_str(), val(p.serving.decode_tokens_per_s_per_chip).c_str(),
        val(p.serving.output_tokens_per_s_per_chip).c_str(),
        val(p.serving.tokens_per_s_per_watt, "%.3f").c_str(), p.decode.bound.c_str(), miss.c_str());
  }
  if (!plans.empty())
    std::printf(
        "(batch %lld, prompt %lld, output %lld; decode at context prompt + output/2; "
        "weights/dv = per device)\n",
        (long long)plans[0].in.batch, (long long)plans[0].in.prompt, (long long)plans[0].in.output);
}

void print_target(const TargetPlan& t, const Accelerator& chip) {
  std::printf(
      "target: %.2f req/s, prompt %lld, output %lld, TTFT <= %.0f ms, TPOT <= %.1f ms on %s\n",
      t.load.rps, (long long)t.load.prompt, (long long)t.load.output, t.load.ttft_ms,
      t.load.tpot_ms, chip.id.c_str());
  std::printf("  %4s %4s %7s %9s %9s %11s %9s %6s  %s\n", "tp", "pp", "batch", "TTFT ms", "TPOT ms",
              "req/s/repl", "replicas", "chips", "");
  for (const auto& o : t.options)
    std::printf("  %4d %4d %7lld %9s %9s %11s %9d %6d  %s\n", o.tp, o.pp, (long long)o.batch,
                val(o.ttft_ms, "%.0f").c_str(), val(o.tpot_ms, "%.2f").c_str(),
                val(o.replica_rps, "%.3f").c_str(), o.replicas, o.chips,
                o.feasible ? "" : o.why.c_str());
  if (t.best)
    std::printf("  best: %d chips = %d replicas x (tp %d, pp %d), batch %lld per replica\n",
                t.best->chips, t.best->replicas, t.best->tp, t.best->pp, (long long)t.best->batch);
  else
    std::printf("  no layout meets the target\n");
  for (const auto& a : t.assumptions) std::printf("  assumes    %s\n", a.c_str());
  for (const auto& x : t.missing) std::printf("  MISSING    %s\n", x.c_str());
}

void print_calibration(const Calibration& c) {
  std::printf("calibration: predicted vs measured tokens/s (error = (pred - meas) / meas)\n");
  std::printf("  %-34s %-3s %-14s %10s %10s %8s %10s %8s %10s %8s\n", "file", "ph", "bound",
              "measured", "before", "err", "after", "err", "leave-1-out", "err");
  for (const auto& r : c.rows)
    std::printf(
        "  %-34s %-3s %-14s %10.2f %10s %8s %10s %8s %10s %8s\n",
        std::filesystem::path(r.file).filename().string().c_str(), r.phase.c_str(), r.bound.c_str(),
        r.measured_tps, val(r.predicted_before_tps, "%.2f").c_str(),
        val(r.error_before * 100, "%+.0f%%").c_str(), val(r.predicted_after_tps, "%.2f").c_str(),
        val(r.error_after * 100, "%+.0f%%").c_str(), val(r.loo_predicted_tps, "%.2f").c_str(),
        val(r.error_loo * 100, "%+.0f%%").c_str());
  for (const auto& [backend, e] : c.fitted)
    std::printf(
        "  fitted %s: compute %.3f, attention %.3f, prefill weight prep %.3f ns/param, decode "
        "compute %.3f, bandwidth %.3f (%s)\n",
        backend.c_str(), e.compute, e.attention_or_default(), e.prefill_weight_ns,
        e.decode_compute_or_default(), e.bandwidth, e.source.c_str());
  for (const auto& n : c.notes) std::printf("  note: %s\n", n.c_str());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f || !(f << text)) fail("%s: cannot write", path.c_str());
}

void list_chips(const Catalog& cat) {
  std::printf("%-22s %-16s %8s %8s %8s %7s %8s %7s %-19s\n", "id", "vendor", "bf16", "fp8", "int8",
              "mem GB", "BW GB/s", "TDP W", "confidence");
  auto v = [](const std::optional<double>& x) { return x ? strprintf("%g", *x) : "-"; };
  for (const auto& a : cat.chips())
    std::printf("%-22s %-16s %8s %8s %8s %7s %8s %7s %-19s\n", a.id.c_str(),
                a.vendor.substr(0, 16).c_str(), v(a.bf16_tflops).c_str(), v(a.fp8_tflops).c_str(),
                v(a.int8_tops).c_str(), v(a.mem_gb).c_str(), v(a.mem_bw_gbs).c_str(),
                v(a.tdp_w).c_str(), a.confidence_level.c_str());
  std::printf("(%zu chips from %s; '-' = unknown, never guessed; 'host' is this machine)\n",
              cat.chips().size(), cat.path().c_str());
}

int run_plan(const Options& o) {
  Context c = load_context(o);
  if (o.list && o.json) return std::printf("%s\n", catalog_json(c.catalog).dump(1).c_str()), 0;
  if (o.list) return list_chips(c.catalog), 0;
  if (o.list_models && o.json)
    return std::printf("%s\n", models_json(c.presets).dump(1).c_str()), 0;
  if (o.list_models) {
    for (const auto& id : PlanModel::preset_ids(c.presets)) std::printf("%s\n", id.c_str());
    return 0;
  }
  if (o.model.empty() && c.calibrated) {
    if (o.json)
      std::printf("%s\n", to_json(c.cal).dump(1).c_str());
    else
      print_calibration(c.cal);
    return 0;
  }
  if (o.model.empty()) fail("plan: --model is required (a preset, .gguf or config.json)");
  if (c.calibrated && !o.json) print_calibration(c.cal), std::printf("\n");
  const PlanModel m = PlanModel::resolve(o.model, c.presets);
  std::vector<std::string> ids = o.compare.empty() ? std::vector<std::string>{} : split(o.compare);
  if (!o.chip.empty()) ids.insert(ids.begin(), o.chip);
  if (ids.empty()) fail("plan: --chip or --compare is required (`pivot plan --list` shows chips)");
  std::vector<Plan> plans;
  for (const auto& id : ids) plans.push_back(plan_one(c, m, c.catalog.find(id)));
  if (!o.plot.empty())
    write_text(o.plot, compare_svg(plans, strprintf("%s: %s weights, batch %lld, prompt %lld, "
                                                    "output %lld",
                                                    m.id.c_str(), plans[0].in.weight.name.c_str(),
                                                    (long long)o.batch, (long long)o.prompt,
                                                    (long long)o.output)));
  std::optional<TargetPlan> target;
  if (o.target_rps > 0) {
    if (plans.size() != 1) fail("plan: --target-rps plans one --chip at a time");
    TargetLoad load{o.target_rps, o.prompt, o.output, o.ttft_ms, o.tpot_ms};
    target = plan_for_target(m, plans[0].chip, plans[0].eff, inputs_for(c, m), load);
  }
  if (o.json) {
    ojson j = plans.size() == 1 ? to_json(plans[0]) : compare_json(plans);
    if (target) j["target"] = to_json(*target);
    if (c.calibrated) j["calibration"] = to_json(c.cal);
    std::printf("%s\n", j.dump(1).c_str());
  } else if (plans.size() == 1) {
    print_plan(plans[0]);
    if (target) std::printf("\n"), print_target(*target, plans[0].chip);
  } else {
    print_compare(plans);
  }
  if (!o.plot.empty() && !o.json) std::printf("wrote %s\n", o.plot.c_str());
  return 0;
}

int run_train(const Options& o) {
  Context c = load_context(o);
  TrainInputs in;
  if (!o.model.empty()) {
    PlanModel m = PlanModel::resolve(o.model, c.presets);
    in.params = m.total_params();
    in.params_active = m.active_params();
  }
  if (o.params > 0) in.params = o.params;
  if (o.active_params > 0) in.params_active = o.active_params;
  if (in.params <= 0) fail("plan train: --model or --params is required");
  if (o.tokens <= 0) fail("plan train: --tokens is required (e.g. 15e12)");
  in.tokens = o.tokens;
  in.chips = o.chips > 0 ? o.chips : 1;
  if (o.mfu > 0) in.mfu = o.mfu;
  in.precision = dtype_from_name(o.precision).compute;
  in.pue = o.pue;
  std::vector<std::string> ids = o.compare.empty() ? std::vector<std::string>{} : split(o.compare);
  if (!o.chip.empty()) ids.insert(ids.begin(), o.chip);
  if (ids.empty()) fail("plan train: --chip or --compare is required");
  ojson all = ojson::array();
  for (const auto& id : ids) {
    const Accelerator& chip = c.catalog.find(id);
    TrainPlan t = plan_training(chip, efficiency_for(c, chip), in);
    if (o.json) {
      all.push_back(to_json(t));
      continue;
    }
    std::printf(
        "train %.3g params (%.3g active) x %.3g tokens = %.3g FLOPs on %d x %s (%s, MFU %.2f)\n",
        in.params, in.params_active > 0 ? in.params_active : in.params, in.tokens, t.flops,
        in.chips, chip.id.c_str(), compute_class_name(in.precision), t.mfu);
    std::printf("  time %s days (%s chip-hours), energy %s MWh; state %.1f TB needs >= %s chips\n",
                val(t.days, "%.1f").c_str(), val(t.chip_hours, "%.3g").c_str(),
                val(t.energy_mwh, "%.1f").c_str(), t.state_bytes / 1e12,
                val(t.min_chips_for_state, "%.0f").c_str());
    for (const auto& a : t.assumptions) std::printf("  assumes    %s\n", a.c_str());
    for (const auto& x : t.missing) std::printf("  MISSING    %s\n", x.c_str());
  }
  if (o.json) std::printf("%s\n", (all.size() == 1 ? all[0] : all).dump(1).c_str());
  return 0;
}

void add_common(CLI::App* a, Options& o) {
  a->add_option("--model", o.model, "preset id, .gguf file or config.json");
  a->add_option("--chip", o.chip, "catalog id or alias (see --list); 'host' = this machine");
  a->add_option("--compare", o.compare, "comma-separated chips for a side-by-side table");
  a->add_option("--chips", o.chips, "total chips (tp x pp x replicas)")->check(CLI::PositiveNumber);
  a->add_option("--catalog", o.catalog,
                "accelerator catalog JSON (default: data/accelerators.json)");
  a->add_option("--presets", o.presets, "model presets JSON (default: data/model_presets.json)");
  a->add_option("--machine", o.machine, "bench/stream.sh output describing this host");
  a->add_option("--calibrate", o.calibrate, "`pivot bench --json` files to fit efficiencies")
      ->expected(1, -1);
  a->add_flag("--json", o.json, "machine-readable output");
}

}  // namespace

void register_plan(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<Options>();
  Options& o = *opts;
  CLI::App* plan =
      app.add_subcommand("plan", "predict memory, latency, throughput and chips needed");
  add_common(plan, o);
  plan->add_option("--tp", o.tp, "tensor-parallel degree (default: smallest that fits)")
      ->check(CLI::PositiveNumber);
  plan->add_option("--pp", o.pp, "pipeline-parallel degree")->check(CLI::PositiveNumber);
  plan->add_option("--ep", o.ep, "expert-parallel degree (MoE; batch is then per chip)")
      ->check(CLI::PositiveNumber);
  plan->add_option("--batch", o.batch, "concurrent sequences")->check(CLI::PositiveNumber);
  plan->add_option("--prompt", o.prompt, "prompt tokens")->check(CLI::PositiveNumber);
  plan->add_option("--output", o.output, "output tokens")->check(CLI::NonNegativeNumber);
  plan->add_option("--weight", o.weight,
                   "weight type: bf16, fp8, int8, Q4_K, ... (default: model's)");
  plan->add_option("--kv-type", o.kv, "KV cache type (default f16)");
  plan->add_option("--mem-util", o.mem_util, "usable fraction of device memory")
      ->check(CLI::Range(0.05, 1.0));
  plan->add_option("--target-rps", o.target_rps, "requests/s to size the deployment for")
      ->check(CLI::Range(1e-9, 1e12));
  plan->add_option("--ttft-ms", o.ttft_ms, "time-to-first-token limit for --target-rps");
  plan->add_option("--tpot-ms", o.tpot_ms, "time-per-output-token limit for --target-rps");
  plan->add_option("--eff-compute", o.eff_compute, "override the compute efficiency (0-1]")
      ->check(CLI::Range(1e-6, 1.0));
  plan->add_option("--eff-bandwidth", o.eff_bandwidth, "override the bandwidth efficiency (0-1]")
      ->check(CLI::Range(1e-6, 1.0));
  plan->add_option("--plot", o.plot, "write an SVG bar chart comparing the chips");
  plan->add_flag("--list", o.list, "list the catalog");
  plan->add_flag("--list-models", o.list_models, "list model presets");

  CLI::App* train = plan->add_subcommand("train", "days, chip-hours and energy to train N x D");
  add_common(train, o);
  train->add_option("--params", o.params, "total parameters N (instead of --model)");
  train->add_option("--active-params", o.active_params, "parameters touched per token (MoE)");
  train->add_option("--tokens", o.tokens, "training tokens D");
  train->add_option("--mfu", o.mfu, "model FLOPs utilisation (default: chip class)")
      ->check(CLI::Range(1e-6, 1.0));
  train->add_option("--precision", o.precision, "bf16 or fp8");
  train->add_option("--pue", o.pue, "facility power usage effectiveness (>= 1)")
      ->check(CLI::Range(1.0, 10.0));

  train->callback([opts, &exit_code] { exit_code = run_train(*opts); });
  plan->callback([opts, train, &exit_code] {
    if (!train->parsed()) exit_code = run_plan(*opts);
  });
}

}  // namespace pivot::cli
