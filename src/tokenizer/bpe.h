// Byte-level BPE (tokenizer.ggml.model = "gpt2"): text -> pre-tokenizer pieces ->
// bytes -> merges by rank (lowest first, leftmost on ties), as llama.cpp's
// llm_tokenizer_bpe_session.
//
// Invalid UTF-8 is read as llama.cpp reads it (utf8.h, llama_utf8): overlong
// forms and surrogates decode to their code point, other invalid bytes become
// U+FFFD (bytes EF BF BD), which decode() then yields.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pretokenizer.h"
#include "tokenizer_base.h"

namespace pivot::tok {

class BpeTokenizer final : public TokenizerBase {
 public:
  // `pre` is the pre-tokenizer to use (already resolved from tokenizer.ggml.pre).
  BpeTokenizer(Vocab vocab, const PreTokenizerSpec& pre, const GgufFile& file);

 protected:
  void encode_fragment(std::string_view text, bool after_special,
                       std::vector<TokenId>& out) const override;
  std::string normal_piece(const std::string& text) const override;

 private:
  struct Merge {
    int32_t rank;
    uint32_t result;  // symbol id
  };
  static uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

  struct Scratch;
  // Appends the ids of one pre-tokenizer piece (raw bytes).
  void encode_word(std::string_view word, Scratch& scratch, std::vector<TokenId>& out) const;

  PreTokenizer pre_;
  // Symbols are byte strings: ids < n_vocab are the tokens (by their decoded
  // bytes), larger ids are merge results that are not tokens.
  TextToId raw_to_sym_;                         // raw bytes -> symbol (ids < n_vocab: tokens)
  std::unordered_map<uint64_t, Merge> merges_;  // (left, right) -> rank, result
  std::vector<uint32_t> byte_sym_;              // byte -> its one-byte symbol, or kNoSym
};

}  // namespace pivot::tok
