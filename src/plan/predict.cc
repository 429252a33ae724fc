// Memory plan, roofline step times, serving figures, target-load sizing and
// training time. Formulas and their sources: include/pivot/plan.h.
#include <algorithm>
#include <cmath>

#include "pivot/error.h"
#include "pivot/plan.h"

namespace pivot::plan {
namespace {

constexpr double kGiB = 1073741824.0;
constexpr double kTrainStateBytesPerParam = 16;  // ZeRO §3: 2 + 2 + 4 + 4 + 4

void note(std::vector<std::string>& list, const std::string& s) {
  if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
}

// The dense peak a matmul of class `c` runs at, with stated fallbacks.
double resolve_peak(const Accelerator& chip, ComputeClass c, std::vector<std::string>& assumptions,
                    std::vector<std::string>& missing) {
  if (auto p = chip.peak_tflops(c)) return *p;
  auto fallback = [&](ComputeClass f, const char* why) -> std::optional<double> {
    auto p = chip.peak_tflops(f);
    if (p)
      note(assumptions,
           strprintf("%s_tflops unknown on %s: %s at the %s rate", compute_class_name(c),
                     chip.id.c_str(), why, compute_class_name(f)));
    return p;
  };
  std::optional<double> p;
  if (c == ComputeClass::kFp8 || c == ComputeClass::kInt8)
    p = fallback(ComputeClass::kBf16, "weights upcast, matmuls");
  if (!p && c != ComputeClass::kFp16) p = fallback(ComputeClass::kFp16, "matmuls");
  if (!p && c != ComputeClass::kBf16) p = fallback(ComputeClass::kBf16, "matmuls");
  if (!p && chip.kind == "cpu") p = fallback(ComputeClass::kFp32, "CPU matmuls (FMA)");
  if (p) return *p;
  note(missing,
       strprintf("%s_tflops (compute peak of %s)", compute_class_name(c), chip.id.c_str()));
  return kUnknown;
}

double resolve_link(const Accelerator& chip, std::vector<std::string>& assumptions,
                    std::vector<std::string>& missing) {
  if (chip.link_per_peer_gbs) return *chip.link_per_peer_gbs;
  if (chip.link_gbs) {
    note(assumptions, strprintf("link_per_peer_gbs unknown on %s: half the aggregate %g GB/s",
                                chip.id.c_str(), *chip.link_gbs));
    return *chip.link_gbs / 2;
  }
  note(missing,
       strprintf("link_per_peer_gbs (interconnect of %s, needed for tp/pp > 1)", chip.id.c_str()));
  return kUnknown;
}

// Share of the KV cache one tensor-parallel rank holds.
double kv_fraction(const PlanModel& m, int tp, std::vector<std::string>& assumptions) {
  if (tp <= 1) return 1;
  if (m.is_mla()) {
    note(assumptions, "MLA latent cache is replicated on every TP rank (as vLLM and SGLang do)");
    return 1;
  }
  int64_t per_rank = (m.n_head_kv + tp - 1) / tp;
  if (tp > m.n_head_kv)
    note(assumptions, strprintf("tp %d > %lld KV heads: KV heads replicated across ranks", tp,
                                static_cast<long long>(m.n_head_kv)));
  return double(per_rank) / double(m.n_head_kv);
}

// Routed-expert bytes one chip reads under expert parallelism: its n_expert/ep
// experts per layer, each touched unless no token of the ep·tokens routes to it.
double ep_local_routed_bytes(const PlanModel& m, const DType& w, int ep, double tokens) {
  const double e = double(m.n_expert), k = double(m.n_expert_used);
  const double touched = (e / ep) * (1.0 - std::pow(1.0 - k / e, tokens * ep));
  return double(m.n_moe_layers()) * touched * m.expert_params() * m.weight_bytes(w) /
         m.total_params();
}

// `decode`: the step is a decode step (its FLOPs run at eff.decode_compute);
// otherwise matmul FLOPs run at eff.compute and attention FLOPs at eff.attention.
PhaseTime phase_time(StepCost c, const Plan& p, double peak, double link, double kv_frac,
                     double tokens, bool decode) {
  const int tp = p.in.tp, pp = p.in.pp, ep = p.in.ep;
  if (ep > 1)
    c.weight_bytes +=
        ep_local_routed_bytes(p.model, p.in.weight, ep, tokens) - c.routed_weight_bytes;
  PhaseTime t;
  // Latency view: a step runs every stage in turn, so its time is the work of one
  // tensor-parallel rank summed over the pp stages.
  t.flops = c.flops / tp;
  t.bytes = c.weight_bytes / tp + c.kv_bytes * kv_frac + c.act_bytes / tp;
  if (known(peak)) {
    const double e_mm = decode ? p.eff.decode_compute_or_default() : p.eff.compute;
    const double e_attn = decode ? e_mm : p.eff.attention_or_default();
    const double attn = c.attn_flops / tp;
    t.compute_s = (t.flops - attn) / (peak * 1e12 * e_mm) + attn / (peak * 1e12 * e_attn);
    if (!decode) t.compute_s += c.prep_params / tp * p.eff.prefill_weight_ns * 1e-9;
  }
  if (p.chip.mem_bw_gbs) t.memory_s = t.bytes / (*p.chip.mem_bw_gbs * 1e9 * p.eff.bandwidth);
  t.comm_s = 0;
  const double alpha = p.eff.link_latency_us * 1e-6;
  if (tp > 1 || pp > 1 || ep > 1) {
    if (!known(link)) {
      t.comm_s = kUnknown;
    } else {
      const double bw = link * 1e9 * p.eff.link;
      const double s = c.comm_bytes_per_allreduce;
      if (tp > 1)
        t.comm_s += c.n_allreduce * (2.0 * (tp - 1) / tp * s / bw + 2.0 * (tp - 1) * alpha);
      if (pp > 1) t.comm_s += (pp - 1) * (s / bw + alpha);
      if (ep > 1)  // dispatch + combine: each token's activations to its k experts
        t.comm_s += c.n_all_to_all *
                    (tokens * double(p.model.n_expert_used) * p.model.n_embd * 2 / bw + alpha);
    }
  }
  if (known(t.compute_s) && known(t.memory_s) && known(t.comm_s)) {
    t.time_s = std::max(t.compute_s, t.memory_s) + t.comm_s;
    double top = std::max({t.compute_s, t.memory_s, t.comm_s});
    t.bound = top == t.comm_s ? "communication" : top == t.compute_s ? "compute" : "memory";
  } else {
    t.bound = "unknown";
  }
  return t;
}

}  // namespace

Plan make_plan(const PlanModel& model, const Accelerator& chip, const Efficiency& eff,
               const PlanInputs& in) {
  if (in.tp < 1 || in.pp < 1 || in.ep < 1 || in.replicas < 1 || in.batch < 1 || in.prompt < 1 ||
      in.output < 0)
    fail("plan: tp, pp, ep, replicas, batch and prompt must be >= 1 and output >= 0");
  if (in.ep > 1 && (!model.is_moe() || in.tp > 1 || in.pp > 1 || in.ep > model.n_expert))
    fail("plan: --ep needs a MoE model, tp = pp = 1 and ep <= %lld experts",
         static_cast<long long>(model.n_expert));
  if (in.pp > model.n_layer)
    fail("plan: pp %d exceeds the model's %lld layers", in.pp,
         static_cast<long long>(model.n_layer));
  Plan p;
  p.model = model;
  p.chip = chip;
  p.eff = eff;
  p.in = in;
  p.chips = in.tp * in.pp * in.ep * in.replicas;
  const int shard = in.tp * in.pp;  // chips one sequence's weights are split over
  const double kv_frac = kv_fraction(model, in.tp, p.assumptions);
  // Tensor parallelism splits attention by heads and the FFN by columns; engines
  // (vLLM, SGLang) refuse splits that do not divide the heads. Planned anyway as an
  // even 1/tp share, with the warning.
  if (in.tp > 1 && model.n_head % in.tp != 0)
    note(p.assumptions, strprintf("WARNING tp %d does not divide the %lld attention heads: "
                                  "engines refuse this split; planned as an even 1/%d share",
                                  in.tp, static_cast<long long>(model.n_head), in.tp));
  if (in.ep > 1 && model.n_expert % in.ep != 0)
    note(p.assumptions, strprintf("WARNING ep %d does not divide the %lld routed experts: "
                                  "planned as an even 1/%d share",
                                  in.ep, static_cast<long long>(model.n_expert), in.ep));
  const double routed_all = double(model.n_moe_layers()) * model.n_expert * model.expert_params() *
                            model.weight_bytes(in.weight) / model.total_params();

  // Memory, per device.
  MemoryPlan& m = p.mem;
  const int64_t ctx = in.prompt + in.output;
  m.weights = model.weight_bytes(in.weight) / shard;
  if (in.ep > 1) {
    m.weights = model.weight_bytes(in.weight) - routed_all + routed_all / in.ep;
    note(p.assumptions,
         strprintf("ep %d: attention data-parallel (batch %lld per chip), %.1f "
                   "routed experts per chip per layer, no redundant experts, "
                   "all-to-all not overlapped with compute",
                   in.ep, static_cast<long long>(in.batch), double(model.n_expert) / in.ep));
  }
  m.kv_per_token = model.kv_bytes_per_token(in.kv) * kv_frac / in.pp;
  m.kv_per_sequence = m.kv_per_token * double(ctx);
  m.kv_at_batch = m.kv_per_sequence * double(in.batch);
  const double chunk = double(std::min<int64_t>(in.prefill_chunk, std::max(in.prompt, in.batch)));
  const double ff = double(
      std::max(model.n_ff, model.n_ff_expert * (model.n_expert_used + model.n_expert_shared)));
  const double qkv = double(model.n_head + 2 * model.n_head_kv) * double(model.head_dim);
  m.workspace = chunk * (2.0 * model.n_embd + (qkv + 2 * ff) / in.tp) * 4 +
                double(in.batch) * model.n_vocab * 4 / in.tp;
  m.total = m.weights + m.kv_at_batch + m.workspace;
  if (chip.mem_gb) {
    m.capacity = *chip.mem_gb * kGiB;
    m.usable = m.capacity * in.mem_util;
    m.fits = m.total <= m.usable;
    const double free = m.usable - m.weights - m.workspace;
    m.max_kv_tokens = std::max(0.0, std::floor(free / m.kv_per_token));
    m.max_batch_at_context = std::floor(m.max_kv_tokens / double(ctx));
    m.max_context_at_batch = std::floor(m.max_kv_tokens / double(in.batch));
  } else {
    note(p.missing, strprintf("mem_gb (memory capacity of %s)", chip.id.c_str()));
  }
  if (!chip.mem_bw_gbs)
    note(p.missing, strprintf("mem_bw_gbs (memory bandwidth of %s)", chip.id.c_str()));

  // Time.
  const double peak = resolve_peak(chip, in.weight.compute, p.assumptions, p.missing);
  double link = kUnknown;
  if (shard > 1 || in.ep > 1) link = resolve_link(chip, p.assumptions, p.missing);
  if (shard > 1 && chip.scale_up_devices && in.tp > *chip.scale_up_devices)
    note(p.assumptions, strprintf("tp %d exceeds the %d-chip scale-up domain of %s: the link "
                                  "figure is optimistic",
                                  in.tp, *chip.scale_up_devices, chip.id.c_str()));
  p.prefill = phase_time(prefill_cost(model, in.weight, in.kv, in.prompt, 1), p, peak, link,
                         kv_frac, double(in.prompt), false);
  p.prefill.tokens = in.prompt;
  p.prefill.context = in.prompt;
  const int64_t mean_ctx = in.prompt + in.output / 2;
  p.decode = phase_time(decode_cost(model, in.weight, in.kv, in.batch, mean_ctx), p, peak, link,
                        kv_frac, double(in.batch), true);
  p.decode.batch = in.batch;
  p.decode.tokens = in.batch;
  p.decode.context = mean_ctx;

  // Serving at this batch.
  ServingPlan& s = p.serving;
  if (known(p.prefill.time_s)) {
    s.ttft_ms = p.prefill.time_s * 1e3;
    s.prefill_tokens_per_s_per_chip = double(in.prompt) / p.prefill.time_s / shard;
  }
  if (known(p.decode.time_s)) {
    s.tpot_ms = p.decode.time_s * 1e3;
    s.decode_tokens_per_s_per_chip = double(in.batch) / p.decode.time_s / shard;
    if (chip.tdp_w)
      s.tokens_per_s_per_watt = s.decode_tokens_per_s_per_chip / *chip.tdp_w;
    else
      note(p.missing, strprintf("tdp_w (power of %s, for tokens/s per W)", chip.id.c_str()));
  }
  if (known(s.ttft_ms) && known(s.tpot_ms)) {
    const double cycle = double(in.batch) * p.prefill.time_s + double(in.output) * p.decode.time_s;
    s.output_tokens_per_s_per_chip = double(in.batch) * double(in.output) / cycle / shard;
  }
  if (chip.tdp_w) note(p.assumptions, "power = TDP (an upper bound on draw)");
  return p;
}

TargetPlan plan_for_target(const PlanModel& model, const Accelerator& chip, const Efficiency& eff,
                           const PlanInputs& base, const TargetLoad& load) {
  if (!(load.rps > 0) || !(load.ttft_ms > 0) || !(load.tpot_ms > 0) || load.prompt < 1 ||
      load.output < 1 || !std::isfinite(load.rps) || !std::isfinite(load.ttft_ms) ||
      !std::isfinite(load.tpot_ms))
    fail("target: requests/s, TTFT and TPOT limits, prompt and output must be positive and finite");
  TargetPlan t;
  t.load = load;
  int max_tp = 8;
  if (chip.scale_up_devices)
    max_tp = std::min(*chip.scale_up_devices, 64);
  else
    note(t.assumptions, strprintf("scale-up domain of %s unknown: tp up to 8", chip.id.c_str()));
  for (int pp = 1; pp <= 8; pp *= 2) {
    for (int tp = 1; tp <= max_tp; tp *= 2) {
      if (tp > model.n_head || pp > model.n_layer) continue;
      LayoutOption o;
      o.tp = tp;
      o.pp = pp;
      PlanInputs in = base;
      in.tp = tp;
      in.pp = pp;
      in.replicas = 1;
      in.prompt = load.prompt;
      in.output = load.output;
      in.batch = 1;
      Plan one = make_plan(model, chip, eff, in);
      for (const auto& a : one.assumptions) note(t.assumptions, a);
      if (!one.missing.empty()) {
        for (const auto& mi : one.missing)
          if (mi.rfind("tdp_w", 0) != 0) note(t.missing, mi);
        if (!known(one.serving.tpot_ms) || !known(one.mem.capacity)) {
          o.why = "missing inputs";
          t.options.push_back(o);
          continue;
        }
      }
      o.ttft_ms = one.serving.ttft_ms;
      if (!one.mem.fits) {
        o.why = "weights + KV of one sequence exceed memory";
      } else if (one.serving.ttft_ms > load.ttft_ms) {
        o.why = strprintf("TTFT %.0f ms > %.0f ms", one.serving.ttft_ms, load.ttft_ms);
      } else if (one.serving.tpot_ms > load.tpot_ms) {
        o.why = strprintf("TPOT %.1f ms at batch 1 > %.1f ms", one.serving.tpot_ms, load.tpot_ms);
      } else {
        // Largest batch with TPOT within the limit and its KV in memory.
        int64_t lo = 1, hi = std::max<int64_t>(1, int64_t(one.mem.max_batch_at_context));
        hi = std::min<int64_t>(hi, 65536);
        Plan best_plan = one;
        while (lo < hi) {
          int64_t mid = lo + (hi - lo + 1) / 2;
          in.batch = mid;
          Plan pm = make_plan(model, chip, eff, in);
          if (pm.serving.tpot_ms <= load.tpot_ms && pm.mem.fits) {
            lo = mid;
            best_plan = pm;
          } else {
            hi = mid - 1;
          }
        }
        o.batch = lo;
        o.tpot_ms = best_plan.serving.tpot_ms;
        const double per_request =
            best_plan.prefill.time_s + double(load.output) * best_plan.decode.time_s / double(lo);
        o.replica_rps = base.utilisation / per_request;
        const double replicas = std::ceil(load.rps / o.replica_rps);
        constexpr double kMaxChips = 1e7;  // beyond any deployment; keeps counts in int range
        if (!(replicas * tp * pp <= kMaxChips)) {
          o.why = strprintf("needs more than %.0f chips", kMaxChips);
        } else {
          o.replicas = int(replicas);
          o.chips = o.replicas * tp * pp;
          o.feasible = true;
        }
      }
      t.options.push_back(o);
      if (o.feasible && (!t.best || o.chips < t.best->chips ||
                         (o.chips == t.best->chips && o.tpot_ms < t.best->tpot_ms)))
        t.best = o;
    }
  }
  note(t.assumptions,
       strprintf("replicas run at %.0f%% of their capacity (queueing headroom); TTFT excludes "
                 "queueing",
                 base.utilisation * 100));
  return t;
}

TrainPlan plan_training(const Accelerator& chip, const Efficiency& eff, const TrainInputs& in) {
  if (in.params <= 0 || in.tokens <= 0 || in.chips < 1)
    fail("train: parameters, tokens and chips must be positive");
  TrainPlan t;
  t.in = in;
  t.chip = chip;
  const double n = in.params_active > 0 ? in.params_active : in.params;
  t.flops = 6.0 * n * in.tokens;
  t.mfu = in.mfu.value_or(eff.train_mfu);
  if (!in.mfu)
    note(t.assumptions, strprintf("MFU %.2f: default of the '%s' class (%s)", t.mfu,
                                  chip.efficiency_class.c_str(), eff.source.c_str()));
  t.peak_tflops = resolve_peak(chip, in.precision, t.assumptions, t.missing);
  if (known(t.peak_tflops)) {
    t.seconds = t.flops / (double(in.chips) * t.peak_tflops * 1e12 * t.mfu);
    t.days = t.seconds / 86400;
    t.chip_hours = t.seconds * in.chips / 3600;
    if (chip.tdp_w) {
      t.energy_mwh = double(in.chips) * *chip.tdp_w * t.seconds * in.pue / 3.6e9;
      note(t.assumptions, strprintf("energy = chips x TDP x time x PUE %.2f", in.pue));
    } else {
      note(t.missing, strprintf("tdp_w (power of %s, for energy)", chip.id.c_str()));
    }
  }
  t.state_bytes = kTrainStateBytesPerParam * in.params;
  if (chip.mem_gb)
    t.min_chips_for_state = std::ceil(t.state_bytes / (*chip.mem_gb * kGiB * 0.9));
  else
    note(t.missing, strprintf("mem_gb (memory of %s, for the state fit)", chip.id.c_str()));
  note(t.assumptions, "min chips for state: ZeRO-3 sharding of 16 B/param, activations excluded");
  return t;
}

}  // namespace pivot::plan
