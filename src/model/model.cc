// Architecture registration table and load_model().
#include "pivot/model.h"

#include <algorithm>
#include <map>

#include "pivot/error.h"

namespace pivot {
namespace {

// Written only during static initialisation.
std::map<std::string, ModelFactory, std::less<>>& table() {
  static std::map<std::string, ModelFactory, std::less<>> t;
  return t;
}

}  // namespace

ArchRegistration::ArchRegistration(const char* arch, ModelFactory factory) {
  table()[arch] = factory;
}

void Model::forward_batch(std::span<const SeqChunk>, PagedKvCache&, float*) {
  fail("architecture '%s' has no batched forward (pivot serve needs one)", spec().arch.c_str());
}

void Model::forward(std::span<const TokenId> tokens, KvCache& kv, Logits which, float* logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail("forward: no tokens");
  if (kv.n_past + n > kv.n_ctx())
    fail(
        "context full: %lld positions in use + %lld new tokens > context size %lld "
        "(raise --ctx-size)",
        static_cast<long long>(kv.n_past), static_cast<long long>(n),
        static_cast<long long>(kv.n_ctx()));
  const int64_t B = max_batch();
  if (B < 1) forward_batch({}, kv.paged(), logits);  // throws: not batched
  KvSeq& seq = kv.seq();
  seq.n_past = kv.n_past;
  for (int64_t start = 0; start < n; start += B) {
    const int64_t m = std::min(B, n - start);
    const Logits w = which == Logits::kAll ? Logits::kAll : start + m == n ? which : Logits::kNone;
    const SeqChunk chunk{tokens.subspan(static_cast<size_t>(start), static_cast<size_t>(m)), &seq,
                         w};
    forward_batch(std::span<const SeqChunk>(&chunk, 1), kv.paged(),
                  which == Logits::kAll ? logits + start * spec().n_vocab : logits);
    kv.n_past = seq.n_past;
  }
}

std::vector<std::string> arch_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : table()) names.push_back(name);
  return names;
}

std::unique_ptr<Model> load_model(const GgufFile& file, Backend& backend,
                                  const ModelOptions& opts) {
  const std::string& arch = file.get("general.architecture").as_string("general.architecture");
  auto it = table().find(arch);
  if (it == table().end()) {
    std::string known;
    for (const auto& n : arch_names()) known += (known.empty() ? "" : ", ") + n;
    fail("%s: architecture '%s' is not supported (this build has: %s)", file.path().c_str(),
         arch.c_str(), known.c_str());
  }
  if (opts.n_batch < 1)
    fail("n_batch must be >= 1, got %lld", static_cast<long long>(opts.n_batch));
  return it->second(file, backend, opts);
}

}  // namespace pivot
