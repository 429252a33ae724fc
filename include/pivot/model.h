// A loaded model: an architecture's forward pass over weights on one Backend.
//
// Architectures live in src/model/<arch>.cc, one file each, and register with
// PIVOT_REGISTER_ARCH (one line); load_model() picks one by general.architecture.
// A Model is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pivot/backend.h"
#include "pivot/gguf.h"
#include "pivot/kv_cache.h"
#include "pivot/model_spec.h"
#include "pivot/paged_kv_cache.h"

namespace pivot {

using TokenId = int32_t;

struct ModelOptions {
  int64_t n_batch = 256;  // most tokens per forward step; longer inputs are split
};

enum class Logits : uint8_t {
  kLast,  // n_vocab floats for the last token
  kAll,   // n_vocab floats for every token, in order
  kNone,  // none (forward_batch only: a prefill chunk that is not the prompt's last)
};

// One sequence's part of a batched forward step (forward_batch).
struct SeqChunk {
  std::span<const TokenId> tokens;  // run at positions seq->n_past, seq->n_past + 1, ...
  KvSeq* seq = nullptr;             // its blocks must already cover n_past + tokens.size()
  Logits which = Logits::kLast;     // logits rows this chunk contributes
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelSpec& spec() const = 0;

  // Runs `tokens` at positions kv.n_past, kv.n_past + 1, ... of the sequence
  // whose cache is `kv`, then advances kv.n_past. Writes F32 logits to host
  // memory `logits` (n_vocab per row, rows as `which` says). Throws pivot::Error
  // for an out-of-range token id or when the tokens do not fit in kv.n_ctx().
  // The default is forward_batch() with one chunk per max_batch() tokens (one
  // code path per architecture); an architecture without a batched forward
  // overrides this instead.
  virtual void forward(std::span<const TokenId> tokens, KvCache& kv, Logits which, float* logits);

  // Continuous batching: the tokens of every chunk go through each matmul
  // together, in one step; attention reads each token's own sequence's blocks of
  // `kv` (kPagedAttention). At most max_batch() tokens in all; chunks name
  // distinct sequences. Advances every seq->n_past. Writes F32 logits to host
  // memory `logits`: n_vocab floats per row, the chunks' rows in batch order
  // (1 for kLast, tokens.size() for kAll, 0 for kNone). Throws pivot::Error for a
  // bad token id, an empty chunk, too many tokens or blocks that do not cover
  // the new positions.
  virtual void forward_batch(std::span<const SeqChunk> batch, PagedKvCache& kv, float* logits);
  // Most tokens forward_batch() takes in one call (ModelOptions::n_batch); 0 if
  // the architecture has no batched forward.
  virtual int64_t max_batch() const { return 0; }
};

// The model the file describes, on `backend`. The GgufFile must outlive the
// Model (weights may stay in its mapping). Throws pivot::Error for an unknown
// architecture (listing the known ones), missing tensors or wrong shapes.
std::unique_ptr<Model> load_model(const GgufFile& file, Backend& backend,
                                  const ModelOptions& opts = {});

using ModelFactory = std::unique_ptr<Model> (*)(const GgufFile&, Backend&, const ModelOptions&);

struct ArchRegistration {
  ArchRegistration(const char* arch, ModelFactory factory);
};

std::vector<std::string> arch_names();  // registered architectures, sorted

// In src/model/<arch>.cc: PIVOT_REGISTER_ARCH(llama, &make_llama);
#define PIVOT_REGISTER_ARCH(arch, factory) \
  static const ::pivot::ArchRegistration pivot_arch_registration_##arch(#arch, factory)

}  // namespace pivot
