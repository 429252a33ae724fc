// The conformance suite: every op of every registered backend against `reference`
// on random inputs of several shapes (odd sizes included) and every weight type.
// Written once, parameterised over (backend, case); a backend that says kNo for a
// case skips it, with the reason in the output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "available.h"
#include "pivot/backend.h"
#include "pivot/quant.h"

namespace pivot {
namespace {

struct Case {
  std::string name;
  OpKind op;
  GgmlType wtype = GgmlType::F32;  // weight type for matmul / get_rows
  int64_t a = 1, b = 1, c = 1;     // op-specific sizes, see make_op()
  int64_t d = 1, e = 1;
  RopeMode mode = RopeMode::kNorm;
  bool flag = false;   // rope: freq_factors; add: broadcast
  int32_t window = 0;  // attention: sliding window (0: full causal)
  double tol = 2e-5;   // relative L2 error allowed
  // matmul on cpu with activations = kQ8 (the decode path's 8-bit activations); the
  // oracle is reference on the activations rounded as src/backend/cpu/kernels.h
  // documents (q8_round). Every other case runs with activations = kF32.
  bool q8 = false;
};

// Each 32 activations -> q * d with d = amax / 127, q = nearbyint(x * 127 / amax)
// (the Q8 format of src/backend/cpu/kernels.h), written out independently here.
std::vector<uint8_t> q8_round(const std::vector<uint8_t>& bytes) {
  std::vector<float> x(bytes.size() / 4);
  std::memcpy(x.data(), bytes.data(), bytes.size());
  for (size_t b = 0; b + 32 <= x.size(); b += 32) {
    float amax = 0;
    for (size_t l = 0; l < 32; ++l) amax = std::max(amax, std::fabs(x[b + l]));
    for (size_t l = 0; l < 32; ++l)
      x[b + l] = amax > 0 ? std::nearbyint(x[b + l] * (127.0f / amax)) * (amax / 127.0f) : 0.0f;
  }
  std::vector<uint8_t> out(bytes.size());
  std::memcpy(out.data(), x.data(), bytes.size());
  return out;
}

// Host copy of an op's tensors: inputs filled once, shared by both backends.
struct HostOp {
  OpDesc op;                                // data pointers into `bytes`
  std::vector<std::vector<uint8_t>> bytes;  // [dst, src0, src1, src2]
};

std::vector<uint8_t> random_tensor(const Tensor& t, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> f(static_cast<size_t>(t.n_elements()));
  for (float& v : f) v = u(rng);
  std::vector<uint8_t> out(t.n_bytes());
  for (int64_t r = 0; r < t.n_rows(); ++r)
    quantize_row(t.type, f.data() + r * t.ne[0], out.data() + r * t.row_bytes(), t.ne[0]);
  return out;
}

HostOp make_op(const Case& c) {
  std::mt19937 rng(1234);
  HostOp h;
  OpDesc& op = h.op;
  op.kind = c.op;
  auto f32 = [](int64_t n0, int64_t n1 = 1, int64_t n2 = 1) {
    return make_tensor(nullptr, GgmlType::F32, n0, n1, n2);
  };
  Tensor none;
  none.ne[0] = 0;
  switch (c.op) {
    case OpKind::kMatmul:  // a = K, b = N, c = M
      op.src[0] = make_tensor(nullptr, c.wtype, c.a, c.b);
      op.src[1] = f32(c.a, c.c);
      op.dst = f32(c.b, c.c);
      break;
    case OpKind::kGetRows:  // a = K, b = V, c = M
      op.src[0] = make_tensor(nullptr, c.wtype, c.a, c.b);
      op.src[1] = make_tensor(nullptr, GgmlType::I32, c.c);
      op.dst = f32(c.a, c.c);
      break;
    case OpKind::kRmsNorm:  // a = K, b = M
      op.src[0] = f32(c.a, c.b);
      op.src[1] = f32(c.a);
      op.dst = f32(c.a, c.b);
      op.eps = 1e-5f;
      break;
    case OpKind::kRope:  // a = head_dim, b = n_head, c = M, d = n_rot
      op.src[0] = f32(c.a, c.b, c.c);
      op.src[1] = make_tensor(nullptr, GgmlType::I32, c.c);
      if (c.flag) op.src[2] = f32(c.d / 2);
      op.dst = op.src[0];
      op.rope = {c.mode, static_cast<int32_t>(c.d), 10000.0f, c.flag ? 0.25f : 1.0f};
      break;
    case OpKind::kAttention:  // a = D, b = n_head, c = M, d = n_head_kv, e = pos0
      op.src[0] = f32(c.a, c.b, c.c);
      op.src[1] = f32(c.a, c.d, c.e + c.c + 3);
      op.src[2] = op.src[1];
      op.dst = op.src[0];
      op.attn = {1.0f / std::sqrt(static_cast<float>(c.a)), static_cast<int32_t>(c.e), c.window};
      break;
    default:  // elementwise: a = K, b = M
      op.src[0] = f32(c.a, c.b);
      op.src[1] = c.flag ? f32(c.a) : f32(c.a, c.b);
      op.dst = f32(c.a, c.b);
      op.scale = 0.37f;
      break;
  }
  const int n_src = c.op == OpKind::kRope        ? (c.flag ? 3 : 2)
                    : c.op == OpKind::kAttention ? 3
                    : c.op == OpKind::kScale     ? 1
                                                 : 2;
  h.bytes.resize(4);
  h.bytes[0].resize(op.dst.n_bytes());
  for (int i = 0; i < n_src; ++i) {
    Tensor& t = op.src[i];
    if (t.type == GgmlType::I32) {
      std::vector<int32_t> v(static_cast<size_t>(t.n_elements()));
      const int64_t hi = c.op == OpKind::kGetRows ? c.b - 1 : 5000;
      std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(hi));
      for (auto& x : v) x = u(rng);
      if (c.op == OpKind::kGetRows) {
        v.front() = 0;
        v.back() = static_cast<int32_t>(c.b - 1);
      }
      h.bytes[i + 1].resize(v.size() * 4);
      std::memcpy(h.bytes[i + 1].data(), v.data(), v.size() * 4);
    } else if (c.op == OpKind::kRope && i == 2) {
      h.bytes[i + 1] = random_tensor(t, rng, 1.0f, 8.0f);  // frequency factors
    } else {
      h.bytes[i + 1] = random_tensor(t, rng, -2.0f, 2.0f);
    }
  }
  return h;
}

// Runs the op on `be`: uploads inputs, executes, downloads dst as floats.
std::vector<float> run_on(Backend& be, const HostOp& h) {
  OpDesc op = h.op;
  std::vector<Buffer> bufs;
  auto upload = [&](Tensor& t, const std::vector<uint8_t>& bytes) {
    bufs.push_back(be.allocate(std::max<size_t>(bytes.size(), 1), MemKind::kDevice));
    be.copy(bufs.back().data(), bytes.data(), bytes.size(), CopyKind::kHostToDevice);
    t.data = bufs.back().data();
  };
  for (int i = 0; i < 3; ++i)
    if (!h.bytes[i + 1].empty()) upload(op.src[i], h.bytes[i + 1]);
  if (op.kind == OpKind::kRope || op.kind == OpKind::kAttention) {
    // In-place / cache ops: dst is a fresh copy of src0 for rope, zeros for attention.
    upload(op.dst, op.kind == OpKind::kRope ? h.bytes[1] : std::vector<uint8_t>(op.dst.n_bytes()));
    if (op.kind == OpKind::kRope) op.src[0] = op.dst;
    if (op.kind == OpKind::kAttention) op.src[2].data = bufs[2].data();
  } else {
    upload(op.dst, std::vector<uint8_t>(op.dst.n_bytes()));
  }
  if (op.kind == OpKind::kMatmul) be.prepare_weight(op.src[0]);
  be.execute(op);
  std::vector<float> out(static_cast<size_t>(op.dst.n_elements()));
  be.copy(out.data(), op.dst.data, out.size() * 4, CopyKind::kDeviceToHost);
  be.synchronize();
  return out;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  const GgmlType wtypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                             GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                             GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                             GgmlType::Q6_K};
  for (GgmlType t : wtypes) {
    if (!can_quantize(t)) continue;
    const auto bs = ggml_type_traits(t).block_size;
    const std::string tn(ggml_type_traits(t).name);
    std::vector<std::array<int64_t, 3>> shapes = {
        {256, 1, 1}, {256, 7, 3}, {512, 33, 5}, {768, 19, 9}, {256 * 6, 17, 2},
        {512, 9, 4}, {256, 3, 6}, {768, 5, 7},  {256, 11, 8}};  // M = 1..8: the fused decode path
    if (bs == 1) shapes.insert(shapes.end(), {{1, 1, 1}, {37, 5, 3}, {300, 13, 7}, {301, 35, 41}});
    // M > 8: the prefill GEMM, with M, N, K off its 6 x 16 tiles and 128-wide K blocks.
    shapes.insert(shapes.end(), {{256 * 3, 37, 50}, {256, 70, 13}});
    if (bs == 32)
      shapes.insert(shapes.end(), {{32, 1, 1}, {96, 3, 5}, {576, 21, 6}, {160, 9, 4}, {224, 5, 8}});
    for (auto [K, N, M] : shapes) {
      v.push_back({"matmul_" + tn + "_" + std::to_string(K) + "x" + std::to_string(N) + "x" +
                       std::to_string(M),
                   OpKind::kMatmul, t, K, N, M});
      v.back().tol = 2e-5;
    }
    // Batched (prefill) matmul: a backend may round inputs to TF32 here (cuda's GEMM).
    v.push_back({"matmul_" + tn + "_batched_512x40x64", OpKind::kMatmul, t, 512, 40, 64});
    v.back().tol = 3e-3;
    v.push_back({"get_rows_" + tn, OpKind::kGetRows, t, bs == 1 ? 37 : 512, 11, 5});
    const bool q8 = t == GgmlType::Q4_0 || t == GgmlType::Q4_1 || t == GgmlType::Q5_0 ||
                    t == GgmlType::Q5_1 || t == GgmlType::Q8_0 || t == GgmlType::Q4_K ||
                    t == GgmlType::Q5_K || t == GgmlType::Q6_K;
    for (int64_t M = 1; q8 && M <= 8; ++M) {
      const int64_t K = bs == 32 ? 32 * (3 + 4 * M) : 256 * (1 + M % 3), N = 5 + 4 * M;
      v.push_back({"matmul_q8_" + tn + "_" + std::to_string(K) + "x" + std::to_string(N) + "x" +
                       std::to_string(M),
                   OpKind::kMatmul, t, K, N, M});
      v.back().tol = 1e-5;
      v.back().q8 = true;
    }
    for (int64_t M : {9, 33}) {  // kQ8 prefill: the GEMM on Q8-rounded activations
      if (!q8) break;
      const int64_t K = bs == 32 ? 96 : 512, N = 19;
      v.push_back({"matmul_q8_" + tn + "_batched_" + std::to_string(K) + "x" + std::to_string(N) +
                       "x" + std::to_string(M),
                   OpKind::kMatmul, t, K, N, M});
      v.back().tol = 1e-5;
      v.back().q8 = true;
    }
  }
  for (auto [K, M] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 3}, {576, 2}, {1001, 4}})
    v.push_back({"rms_norm_" + std::to_string(K) + "x" + std::to_string(M), OpKind::kRmsNorm,
                 GgmlType::F32, K, M});
  for (RopeMode mode : {RopeMode::kNorm, RopeMode::kNeox})
    for (bool ff : {false, true})
      for (auto [D, H, M, R] : std::vector<std::array<int64_t, 4>>{
               {64, 3, 5, 64}, {10, 1, 1, 10}, {128, 2, 3, 32}, {6, 5, 7, 4}}) {
        Case c{std::string("rope_") + (mode == RopeMode::kNorm ? "norm" : "neox") +
                   (ff ? "_ff" : "") + "_" + std::to_string(D) + "x" + std::to_string(H) + "x" +
                   std::to_string(M) + "r" + std::to_string(R),
               OpKind::kRope,
               GgmlType::F32,
               D,
               H,
               M,
               R};
        c.mode = mode;
        c.flag = ff;
        c.tol = 1e-5;
        v.push_back(c);
      }
  for (auto [D, H, M, KV, P] : std::vector<std::array<int64_t, 5>>{{64, 9, 1, 3, 0},
                                                                   {64, 9, 7, 3, 13},
                                                                   {10, 4, 3, 4, 0},
                                                                   {16, 2, 5, 1, 40},
                                                                   {128, 4, 2, 2, 300},
                                                                   {64, 9, 100, 3, 0},
                                                                   {256, 4, 40, 1, 20},
                                                                   {40, 6, 61, 6, 7},
                                                                   // decode over long KV: split
                                                                   // keys, GQA groups 1..8
                                                                   {64, 9, 1, 3, 700},
                                                                   {256, 4, 1, 1, 900},
                                                                   {64, 8, 8, 1, 500},
                                                                   {64, 32, 1, 8, 400},
                                                                   {32, 6, 4, 3, 260},
                                                                   {16, 5, 2, 5, 1000},
                                                                   {64, 14, 2, 2, 600}})
    v.push_back({"attention_D" + std::to_string(D) + "_H" + std::to_string(H) + "_M" +
                     std::to_string(M) + "_KV" + std::to_string(KV) + "_P" + std::to_string(P),
                 OpKind::kAttention, GgmlType::F32, D, H, M, KV, P});
  // Sliding window: shorter than, equal to and longer than the positions seen.
  for (auto [D, H, M, KV, P, W] : std::vector<std::array<int64_t, 6>>{{64, 9, 7, 3, 13, 4},
                                                                      {16, 2, 5, 1, 40, 1},
                                                                      {10, 4, 3, 4, 0, 3},
                                                                      {128, 4, 2, 2, 300, 512},
                                                                      {64, 9, 70, 3, 30, 16},
                                                                      {32, 4, 50, 2, 0, 20},
                                                                      {256, 4, 1, 1, 900, 512},
                                                                      {64, 8, 6, 2, 700, 200}}) {
    v.push_back({"attention_window" + std::to_string(W) + "_D" + std::to_string(D) + "_M" +
                     std::to_string(M) + "_P" + std::to_string(P),
                 OpKind::kAttention, GgmlType::F32, D, H, M, KV, P});
    v.back().window = static_cast<int32_t>(W);
  }
  const std::pair<OpKind, const char*> ew[] = {{OpKind::kSiluMul, "silu_mul"},
                                               {OpKind::kGeluMul, "gelu_mul"},
                                               {OpKind::kAdd, "add"},
                                               {OpKind::kScale, "scale"}};
  for (auto [op, name] : ew)
    for (auto [K, M] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {17, 3}, {4099, 2}}) {
      v.push_back({std::string(name) + "_" + std::to_string(K) + "x" + std::to_string(M), op,
                   GgmlType::F32, K, M});
      if (op == OpKind::kAdd) {
        v.push_back(v.back());
        v.back().name += "_bcast";
        v.back().flag = true;
      }
    }
  return v;
}

struct Param {
  std::string backend;
  Case c;
};

class Conformance : public ::testing::TestWithParam<Param> {};

TEST_P(Conformance, MatchesReference) {
  const Param& p = GetParam();
  std::string why;
  if (p.c.q8 && p.backend != "cpu") GTEST_SKIP() << "Q8 activations: a cpu backend case";
  BackendOptions opts;
  opts.activations = p.c.q8 ? ActivationType::kQ8 : ActivationType::kF32;
  auto be = available_backend(p.backend, &why, opts);
  if (!be) GTEST_SKIP() << p.backend << " unavailable here: " << why;
  auto ref = create_backend("reference");
  const HostOp h = make_op(p.c);
  if (be->supports(h.op) == Support::kNo)
    GTEST_SKIP() << p.backend << " does not support " << p.c.name;
  HostOp h_ref = h;
  if (p.c.q8) h_ref.bytes[2] = q8_round(h.bytes[2]);
  const std::vector<float> want = run_on(*ref, h_ref), got = run_on(*be, h);
  ASSERT_EQ(want.size(), got.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << "element " << i;
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  const double rel = std::sqrt(num / std::max(den, 1e-30));
  EXPECT_LE(rel, p.c.tol) << p.backend << " " << p.c.name << ": relative L2 error " << rel;
}

std::vector<Param> params() {
  std::vector<Param> v;
  for (const auto& b : backend_names())
    for (const auto& c : cases()) v.push_back({b, c});
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Conformance, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           return i.param.backend + "_" + i.param.c.name;
                         });

// Independent of `reference`: a query at position p with window W must equal full
// causal attention of a query at position W - 1 over a cache holding only keys
// p - W + 1 ..= p.
TEST(ConformanceWindow, EqualsFullAttentionOverTheLastWindowKeys) {
  const int64_t D = 32, H = 4, KV = 2, P = 57, W = 9, n_ctx = P + 1;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> q(D * H), k(D * KV * n_ctx), v(k.size());
  for (auto* vec : {&q, &k, &v})
    for (float& x : *vec) x = u(rng);
  for (const auto& b : backend_names()) {
    auto be = available_backend(b);
    if (!be) continue;
    // Attention of q at pos0 over cache positions [first, first + n), on `be`.
    auto run = [&](int64_t first, int64_t n, int32_t pos0, int32_t window) {
      const size_t row = static_cast<size_t>(D * KV), kv_bytes = row * n * 4,
                   q_bytes = q.size() * 4;
      Buffer qb = be->allocate(q_bytes, MemKind::kDevice),
             kb = be->allocate(kv_bytes, MemKind::kDevice),
             vb = be->allocate(kv_bytes, MemKind::kDevice),
             ob = be->allocate(q_bytes, MemKind::kDevice);
      be->copy(qb.data(), q.data(), q_bytes, CopyKind::kHostToDevice);
      be->copy(kb.data(), k.data() + first * row, kv_bytes, CopyKind::kHostToDevice);
      be->copy(vb.data(), v.data() + first * row, kv_bytes, CopyKind::kHostToDevice);
      OpDesc op;
      op.kind = OpKind::kAttention;
      op.src[0] = make_tensor(qb.data(), GgmlType::F32, D, H, 1);
      op.src[1] = make_tensor(kb.data(), GgmlType::F32, D, KV, n);
      op.src[2] = make_tensor(vb.data(), GgmlType::F32, D, KV, n);
      op.dst = make_tensor(ob.data(), GgmlType::F32, D, H, 1);
      op.attn = {0.2f, pos0, window};
      std::vector<float> out(q.size());
      be->execute(op);
      be->copy(out.data(), ob.data(), q_bytes, CopyKind::kDeviceToHost);
      be->synchronize();
      return out;
    };
    const std::vector<float> windowed = run(0, n_ctx, P, W);
    const std::vector<float> full = run(P - W + 1, W, W - 1, 0);
    for (size_t i = 0; i < windowed.size(); ++i)
      EXPECT_NEAR(windowed[i], full[i], 1e-5f) << b << " element " << i;
  }
}

// Every backend rejects a malformed op with pivot::Error rather than crashing.
TEST(ConformanceErrors, MalformedMatmulThrows) {
  for (const auto& b : backend_names()) {
    auto be = available_backend(b);
    if (!be) continue;
    OpDesc op;
    op.kind = OpKind::kMatmul;
    op.src[0] = make_tensor(nullptr, GgmlType::F32, 8, 4);
    op.src[1] = make_tensor(nullptr, GgmlType::F32, 7, 1);  // K mismatch
    op.dst = make_tensor(nullptr, GgmlType::F32, 4, 1);
    EXPECT_EQ(be->supports(op), Support::kNo) << b;
    EXPECT_THROW(be->execute(op), std::exception) << b;
  }
}

}  // namespace
}  // namespace pivot
