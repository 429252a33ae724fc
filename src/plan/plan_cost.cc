// FLOPs and bytes of one prefill or decode step. Formulas and their sources:
// include/pivot/plan_model.h.
#include <algorithm>

#include "pivot/plan_model.h"

namespace pivot::plan {
namespace {

constexpr double kActBytes = 2;    // activations exchanged between TP ranks (bf16)
constexpr double kLogitBytes = 4;  // f32 logits written per sequence

// Attention FLOPs of one token attending to `context` positions (all layers).
double attn_flops_per_token(const PlanModel& m, double context, bool absorbed_mla) {
  if (m.is_mla()) {
    const double qk = absorbed_mla ? double(m.kv_lora_rank + m.qk_rope_head_dim)
                                   : double(m.qk_nope_head_dim + m.qk_rope_head_dim);
    const double v = absorbed_mla ? double(m.kv_lora_rank) : double(m.v_head_dim);
    return 2.0 * m.n_layer * m.n_head * (qk + v) * context;
  }
  return 4.0 * m.n_layer * m.n_head * m.head_dim * context;
}

// Bytes per parameter of the body (everything but the embedding table and the LM
// head): exact per tensor for a GGUF file's own type, else the type's size.
double body_bytes_per_param(const PlanModel& m, const DType& w) {
  double body = m.total_params() - m.embd_params() - (m.tied_embeddings ? 0 : m.lm_head_params());
  return body > 0 ? m.body_bytes(w) / body : w.bytes_per_elem;
}

double routed_read(const PlanModel& m, const DType& w, double tokens) {
  return double(m.n_moe_layers()) * experts_touched(m, tokens) * m.expert_params() *
         body_bytes_per_param(m, w);
}

// Weights read by one step over `tokens` tokens: the LM head in full, the body
// except routed experts in full, the routed experts touched, and one embedding
// row per token (when the table is not the LM head, which is read anyway).
double weights_read(const PlanModel& m, const DType& w, double tokens) {
  const double routed_all =
      double(m.n_moe_layers()) * m.n_expert * m.expert_params() * body_bytes_per_param(m, w);
  double bytes = m.lm_head_bytes(w) + m.body_bytes(w) - routed_all;
  if (!m.tied_embeddings) bytes += tokens * m.embd_bytes(w) / double(m.n_vocab);
  return bytes + routed_read(m, w, tokens);
}

}  // namespace

StepCost prefill_cost(const PlanModel& m, const DType& w, const DType& kv, int64_t n_prompt,
                      int64_t n_seq) {
  const double p = double(std::max<int64_t>(n_prompt, 1)), s = double(std::max<int64_t>(n_seq, 1));
  const double tokens = p * s;
  StepCost c;
  // Causal attention: token i attends to i positions, sum = P(P+1)/2 per sequence.
  c.attn_flops = s * attn_flops_per_token(m, (p + 1) / 2, false) * p;
  c.flops =
      tokens * 2.0 * m.active_matmul_params_body() + s * 2.0 * m.lm_head_params() + c.attn_flops;
  c.weight_bytes = weights_read(m, w, tokens);
  c.routed_weight_bytes = routed_read(m, w, tokens);
  c.prep_params =
      m.active_matmul_params_body() +
      double(m.n_moe_layers()) * (experts_touched(m, tokens) - m.n_expert_used) * m.expert_params();
  c.n_all_to_all = int(2 * m.n_moe_layers());
  c.kv_bytes = 2.0 * tokens * m.kv_bytes_per_token(kv);  // written, then read once by attention
  c.act_bytes = s * m.n_vocab * kLogitBytes;
  c.comm_bytes_per_allreduce = tokens * m.n_embd * kActBytes;
  c.n_allreduce = int(2 * m.n_layer);
  return c;
}

StepCost decode_cost(const PlanModel& m, const DType& w, const DType& kv, int64_t batch,
                     int64_t context) {
  const double b = double(std::max<int64_t>(batch, 1)), l = double(std::max<int64_t>(context, 0));
  StepCost c;
  c.attn_flops = b * attn_flops_per_token(m, l + 1, true);
  c.flops = b * 2.0 * m.active_params() + c.attn_flops;
  c.weight_bytes = weights_read(m, w, b);
  c.routed_weight_bytes = routed_read(m, w, b);
  c.n_all_to_all = int(2 * m.n_moe_layers());
  c.kv_bytes = b * (l + 1) * m.kv_bytes_per_token(kv);
  c.act_bytes = b * m.n_vocab * kLogitBytes;
  c.comm_bytes_per_allreduce = b * m.n_embd * kActBytes;
  c.n_allreduce = int(2 * m.n_layer);
  return c;
}

}  // namespace pivot::plan
