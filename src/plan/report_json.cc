// JSON forms of planner results (include/pivot/plan_report.h).
#include "pivot/plan_report.h"

namespace pivot::plan {
namespace {

ojson num(double x) {
  return known(x) ? ojson(x) : ojson(nullptr);
}

ojson opt(const std::optional<double>& x) {
  return x ? ojson(*x) : ojson(nullptr);
}

ojson phase_json(const PhaseTime& t) {
  return {{"batch", t.batch},
          {"tokens", t.tokens},
          {"context", t.context},
          {"flops", t.flops},
          {"bytes", t.bytes},
          {"compute_s", num(t.compute_s)},
          {"memory_s", num(t.memory_s)},
          {"comm_s", num(t.comm_s)},
          {"time_s", num(t.time_s)},
          {"bound", t.bound}};
}

}  // namespace

ojson formula_sources() {
  return {
      {"roofline", "Williams, Waterman, Patterson 2009, CACM 52(4)"},
      {"flops_per_token", "Kaplan et al. 2020, arXiv 2001.08361, Table 1 (2N + attention)"},
      {"kv_cache", "Pope et al. 2022, arXiv 2211.05102, section 2 (2 n_layer n_kv head_dim bytes)"},
      {"mla_kv_cache",
       "DeepSeek-V2, arXiv 2405.04434, section 2.1 ((kv_lora_rank + rope) per layer)"},
      {"tensor_parallel", "Shoeybi et al. 2019, Megatron-LM, arXiv 1909.08053, section 3"},
      {"ring_allreduce", "Patarasuk & Yuan 2009, JPDC 69(2); NCCL nccl-tests PERFORMANCE.md"},
      {"training_flops", "Kaplan et al. 2020, 6ND; DeepSeek-V3 arXiv 2412.19437 (activated N)"},
      {"training_state", "Rajbhandari et al. 2020, ZeRO, 16 bytes/parameter"},
  };
}

ojson to_json(const Plan& p) {
  const PlanModel& m = p.model;
  ojson model = {{"id", m.id},
                 {"name", m.name},
                 {"source", m.source},
                 {"arch", m.arch},
                 {"params", m.total_params()},
                 {"params_active", m.active_params()},
                 {"n_layer", m.n_layer},
                 {"n_embd", m.n_embd},
                 {"n_head", m.n_head},
                 {"n_head_kv", m.n_head_kv},
                 {"head_dim", m.head_dim},
                 {"n_vocab", m.n_vocab},
                 {"moe", m.is_moe()},
                 {"mla", m.is_mla()},
                 {"weight_type", p.in.weight.name},
                 {"weight_bytes", m.weight_bytes(p.in.weight)},
                 {"kv_type", p.in.kv.name},
                 {"kv_bytes_per_token", m.kv_bytes_per_token(p.in.kv)},
                 {"spec", ojson::parse(m.to_json())}};
  const Accelerator& c = p.chip;
  ojson chip = {{"id", c.id},
                {"name", c.name},
                {"vendor", c.vendor},
                {"peak_tflops", opt(c.peak_tflops(p.in.weight.compute))},
                {"mem_gb", opt(c.mem_gb)},
                {"mem_bw_gbs", opt(c.mem_bw_gbs)},
                {"link_per_peer_gbs", opt(c.link_per_peer_gbs)},
                {"tdp_w", opt(c.tdp_w)},
                {"confidence_level", c.confidence_level},
                {"confidence", c.confidence},
                {"sources", c.sources}};
  const MemoryPlan& mm = p.mem;
  ojson mem = {{"capacity_bytes", num(mm.capacity)},
               {"usable_bytes", num(mm.usable)},
               {"weights_bytes", mm.weights},
               {"kv_bytes_per_token", mm.kv_per_token},
               {"kv_bytes_per_sequence", mm.kv_per_sequence},
               {"kv_bytes_at_batch", mm.kv_at_batch},
               {"workspace_bytes", mm.workspace},
               {"total_bytes", mm.total},
               {"fits", known(mm.capacity) ? ojson(mm.fits) : ojson(nullptr)},
               {"max_kv_tokens", num(mm.max_kv_tokens)},
               {"max_batch_at_context", num(mm.max_batch_at_context)},
               {"max_context_at_batch", num(mm.max_context_at_batch)}};
  const ServingPlan& s = p.serving;
  ojson serving = {{"batch", p.in.batch},
                   {"prompt_tokens", p.in.prompt},
                   {"output_tokens", p.in.output},
                   {"ttft_ms", num(s.ttft_ms)},
                   {"tpot_ms", num(s.tpot_ms)},
                   {"decode_tokens_per_s_per_chip", num(s.decode_tokens_per_s_per_chip)},
                   {"prefill_tokens_per_s_per_chip", num(s.prefill_tokens_per_s_per_chip)},
                   {"output_tokens_per_s_per_chip", num(s.output_tokens_per_s_per_chip)},
                   {"tokens_per_s_per_watt", num(s.tokens_per_s_per_watt)}};
  return {{"schema", "pivot.plan.v1"},
          {"model", model},
          {"chip", chip},
          {"layout",
           {{"chips", p.chips},
            {"tp", p.in.tp},
            {"pp", p.in.pp},
            {"ep", p.in.ep},
            {"replicas", p.in.replicas}}},
          {"efficiency",
           {{"compute", p.eff.compute},
            {"attention", p.eff.attention_or_default()},
            {"decode_compute", p.eff.decode_compute_or_default()},
            {"prefill_weight_ns", p.eff.prefill_weight_ns},
            {"bandwidth", p.eff.bandwidth},
            {"link", p.eff.link},
            {"link_latency_us", p.eff.link_latency_us},
            {"source", p.eff.source}}},
          {"memory", mem},
          {"prefill", phase_json(p.prefill)},
          {"decode", phase_json(p.decode)},
          {"serving", serving},
          {"assumptions", p.assumptions},
          {"missing", p.missing},
          {"formulas", formula_sources()}};
}

ojson catalog_json(const Catalog& cat) {
  ojson chips = ojson::array();
  for (const Accelerator& a : cat.chips())
    chips.push_back(
        {{"id", a.id},
         {"aliases", a.aliases},
         {"vendor", a.vendor},
         {"name", a.name},
         {"kind", a.kind},
         {"backend", a.backend},
         {"bf16_tflops", opt(a.bf16_tflops)},
         {"fp16_tflops", opt(a.fp16_tflops)},
         {"fp8_tflops", opt(a.fp8_tflops)},
         {"int8_tops", opt(a.int8_tops)},
         {"fp32_tflops", opt(a.fp32_tflops)},
         {"mem_gb", opt(a.mem_gb)},
         {"mem_bw_gbs", opt(a.mem_bw_gbs)},
         {"link_gbs", opt(a.link_gbs)},
         {"link_per_peer_gbs", opt(a.link_per_peer_gbs)},
         {"scale_up_devices", a.scale_up_devices ? ojson(*a.scale_up_devices) : ojson(nullptr)},
         {"tdp_w", opt(a.tdp_w)},
         {"software", a.software},
         {"confidence_level", a.confidence_level},
         {"confidence", a.confidence},
         {"sources", a.sources}});
  return {{"schema", "pivot.plan.catalog.v1"}, {"catalog", cat.path()}, {"chips", chips}};
}

ojson models_json(const std::string& presets_path) {
  ojson models = ojson::array();
  for (const std::string& id : PlanModel::preset_ids(presets_path)) {
    const PlanModel m = PlanModel::resolve(id, presets_path);
    models.push_back({{"id", id},
                      {"name", m.name},
                      {"arch", m.arch},
                      {"params", m.total_params()},
                      {"params_active", m.active_params()},
                      {"native_dtype", m.native_dtype},
                      {"spec", ojson::parse(m.to_json())}});
  }
  return {{"schema", "pivot.plan.models.v1"}, {"presets", presets_path}, {"models", models}};
}

ojson compare_json(const std::vector<Plan>& plans) {
  ojson rows = ojson::array();
  for (const auto& p : plans) rows.push_back(to_json(p));
  return {{"schema", "pivot.plan.compare.v1"}, {"rows", rows}};
}

ojson to_json(const TargetPlan& t) {
  ojson opts = ojson::array();
  auto one = [](const LayoutOption& o) {
    return ojson{{"tp", o.tp},
                 {"pp", o.pp},
                 {"feasible", o.feasible},
                 {"batch", o.batch},
                 {"ttft_ms", num(o.ttft_ms)},
                 {"tpot_ms", num(o.tpot_ms)},
                 {"replica_rps", num(o.replica_rps)},
                 {"replicas", o.replicas},
                 {"chips", o.chips},
                 {"why_not", o.why}};
  };
  for (const auto& o : t.options) opts.push_back(one(o));
  return {{"schema", "pivot.plan.target.v1"},
          {"load",
           {{"rps", t.load.rps},
            {"prompt_tokens", t.load.prompt},
            {"output_tokens", t.load.output},
            {"ttft_ms", t.load.ttft_ms},
            {"tpot_ms", t.load.tpot_ms}}},
          {"best", t.best ? one(*t.best) : ojson(nullptr)},
          {"options", opts},
          {"assumptions", t.assumptions},
          {"missing", t.missing}};
}

ojson to_json(const TrainPlan& t) {
  return {{"schema", "pivot.plan.train.v1"},
          {"chip", t.chip.id},
          {"chips", t.in.chips},
          {"params", t.in.params},
          {"params_active", t.in.params_active > 0 ? t.in.params_active : t.in.params},
          {"tokens", t.in.tokens},
          {"precision", compute_class_name(t.in.precision)},
          {"flops", t.flops},
          {"peak_tflops_per_chip", num(t.peak_tflops)},
          {"mfu", t.mfu},
          {"days", num(t.days)},
          {"chip_hours", num(t.chip_hours)},
          {"energy_mwh", num(t.energy_mwh)},
          {"pue", t.in.pue},
          {"state_bytes", t.state_bytes},
          {"min_chips_for_state", num(t.min_chips_for_state)},
          {"assumptions", t.assumptions},
          {"missing", t.missing},
          {"formulas", formula_sources()}};
}

ojson to_json(const Calibration& c) {
  ojson fitted = ojson::object();
  for (const auto& [backend, e] : c.fitted)
    fitted[backend] = {{"compute", e.compute},
                       {"attention", e.attention_or_default()},
                       {"decode_compute", e.decode_compute_or_default()},
                       {"prefill_weight_ns", e.prefill_weight_ns},
                       {"bandwidth", e.bandwidth},
                       {"source", e.source}};
  ojson rows = ojson::array();
  for (const auto& r : c.rows)
    rows.push_back({{"file", r.file},
                    {"group", r.group},
                    {"phase", r.phase},
                    {"chip", r.chip},
                    {"model", r.model},
                    {"bound", r.bound},
                    {"measured_tokens_per_s", r.measured_tps},
                    {"predicted_before_tokens_per_s", num(r.predicted_before_tps)},
                    {"predicted_after_tokens_per_s", num(r.predicted_after_tps)},
                    {"predicted_leave_one_out_tokens_per_s", num(r.loo_predicted_tps)},
                    {"error_before", num(r.error_before)},
                    {"error_after", num(r.error_after)},
                    {"error_leave_one_out", num(r.error_loo)}});
  return {{"schema", "pivot.plan.calibration.v1"},
          {"fitted", fitted},
          {"rows", rows},
          {"notes", c.notes}};
}

}  // namespace pivot::plan
