// The `gemma3` architecture (Gemma 3 text models: 270M, 1B, and the text part of
// 4B/12B/27B), GGUF files with general.architecture = "gemma3".
//
//   x = embed(tokens) · sqrt(n_embd)
//   per layer:  h = rms_norm(x)·attn_norm
//               q, k, v = h·Wqᵀ, h·Wkᵀ, h·Wvᵀ          (k, v written straight into the cache)
//               q, k = rms_norm(q)·q_norm, rms_norm(k)·k_norm   (per head)
//               q, k = rope_neox(q), rope_neox(k)       (local or global base, see below)
//               x += rms_norm(attention(q, K, V)·Woᵀ)·post_attention_norm
//               h = rms_norm(x)·ffn_norm
//               x += rms_norm((gelu(h·Wgateᵀ) * h·Wupᵀ)·Wdownᵀ)·post_ffw_norm
//   logits = (rms_norm(x)·output_norm)·token_embdᵀ     (tied; soft-capped if the file says so)
//
// Facts (checked against transformers' Gemma3 and the GGUF converter):
// - every norm weight in the GGUF is already (1 + w) (convert_hf_to_gguf.py adds
//   1; transformers subtracts it again when it loads a GGUF), so rms_norm · w is
//   exactly Gemma's x̂ · (1 + w);
// - layers alternate: five sliding-window ("local") layers, then one global
//   layer (transformers' layer_types / sliding_window_pattern = 6, llama.cpp's
//   swa pattern 6), unless <arch>.attention.sliding_window_pattern says
//   otherwise. Local layers see the last <arch>.attention.sliding_window keys
//   and rotate with base rope.freq_base_swa (default 10000, transformers'
//   rope_local_base_freq) and no scaling; global layers see every key and use
//   rope.freq_base (1e6) with the file's rope scaling (linear 8 on 4B+);
// - attention scale 1/sqrt(query_pre_attn_scalar), which GGUF does not store:
//   head_dim for every size but the 27B (62 layers), where it is n_embd / n_head
//   (as llama.cpp derives it);
// - no attention or final-logit soft-capping in Gemma 3 (Gemma 2 had them); a
//   final cap given in the file is applied, an attention cap is refused.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "batch.h"
#include "ops.h"
#include "pivot/error.h"
#include "pivot/model.h"
#include "weights.h"

namespace pivot {
namespace {

constexpr int64_t kLogitRows = 8;        // output rows per output matmul (bounds the logits buffer)
constexpr int64_t kSwaPattern = 6;       // every 6th layer is global
constexpr float kLocalRopeBase = 10000;  // rope_local_base_freq
constexpr int64_t kLayers27B = 62;       // the one size whose query scale is not 1/sqrt(head_dim)

struct Layer {
  Tensor attn_norm, wq, wk, wv, wo, q_norm, k_norm, post_attn_norm;
  Tensor ffn_norm, w_gate, w_up, w_down, post_ffw_norm;
  RopeParams rope;     // local or global
  int32_t window = 0;  // 0: global
};

class Gemma3 final : public Model {
 public:
  Gemma3(const GgufFile& file, Backend& backend, const ModelOptions& opts)
      : spec_(ModelSpec::from_gguf(file)), be_(backend), n_batch_(opts.n_batch) {
    spec_.rope_mode = RopeMode::kNeox;
    if (spec_.n_swa > 0 && spec_.swa_layers.empty()) spec_.set_swa_pattern(kSwaPattern);
    if (spec_.rope_freq_base_swa <= 0) spec_.rope_freq_base_swa = kLocalRopeBase;
    if (spec_.attn_logit_softcap > 0)
      fail("%s: gemma3.attn_logit_softcapping %g is not supported", file.path().c_str(),
           spec_.attn_logit_softcap);
    if (spec_.rope_scaling == RopeScaling::kLlama3)
      fail("%s: gemma3 with llama3 rope scaling is not supported", file.path().c_str());
    load_weights(file);
    plan_activations();
  }

  const ModelSpec& spec() const override { return spec_; }

  int64_t max_batch() const override { return n_batch_; }

  void forward_batch(std::span<const SeqChunk> batch, PagedKvCache& kv, float* logits) override {
    const int64_t m = in_.prepare(batch, kv, arena_[ids_].data, arena_[pos_].data);
    step(kv, m);
    output(in_.logit_rows(), logits);
    in_.advance();
    be_.synchronize();
  }

 private:
  void load_weights(const GgufFile& file) {
    const ModelSpec& s = spec_;
    WeightLoader w(file, be_);
    const int64_t q_dim = s.n_head * s.head_dim, kv_dim = s.n_head_kv * s.head_dim;
    tok_embd_ = w.get("token_embd.weight", {s.n_embd, s.n_vocab});
    output_norm_ = w.get("output_norm.weight", {s.n_embd});
    output_ = s.tied_output ? tok_embd_ : w.get("output.weight", {s.n_embd, s.n_vocab});
    w.prepare(output_);
    RopeParams global;
    global.mode = s.rope_mode;
    global.n_rot = s.n_rot;
    global.freq_base = s.rope_freq_base;
    global.freq_scale = s.rope_scaling == RopeScaling::kLinear ? 1.0f / s.rope_scaling_factor : 1;
    RopeParams local = global;
    local.freq_base = s.rope_freq_base_swa;
    local.freq_scale = 1;
    for (int64_t i = 0; i < s.n_layer; ++i) {
      const std::string p = "blk." + std::to_string(i) + ".";
      Layer l;
      l.attn_norm = w.get(p + "attn_norm.weight", {s.n_embd});
      l.wq = w.get(p + "attn_q.weight", {s.n_embd, q_dim});
      l.wk = w.get(p + "attn_k.weight", {s.n_embd, kv_dim});
      l.wv = w.get(p + "attn_v.weight", {s.n_embd, kv_dim});
      l.wo = w.get(p + "attn_output.weight", {q_dim, s.n_embd});
      l.q_norm = w.get(p + "attn_q_norm.weight", {s.head_dim});
      l.k_norm = w.get(p + "attn_k_norm.weight", {s.head_dim});
      l.post_attn_norm = w.get(p + "post_attention_norm.weight", {s.n_embd});
      l.ffn_norm = w.get(p + "ffn_norm.weight", {s.n_embd});
      l.w_gate = w.get(p + "ffn_gate.weight", {s.n_embd, s.n_ff});
      l.w_up = w.get(p + "ffn_up.weight", {s.n_embd, s.n_ff});
      l.w_down = w.get(p + "ffn_down.weight", {s.n_ff, s.n_embd});
      l.post_ffw_norm = w.get(p + "post_ffw_norm.weight", {s.n_embd});
      for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) w.prepare(*t);
      const bool swa = s.is_swa(i);
      l.rope = swa ? local : global;
      l.window = swa ? static_cast<int32_t>(s.n_swa) : 0;
      layers_.push_back(l);
    }
    weight_buffers_ = w.take_buffers();
    const int64_t scalar = s.n_layer == kLayers27B ? s.n_embd / s.n_head : s.head_dim;
    attn_scale_ = 1.0f / std::sqrt(static_cast<float>(scalar));
    embd_scale_ = std::sqrt(static_cast<float>(s.n_embd));
  }

  void plan_activations() {
    const ModelSpec& s = spec_;
    const int64_t B = n_batch_;
    x_ = arena_.add(GgmlType::F32, s.n_embd, B);
    h_ = arena_.add(GgmlType::F32, s.n_embd, B);
    tmp_ = arena_.add(GgmlType::F32, s.n_embd, B);
    q_ = arena_.add(GgmlType::F32, s.head_dim * s.n_head, B);
    attn_ = arena_.add(GgmlType::F32, s.head_dim * s.n_head, B);
    gate_ = arena_.add(GgmlType::F32, s.n_ff, B);
    up_ = arena_.add(GgmlType::F32, s.n_ff, B);
    ids_ = arena_.add(GgmlType::I32, B);
    pos_ = arena_.add(GgmlType::I32, B);
    k_new_ = arena_.add(GgmlType::F32, s.head_dim * s.n_head_kv, B);
    v_new_ = arena_.add(GgmlType::F32, s.head_dim * s.n_head_kv, B);
    logits_ = arena_.add(GgmlType::F32, s.n_vocab, kLogitRows);
    arena_.allocate(be_);
  }

  // Runs the batch's m tokens (uploaded by in_.prepare) through every layer,
  // writing each chunk's K/V into its sequence's blocks; leaves the residual
  // stream in x_.
  void step(PagedKvCache& kv, int64_t m) {
    using namespace ops;
    const ModelSpec& s = spec_;
    const Tensor ids = make_tensor(arena_[ids_].data, GgmlType::I32, m);
    const Tensor pos = make_tensor(arena_[pos_].data, GgmlType::I32, m);
    const Tensor k = rows(arena_[k_new_], 0, m), v = rows(arena_[v_new_], 0, m);

    const Tensor x = rows(arena_[x_], 0, m), h = rows(arena_[h_], 0, m),
                 tmp = rows(arena_[tmp_], 0, m);
    const Tensor q = rows(arena_[q_], 0, m), attn = rows(arena_[attn_], 0, m);
    const Tensor gate = rows(arena_[gate_], 0, m), up = rows(arena_[up_], 0, m);
    const int64_t H = s.n_head, Hkv = s.n_head_kv, D = s.head_dim;

    get_rows(be_, x, tok_embd_, ids);
    scale(be_, x, x, embd_scale_);
    for (int64_t il = 0; il < s.n_layer; ++il) {
      const Layer& l = layers_[static_cast<size_t>(il)];
      rms_norm(be_, h, x, l.attn_norm, s.rms_eps);
      matmul(be_, q, l.wq, h);
      matmul(be_, k, l.wk, h);
      matmul(be_, v, l.wv, h);
      rms_norm(be_, view(q, D, H * m), view(q, D, H * m), l.q_norm, s.rms_eps);
      rms_norm(be_, view(k, D, Hkv * m), view(k, D, Hkv * m), l.k_norm, s.rms_eps);
      rope(be_, view(q, D, H, m), pos, Tensor{}, l.rope);
      rope(be_, view(k, D, Hkv, m), pos, Tensor{}, l.rope);
      in_.store_kv(kv, il, k, v);
      paged_attention(be_, view(attn, D, H, m), view(q, D, H, m), kv.k(il), kv.v(il), in_.table(),
                      attn_scale_, l.window);
      matmul(be_, tmp, l.wo, attn);
      rms_norm(be_, tmp, tmp, l.post_attn_norm, s.rms_eps);
      add(be_, x, x, tmp);
      rms_norm(be_, h, x, l.ffn_norm, s.rms_eps);
      matmul(be_, gate, l.w_gate, h);
      matmul(be_, up, l.w_up, h);
      gelu_mul(be_, gate, gate, up);
      matmul(be_, tmp, l.w_down, gate);
      rms_norm(be_, tmp, tmp, l.post_ffw_norm, s.rms_eps);
      add(be_, x, x, tmp);
    }
  }

  // Logits of the given rows of x_ into host memory `out`, kLogitRows at a time
  // (rows gathered into tmp_ so one output matmul serves a whole group).
  void output(const std::vector<int64_t>& want, float* out) {
    using namespace ops;
    const int64_t V = spec_.n_vocab, n = static_cast<int64_t>(want.size());
    const size_t row_bytes = arena_[x_].row_bytes();
    for (int64_t r = 0; r < n; r += kLogitRows) {
      const int64_t c = std::min(kLogitRows, n - r);
      const Tensor g = rows(arena_[tmp_], 0, c), h = rows(arena_[h_], 0, c),
                   lg = rows(arena_[logits_], 0, c);
      for (int64_t i = 0; i < c; ++i)
        be_.copy(static_cast<uint8_t*>(g.data) + i * row_bytes,
                 static_cast<const uint8_t*>(arena_[x_].data) + want[r + i] * row_bytes, row_bytes,
                 CopyKind::kDeviceToDevice);
      rms_norm(be_, h, g, output_norm_, spec_.rms_eps);
      matmul(be_, lg, output_, h);
      be_.copy(out + r * V, lg.data, lg.n_bytes(), CopyKind::kDeviceToHost);
      be_.synchronize();  // lg is reused by the next group
    }
    if (const float cap = spec_.final_logit_softcap; cap > 0)
      for (int64_t i = 0; i < n * V; ++i) out[i] = cap * std::tanh(out[i] / cap);
  }

  ModelSpec spec_;
  Backend& be_;
  int64_t n_batch_;
  Tensor tok_embd_, output_norm_, output_;
  std::vector<Layer> layers_;
  std::vector<Buffer> weight_buffers_;
  float attn_scale_ = 1, embd_scale_ = 1;
  Arena arena_;
  size_t x_ = 0, h_ = 0, tmp_ = 0, q_ = 0, attn_ = 0, gate_ = 0, up_ = 0, ids_ = 0, pos_ = 0,
         k_new_ = 0, v_new_ = 0, logits_ = 0;
  BatchInputs in_{be_, n_batch_, spec_.n_vocab};
};

std::unique_ptr<Model> make_gemma3(const GgufFile& file, Backend& backend,
                                   const ModelOptions& opts) {
  return std::make_unique<Gemma3>(file, backend, opts);
}

}  // namespace

PIVOT_REGISTER_ARCH(gemma3, &make_gemma3);

}  // namespace pivot
