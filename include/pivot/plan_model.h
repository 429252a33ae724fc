// The model side of the planner: shapes, parameter counts, and FLOPs and bytes per
// token for prefill and decode.
//
// A PlanModel comes from a GGUF file (hyper-parameters under "<arch>.*", vocab
// from tokenizer.ggml.tokens, exact weight bytes from the tensor table), a
// Hugging Face config.json, or a preset in data/model_presets.json (which stores
// each model's published config.json fields, with the URL).
//
// Formulas (every count is per sequence; "N" = matmul parameters touched):
//   forward FLOPs per token = 2·N + attention, N excluding the embedding lookup
//       [Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Table 1]
//   attention FLOPs per token at context L = 4·n_layer·n_head·head_dim·L
//       (QKᵀ and AV, 2 FLOPs per multiply-add) [same, C_forward's 2·n_layer·n_ctx·d_attn ×2]
//   MLA (DeepSeek-V2/V3) decode uses the absorbed form: per head QK over
//       kv_lora_rank + qk_rope_head_dim and AV over kv_lora_rank
//       [DeepSeek-AI 2024, "DeepSeek-V2", arXiv 2405.04434, §2.1.2-2.1.3]
//   KV cache bytes per token = 2·n_layer·n_head_kv·head_dim·bytes(kv type)
//       (K and V for every layer) [Pope et al. 2022, "Efficiently Scaling
//       Transformer Inference", §2; vLLM/llama.cpp allocate exactly this]
//   MLA KV cache bytes per token = n_layer·(kv_lora_rank + qk_rope_head_dim)·bytes
//       (one compressed latent plus the decoupled RoPE key) [DeepSeek-V2 §2.1.2]
//   MoE: active parameters count n_expert_used routed + shared experts per layer;
//       at decode batch B the routed experts touched per layer are
//       n_expert·(1 − (1 − k/n_expert)^B) (uniform routing, an assumption)
//   weight bytes of a GGUF block type = n_elements / block_size · type_size
//       (include/pivot/ggml_type.h)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pivot/plan_catalog.h"

namespace pivot {
class GgufFile;
}

namespace pivot::plan {

// A storage type for weights or KV cache.
struct DType {
  std::string name;                            // "bf16", "fp8", "int8", "Q4_K", ...
  double bytes_per_elem = 2;                   // Q4_K: 144 B / 256 elements = 0.5625
  ComputeClass compute = ComputeClass::kBf16;  // the peak its matmuls run at
};
// bf16, f16/fp16, fp8, int8, f32/fp32, or any GGUF type name (Q4_K, q8_0, ...:
// dequantised to fp16 for the matmul). Throws pivot::Error listing the known names.
DType dtype_from_name(std::string_view name);

struct PlanModel {
  std::string id;      // preset id, or the file name
  std::string name;    // human name
  std::string source;  // "preset <url>", "config.json PATH", "gguf PATH"
  std::string arch;    // model_type / general.architecture

  int64_t n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  int64_t n_vocab = 0, n_ctx_train = 0;
  bool tied_embeddings = false;
  bool qkv_bias = false;
  bool qk_norm = false;  // Qwen3: RMSNorm on q and k per head

  // Mixture of experts (0 = dense).
  int64_t n_expert = 0, n_expert_used = 0, n_expert_shared = 0, n_ff_expert = 0;
  int64_t n_layer_dense_lead = 0;  // first layers with a dense FFN (first_k_dense_replace)
  // Multi-head latent attention (0 = ordinary GQA).
  int64_t q_lora_rank = 0, kv_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0,
          v_head_dim = 0;

  // From a GGUF file: the exact bytes of all tensors, of token_embd.weight and of
  // output.weight (absent when tied), the type that holds the most bytes, and the
  // file type's name (general.file_type: "Q4_K_M"). With these the planner prices
  // each part at its own bytes (Gemma 3 270M Q4_K_M: a Q8_0 embedding/LM head of
  // 178 MB beside a 75 MB Q4_K/Q6_K body), not every weight at one type's bytes.
  std::optional<uint64_t> file_weight_bytes, file_embd_bytes, file_output_bytes;
  std::string file_weight_type, file_type;
  std::optional<double> published_params, published_params_active;  // presets
  std::string native_dtype = "bf16";  // torch_dtype of a config; the file's type for GGUF

  // The default weight type: a GGUF file's own bytes ("gguf:Q4_K_M", exact per
  // tensor), else native_dtype.
  DType default_weight_type() const;
  // True when `w` is default_weight_type() of a GGUF-derived model (exact bytes).
  bool is_file_type(const DType& w) const;
  // `--weight NAME`: the file's own exact bytes when NAME is empty or the file's
  // type name (Q4_K_M for a Q4_K_M file, any case), else dtype_from_name(NAME).
  DType weight_type(std::string_view name) const;

  // The model's planner inputs as JSON (the fields above; `pivot bench --json`
  // stores it as "plan_model" so calibration files are self-contained), and back.
  // from_json errors name `label` and the field.
  std::string to_json() const;
  static PlanModel from_json(std::string_view text, const std::string& label);

  static PlanModel from_gguf(const GgufFile& file);
  static PlanModel from_gguf_path(const std::string& path);
  // `label` names the file in errors ("config.json: field 'hidden_size': ...").
  static PlanModel from_hf_config(std::string_view json_text, const std::string& label);
  static PlanModel from_preset(std::string_view id, const std::string& presets_path);
  static std::vector<std::string> preset_ids(const std::string& presets_path);
  // A preset id, a .gguf path, or a config.json path (or a directory holding one).
  static PlanModel resolve(const std::string& spec, const std::string& presets_path);

  // Throws pivot::Error naming `label` unless the shape is plannable (positive
  // sizes, heads a multiple of KV heads, MoE fields consistent).
  void validate(const std::string& label) const;

  bool is_moe() const { return n_expert > 0; }
  bool is_mla() const { return kv_lora_rank > 0; }
  int64_t n_moe_layers() const { return is_moe() ? n_layer - n_layer_dense_lead : 0; }

  // Parameter counts (elements).
  double embd_params() const;            // token embedding table
  double lm_head_params() const;         // output matrix (the table again when tied)
  double attn_params_per_layer() const;  // incl. norms and biases
  double expert_params() const;          // one routed expert's FFN
  double dense_ffn_params() const;       // one dense FFN layer
  double total_params() const;           // stored parameters (tied counted once)
  double active_params() const;          // touched per token: dense + k routed + shared
  // Matmul parameters touched per token excluding embedding lookup and LM head.
  double active_matmul_params_body() const;

  // KV cache bytes for one token (all layers) at storage type kv.
  double kv_bytes_per_token(const DType& kv) const;
  // Weight bytes at type w (the file's exact bytes when w is the file's own type):
  // all weights, the embedding table, the LM head (the table again when tied), and
  // everything else (the body: attention, FFN, norms, routers, experts).
  double weight_bytes(const DType& w) const;
  double embd_bytes(const DType& w) const;
  double lm_head_bytes(const DType& w) const;
  double body_bytes(const DType& w) const;
};

// Work of one forward step, summed over all sequences of the step.
struct StepCost {
  double flops = 0;                     // total floating-point (or integer) operations
  double attn_flops = 0;                // part of flops in attention (QKᵀ and PV)
  double weight_bytes = 0;              // weights read
  double kv_bytes = 0;                  // KV cache read + written
  double act_bytes = 0;                 // activations that cross memory (small)
  double comm_bytes_per_allreduce = 0;  // one TP all-reduce payload
  int n_allreduce = 0;                  // all-reduces per step (2 per layer under TP)
  int n_all_to_all = 0;                 // per step under expert parallelism (2 per MoE layer)
  double routed_weight_bytes = 0;       // part of weight_bytes that is routed experts
  double prep_params = 0;  // body weight parameters the step's GEMMs read (prefill only)
  double bytes() const { return weight_bytes + kv_bytes + act_bytes; }
};

// Prefill of `n_seq` prompts of `n_prompt` tokens each (causal attention, logits for
// the last token only, as llama.cpp and vLLM compute them).
StepCost prefill_cost(const PlanModel& m, const DType& w, const DType& kv, int64_t n_prompt,
                      int64_t n_seq = 1);
// One decode step of `batch` sequences, each attending to `context` cached tokens.
StepCost decode_cost(const PlanModel& m, const DType& w, const DType& kv, int64_t batch,
                     int64_t context);

// Expected distinct routed experts touched per MoE layer by `tokens` tokens.
double experts_touched(const PlanModel& m, double tokens);

}  // namespace pivot::plan
