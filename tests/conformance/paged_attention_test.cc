// kPagedAttention on every backend: (1) against `reference` on random pools,
// mixed sequences and windows; (2) independently of `reference`, a paged cache
// whose blocks are shuffled must give exactly what kAttention gives over the same
// keys stored contiguously (the contiguous op is the oracle for the gather).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "available.h"
#include "pivot/backend.h"

namespace pivot {
namespace {

struct PagedCase {
  int64_t D, H, KV, bs;
  std::vector<int64_t> seq_lens;  // tokens already cached per sequence (queries: the last q_n)
  std::vector<int64_t> q_n;       // queries per sequence
  int32_t window = 0;
};

// Host-side problem: a pool of shuffled blocks, per-sequence block tables, queries.
struct PagedProblem {
  int64_t D, H, KV, bs, n_blocks, W, M;
  std::vector<float> q, kpool, vpool;
  std::vector<int32_t> table;                    // {W, M}
  std::vector<std::vector<float>> k_seq, v_seq;  // contiguous copy per sequence
  std::vector<int64_t> q_seq, q_pos;             // per query: sequence, position
};

PagedProblem make_problem(const PagedCase& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  PagedProblem p{c.D, c.H, c.KV, c.bs, 0, 0, 0, {}, {}, {}, {}, {}, {}, {}, {}};
  std::vector<int64_t> nb;
  for (int64_t len : c.seq_lens) {
    nb.push_back((len + c.bs - 1) / c.bs);
    p.n_blocks += nb.back();
    p.W = std::max(p.W, 1 + nb.back());
  }
  p.n_blocks += 3;  // unused blocks stay garbage
  std::vector<int32_t> order(static_cast<size_t>(p.n_blocks));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  const int64_t row = c.D * c.KV;
  p.kpool.resize(static_cast<size_t>(p.n_blocks * c.bs * row));
  p.vpool.resize(p.kpool.size());
  for (float& x : p.kpool) x = u(rng);
  for (float& x : p.vpool) x = u(rng);
  size_t next = 0;
  for (size_t s = 0; s < c.seq_lens.size(); ++s) {
    std::vector<int32_t> blocks(order.begin() + next, order.begin() + next + nb[s]);
    next += nb[s];
    const int64_t len = c.seq_lens[s];
    p.k_seq.emplace_back(static_cast<size_t>(len * row));
    p.v_seq.emplace_back(static_cast<size_t>(len * row));
    for (int64_t j = 0; j < len; ++j) {
      const int64_t slot = blocks[j / c.bs] * c.bs + j % c.bs;
      std::copy_n(p.kpool.begin() + slot * row, row, p.k_seq[s].begin() + j * row);
      std::copy_n(p.vpool.begin() + slot * row, row, p.v_seq[s].begin() + j * row);
    }
    for (int64_t i = 0; i < c.q_n[s]; ++i) {
      const int64_t pos = len - c.q_n[s] + i;
      std::vector<int32_t> r(static_cast<size_t>(p.W), -1);
      r[0] = static_cast<int32_t>(pos);
      std::copy(blocks.begin(), blocks.end(), r.begin() + 1);
      p.table.insert(p.table.end(), r.begin(), r.end());
      p.q_seq.push_back(static_cast<int64_t>(s));
      p.q_pos.push_back(pos);
      ++p.M;
    }
  }
  p.q.resize(static_cast<size_t>(p.M * c.H * c.D));
  for (float& x : p.q) x = u(rng);
  return p;
}

std::vector<float> run_paged(Backend& be, const PagedProblem& p, int32_t window) {
  std::vector<Buffer> bufs;
  auto up = [&](const void* src, size_t bytes) {
    bufs.push_back(be.allocate(bytes, MemKind::kDevice));
    be.copy(bufs.back().data(), src, bytes, CopyKind::kHostToDevice);
    return bufs.back().data();
  };
  OpDesc op;
  op.kind = OpKind::kPagedAttention;
  op.src[0] = make_tensor(up(p.q.data(), p.q.size() * 4), GgmlType::F32, p.D, p.H, p.M);
  op.src[1] = make_tensor(up(p.kpool.data(), p.kpool.size() * 4), GgmlType::F32, p.D, p.KV, p.bs,
                          p.n_blocks);
  op.src[2] = make_tensor(up(p.vpool.data(), p.vpool.size() * 4), GgmlType::F32, p.D, p.KV, p.bs,
                          p.n_blocks);
  op.src[3] = make_tensor(up(p.table.data(), p.table.size() * 4), GgmlType::I32, p.W, p.M);
  std::vector<float> out(p.q.size());
  op.dst = make_tensor(up(out.data(), out.size() * 4), GgmlType::F32, p.D, p.H, p.M);
  op.attn.scale = 1.0f / std::sqrt(static_cast<float>(p.D));
  op.attn.window = window;
  EXPECT_NE(be.supports(op), Support::kNo);
  be.execute(op);
  be.copy(out.data(), op.dst.data, out.size() * 4, CopyKind::kDeviceToHost);
  be.synchronize();
  return out;
}

// kAttention per query over its sequence's contiguous keys.
std::vector<float> run_contiguous(Backend& be, const PagedProblem& p, int32_t window) {
  std::vector<float> out(p.q.size());
  const size_t qrow = static_cast<size_t>(p.H * p.D);
  for (int64_t m = 0; m < p.M; ++m) {
    const auto& ks = p.k_seq[static_cast<size_t>(p.q_seq[m])];
    const auto& vs = p.v_seq[static_cast<size_t>(p.q_seq[m])];
    const int64_t n_ctx = static_cast<int64_t>(ks.size()) / (p.D * p.KV);
    std::vector<Buffer> bufs;
    auto up = [&](const void* src, size_t bytes) {
      bufs.push_back(be.allocate(bytes, MemKind::kDevice));
      be.copy(bufs.back().data(), src, bytes, CopyKind::kHostToDevice);
      return bufs.back().data();
    };
    OpDesc op;
    op.kind = OpKind::kAttention;
    op.src[0] = make_tensor(up(p.q.data() + m * qrow, qrow * 4), GgmlType::F32, p.D, p.H, 1);
    op.src[1] = make_tensor(up(ks.data(), ks.size() * 4), GgmlType::F32, p.D, p.KV, n_ctx);
    op.src[2] = make_tensor(up(vs.data(), vs.size() * 4), GgmlType::F32, p.D, p.KV, n_ctx);
    op.dst = make_tensor(up(out.data(), qrow * 4), GgmlType::F32, p.D, p.H, 1);
    op.attn.scale = 1.0f / std::sqrt(static_cast<float>(p.D));
    op.attn.pos0 = static_cast<int32_t>(p.q_pos[m]);
    op.attn.window = window;
    be.execute(op);
    be.copy(out.data() + m * qrow, op.dst.data, qrow * 4, CopyKind::kDeviceToHost);
    be.synchronize();
  }
  return out;
}

double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

const std::vector<PagedCase>& cases() {
  static const std::vector<PagedCase> v = {
      {64, 9, 3, 16, {1}, {1}},                     // first token
      {64, 9, 3, 16, {40, 17, 5}, {1, 1, 1}},       // three decoding sequences
      {16, 2, 1, 4, {23, 9}, {7, 1}},               // prefill chunk + decode
      {32, 4, 4, 16, {33, 16, 70}, {33, 2, 5}, 8},  // sliding window
      {128, 4, 2, 32, {300, 31}, {2, 31}, 512},     // window longer than the sequence
      {64, 9, 3, 16, {100, 40, 7}, {60, 1, 7}},     // prefill chunks (> 8 queries) + decode
  };
  return v;
}

TEST(PagedAttention, EveryBackendMatchesReference) {
  auto ref = create_backend("reference");
  for (const auto& b : backend_names()) {
    auto be = available_backend(b);
    if (!be) continue;
    for (size_t i = 0; i < cases().size(); ++i) {
      const PagedProblem p = make_problem(cases()[i], 100 + static_cast<uint32_t>(i));
      const double e =
          rel_err(run_paged(*be, p, cases()[i].window), run_paged(*ref, p, cases()[i].window));
      EXPECT_LE(e, 2e-5) << b << " case " << i;
    }
  }
}

TEST(PagedAttention, EqualsContiguousAttentionOverShuffledBlocks) {
  for (const auto& b : backend_names()) {
    auto be = available_backend(b);
    if (!be) continue;
    for (size_t i = 0; i < cases().size(); ++i) {
      const PagedProblem p = make_problem(cases()[i], 200 + static_cast<uint32_t>(i));
      const double e =
          rel_err(run_paged(*be, p, cases()[i].window), run_contiguous(*be, p, cases()[i].window));
      EXPECT_LE(e, 1e-6) << b << " case " << i;
    }
  }
}

TEST(PagedAttention, BadBlockIdThrows) {
  for (const auto& b : backend_names()) {
    auto be = available_backend(b);
    if (!be) continue;
    PagedProblem p = make_problem(cases()[1], 5);
    p.table[1] = static_cast<int32_t>(p.n_blocks);  // out of the pool
    EXPECT_THROW(run_paged(*be, p, 0), std::exception) << b;
  }
}

}  // namespace
}  // namespace pivot
