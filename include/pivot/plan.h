// pivot plan: memory fit, prefill/decode time, serving capacity and training time
// of a model (plan_model.h) on accelerators from the catalog (plan_catalog.h).
//
// Formulas and sources
//   Step time (roofline) = max(FLOPs / (peak · e_compute), bytes / (bandwidth · e_bw))
//       + communication            [Williams, Waterman, Patterson 2009, "Roofline: an
//       insightful visual performance model for multicore architectures", CACM 52(4)]
//   Tensor parallelism: 2 all-reduces of the activations per layer (after attention,
//       after the MLP); weights and KV heads split tp ways
//       [Shoeybi et al. 2019, "Megatron-LM", arXiv 1909.08053, §3]
//   Ring all-reduce of S bytes over p ranks = 2(p−1)/p · S / (link · e_link)
//       + 2(p−1) · α             [Patarasuk & Yuan 2009, "Bandwidth optimal all-reduce
//       algorithms for clusters of workstations", JPDC 69(2); NCCL docs,
//       nccl-tests PERFORMANCE.md: busbw = algbw · 2(n−1)/n]
//   Expert parallelism (--ep, MoE only): DeepSeek's serving layout, attention
//       data-parallel (every chip holds the non-expert weights and its own batch),
//       routed experts split ep ways; 2 all-to-alls (dispatch, combine) per MoE layer
//       of batch·k·n_embd activations over the per-peer link, not overlapped
//       [DeepSeek-AI 2024, DeepSeek-V3 arXiv 2412.19437 §3.4; Huawei CloudMatrix384
//       arXiv 2506.12708 §4]
//   Pipeline parallelism: layers split pp ways; a step crosses pp−1 point-to-point
//       hops of the activations (latency view: no micro-batch overlap in TPOT)
//   KV cache and FLOPs/bytes per token: plan_model.h
//   Serving: TTFT = prefill time of one prompt; TPOT = decode step at the batch with
//       mean context prompt + output/2; a replica serves
//       1 / (t_prefill + output · TPOT / batch) requests/s, run at `utilisation` (0.8
//       default, headroom for queueing) [continuous batching as in Yu et al. 2022,
//       "Orca", OSDI; chunked prefill as in Agrawal et al. 2024, "Sarathi-Serve", OSDI]
//   Training FLOPs = 6 · N · D, N = non-embedding parameters touched per token (the MoE
//       active form for MoE) [Kaplan et al. 2020, arXiv 2001.08361, §2.1; DeepSeek-V3
//       tech report arXiv 2412.19437 counts activated parameters the same way]
//   Training state = 16 bytes/parameter (bf16 weights and grads, fp32 master, Adam m, v)
//       [Rajbhandari et al. 2020, "ZeRO", SC20, §3]
//   Memory: usable = capacity (GiB) · mem_util (0.9 default, vLLM's
//       gpu_memory_utilization); workspace = activations of one prefill chunk in f32
//       plus logits (a stated heuristic)
//
// Unknown catalog inputs are never filled in: each result lists in `missing` the null
// fields it needed, and the numbers that depend on them are NaN (null in JSON).
//
// Calibration input: the JSON that `pivot bench --json` writes (one object per file):
//   {"backend": "cpu",                       // pivot backend name
//    "model": "PATH.gguf" | "preset-id",     // what ran
//    "weight_type": "Q4_1",                  // optional; default: the file's own
//    "threads": 2,
//    "pp": {"n_tokens": 512, "tokens_per_s": 150.2},   // prompt processing, batch 1
//    "tg": {"n_tokens": 128, "tokens_per_s": 40.1,     // generation, batch 1,
//           "n_ctx_start": 0},                          //   from this context (default 0)
//    "machine": {"chip": "catalog id"?, "cpu_model": "...", "n_cpus": 2,
//                "cpu_mhz": 2445, "avx2": true, "fma": true, "avx512f": false,
//                "mem_total_bytes": ..., "mem_bw_gbs": 7.1}}  // bench/stream.sh output
// `machine.chip` selects a catalog row; without it a cpu backend is planned as the
// host row built from `machine` (host_accelerator).
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pivot/plan_catalog.h"
#include "pivot/plan_model.h"

namespace pivot::plan {

inline bool known(double x) {
  return !std::isnan(x);
}
inline constexpr double kUnknown = NAN;

struct PlanInputs {
  int tp = 1, pp = 1;  // chips = tp · pp · ep · replicas
  int ep = 1;          // expert parallel (MoE; tp = pp = 1); batch is per chip
  int replicas = 1;
  int64_t batch = 1, prompt = 1024, output = 256;
  DType weight, kv;
  double mem_util = 0.9;
  int64_t prefill_chunk = 2048;  // tokens per prefill step, sizes the workspace
  double utilisation = 0.8;      // target-load sizing headroom
};

struct MemoryPlan {  // bytes, per device
  double capacity = kUnknown, usable = kUnknown;
  double weights = 0, kv_per_token = 0, kv_per_sequence = 0, kv_at_batch = 0, workspace = 0;
  double total = 0;
  bool fits = false;
  double max_kv_tokens = kUnknown;         // KV positions that fit beside weights + workspace
  double max_batch_at_context = kUnknown;  // sequences of prompt + output tokens
  double max_context_at_batch = kUnknown;  // tokens per sequence at the batch
};

struct PhaseTime {
  int64_t batch = 1, tokens = 0, context = 0;
  double flops = 0, bytes = 0;  // per device
  double compute_s = kUnknown, memory_s = kUnknown, comm_s = kUnknown, time_s = kUnknown;
  std::string bound;  // "compute" | "memory" | "communication" | "unknown"
};

struct ServingPlan {
  double ttft_ms = kUnknown, tpot_ms = kUnknown;
  double decode_tokens_per_s_per_chip = kUnknown;  // batch / TPOT / chips
  double prefill_tokens_per_s_per_chip = kUnknown;
  double output_tokens_per_s_per_chip = kUnknown;  // whole requests: prefill + decode
  double tokens_per_s_per_watt = kUnknown;         // output tokens, at TDP
};

struct Plan {
  PlanModel model;
  Accelerator chip;
  Efficiency eff;
  PlanInputs in;
  int chips = 1;
  MemoryPlan mem;
  PhaseTime prefill, decode;
  ServingPlan serving;
  std::vector<std::string> assumptions, missing;
};

Plan make_plan(const PlanModel& model, const Accelerator& chip, const Efficiency& eff,
               const PlanInputs& in);

struct TargetLoad {
  double rps = 1;
  int64_t prompt = 1024, output = 256;
  double ttft_ms = 2000, tpot_ms = 50;
};

struct LayoutOption {
  int tp = 1, pp = 1, replicas = 0, chips = 0;
  int64_t batch = 0;  // largest batch meeting TPOT and memory
  double ttft_ms = kUnknown, tpot_ms = kUnknown, replica_rps = kUnknown;
  bool feasible = false;
  std::string why;  // when infeasible
};

struct TargetPlan {
  TargetLoad load;
  std::vector<LayoutOption> options;  // every layout tried
  std::optional<LayoutOption> best;   // fewest chips, then lowest TPOT
  std::vector<std::string> assumptions, missing;
};

// Tries tp in 1, 2, 4, ... up to the chip's scale-up domain and pp in 1, 2, 4, 8.
TargetPlan plan_for_target(const PlanModel& model, const Accelerator& chip, const Efficiency& eff,
                           const PlanInputs& base, const TargetLoad& load);

struct TrainInputs {
  double params = 0, params_active = 0;  // N (total, and touched per token)
  double tokens = 0;                     // D
  int chips = 1;
  std::optional<double> mfu;  // default: the chip's efficiency class
  ComputeClass precision = ComputeClass::kBf16;
  double pue = 1.0;  // facility overhead multiplier on chip power
};

struct TrainPlan {
  TrainInputs in;
  Accelerator chip;
  double flops = 0, mfu = 0, peak_tflops = kUnknown;
  double seconds = kUnknown, days = kUnknown, chip_hours = kUnknown, energy_mwh = kUnknown;
  double state_bytes = 0, min_chips_for_state = kUnknown;
  std::vector<std::string> assumptions, missing;
};

TrainPlan plan_training(const Accelerator& chip, const Efficiency& eff, const TrainInputs& in);

}  // namespace pivot::plan
