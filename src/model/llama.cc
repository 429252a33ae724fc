// The `llama` architecture: Llama 2/3, Mistral, TinyLlama, SmolLM2 and other
// GGUF files with general.architecture = "llama"; also the shared forward pass of
// the variants in llama.h (Qwen2, Qwen3).
//
//   x = embed(tokens)
//   per layer:  h = rms_norm(x)·attn_norm
//               q, k, v = h·Wqᵀ (+bq), h·Wkᵀ (+bk), h·Wvᵀ (+bv)   (k, v: into KV blocks)
//               q, k = rms_norm(q)·q_norm, rms_norm(k)·k_norm   (per head; qk_norm only)
//               q, k = rope(q), rope(k)   (kNorm: GGUF stores Wq/Wk permuted; kNeox: not)
//               x += attention(q, K, V)·Woᵀ        (causal, grouped-query, paged:
//                                                   each token reads its own sequence)
//               h = rms_norm(x)·ffn_norm
//               x += (silu(h·Wgateᵀ) * h·Wupᵀ)·Wdownᵀ
//   logits = (rms_norm(x)·output_norm)·Woutᵀ       (Wout = token_embd when tied)
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "batch.h"
#include "llama.h"
#include "ops.h"
#include "pivot/error.h"
#include "pivot/model.h"
#include "weights.h"

namespace pivot {
namespace {

constexpr int64_t kLogitRows = 16;  // output rows per output matmul (bounds the logits buffer)

struct Layer {
  Tensor attn_norm, wq, wk, wv, wo, bq, bk, bv, q_norm, k_norm;
  Tensor ffn_norm, w_gate, w_up, w_down;
};

class Llama final : public Model {
 public:
  Llama(const GgufFile& file, Backend& backend, const ModelOptions& opts, const LlamaVariant& v)
      : spec_(ModelSpec::from_gguf(file)), be_(backend), n_batch_(opts.n_batch), variant_(v) {
    spec_.rope_mode = v.rope_mode;
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
    for (int64_t i = 0; i < s.n_layer; ++i) {
      const std::string p = "blk." + std::to_string(i) + ".";
      Layer l;
      l.attn_norm = w.get(p + "attn_norm.weight", {s.n_embd});
      l.wq = w.get(p + "attn_q.weight", {s.n_embd, q_dim});
      l.wk = w.get(p + "attn_k.weight", {s.n_embd, kv_dim});
      l.wv = w.get(p + "attn_v.weight", {s.n_embd, kv_dim});
      l.wo = w.get(p + "attn_output.weight", {q_dim, s.n_embd});
      l.bq = w.get_optional(p + "attn_q.bias", {q_dim});  // Qwen2-style biases
      l.bk = w.get_optional(p + "attn_k.bias", {kv_dim});
      l.bv = w.get_optional(p + "attn_v.bias", {kv_dim});
      if (variant_.qk_norm) {
        l.q_norm = w.get(p + "attn_q_norm.weight", {s.head_dim});
        l.k_norm = w.get(p + "attn_k_norm.weight", {s.head_dim});
      }
      l.ffn_norm = w.get(p + "ffn_norm.weight", {s.n_embd});
      l.w_gate = w.get(p + "ffn_gate.weight", {s.n_embd, s.n_ff});
      l.w_up = w.get(p + "ffn_up.weight", {s.n_embd, s.n_ff});
      l.w_down = w.get(p + "ffn_down.weight", {s.n_ff, s.n_embd});
      for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) w.prepare(*t);
      layers_.push_back(l);
    }
    // Llama-3 scaling: the file's rope_freqs.weight if present, else computed.
    freq_factors_ = w.get_optional("rope_freqs.weight", {s.n_rot / 2});
    weight_buffers_ = w.take_buffers();
    if (!freq_factors_.data && s.rope_scaling == RopeScaling::kLlama3) {
      std::vector<float> f(static_cast<size_t>(s.n_rot / 2));
      llama3_freq_factors(s, f.data());
      freq_buffer_ = be_.allocate(f.size() * sizeof(float), MemKind::kWeight);
      be_.copy(freq_buffer_.data(), f.data(), f.size() * sizeof(float), CopyKind::kHostToDevice);
      freq_factors_ = make_tensor(freq_buffer_.data(), GgmlType::F32, s.n_rot / 2);
    }
    rope_.mode = s.rope_mode;
    rope_.n_rot = s.n_rot;
    rope_.freq_base = s.rope_freq_base;
    rope_.freq_scale = s.rope_scaling == RopeScaling::kLinear ? 1.0f / s.rope_scaling_factor : 1.0f;
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
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));

    get_rows(be_, x, tok_embd_, ids);
    for (int64_t il = 0; il < s.n_layer; ++il) {
      const Layer& l = layers_[static_cast<size_t>(il)];
      rms_norm(be_, h, x, l.attn_norm, s.rms_eps);
      matmul(be_, q, l.wq, h);
      matmul(be_, k, l.wk, h);
      matmul(be_, v, l.wv, h);
      if (l.bq.data) add(be_, q, q, l.bq);
      if (l.bk.data) add(be_, k, k, l.bk);
      if (l.bv.data) add(be_, v, v, l.bv);
      if (variant_.qk_norm) {
        const Tensor qh = view(q, s.head_dim, s.n_head * m),
                     kh = view(k, s.head_dim, s.n_head_kv * m);
        rms_norm(be_, qh, qh, l.q_norm, s.rms_eps);
        rms_norm(be_, kh, kh, l.k_norm, s.rms_eps);
      }
      rope(be_, view(q, s.head_dim, s.n_head, m), pos, freq_factors_, rope_);
      rope(be_, view(k, s.head_dim, s.n_head_kv, m), pos, freq_factors_, rope_);
      in_.store_kv(kv, il, k, v);
      paged_attention(be_, view(attn, s.head_dim, s.n_head, m), view(q, s.head_dim, s.n_head, m),
                      kv.k(il), kv.v(il), in_.table(), scale);
      matmul(be_, tmp, l.wo, attn);
      add(be_, x, x, tmp);
      rms_norm(be_, h, x, l.ffn_norm, s.rms_eps);
      matmul(be_, gate, l.w_gate, h);
      matmul(be_, up, l.w_up, h);
      silu_mul(be_, gate, gate, up);
      matmul(be_, tmp, l.w_down, gate);
      add(be_, x, x, tmp);
    }
  }

  // Logits of the given rows of x_ into host memory `out`, kLogitRows at a time
  // (rows gathered into tmp_ so one output matmul serves a whole group).
  void output(const std::vector<int64_t>& want, float* out) {
    using namespace ops;
    const int64_t n = static_cast<int64_t>(want.size());
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
      be_.copy(out + r * spec_.n_vocab, lg.data, lg.n_bytes(), CopyKind::kDeviceToHost);
      be_.synchronize();  // lg is reused by the next group
    }
  }

  ModelSpec spec_;
  Backend& be_;
  int64_t n_batch_;
  LlamaVariant variant_;
  Tensor tok_embd_, output_norm_, output_, freq_factors_;
  std::vector<Layer> layers_;
  std::vector<Buffer> weight_buffers_;
  Buffer freq_buffer_;
  RopeParams rope_;
  Arena arena_;
  size_t x_ = 0, h_ = 0, tmp_ = 0, q_ = 0, attn_ = 0, gate_ = 0, up_ = 0, ids_ = 0, pos_ = 0,
         k_new_ = 0, v_new_ = 0, logits_ = 0;
  BatchInputs in_{be_, n_batch_, spec_.n_vocab};
};

std::unique_ptr<Model> make_llama(const GgufFile& file, Backend& backend,
                                  const ModelOptions& opts) {
  return make_llama_family(file, backend, opts, LlamaVariant{});
}

}  // namespace

std::unique_ptr<Model> make_llama_family(const GgufFile& file, Backend& backend,
                                         const ModelOptions& opts, const LlamaVariant& variant) {
  return std::make_unique<Llama>(file, backend, opts, variant);
}

PIVOT_REGISTER_ARCH(llama, &make_llama);

}  // namespace pivot
