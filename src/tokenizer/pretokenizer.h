// Pre-tokenizers for byte-level BPE: the regex sequence tokenizer.ggml.pre selects
// (llama.cpp's llm_tokenizer_bpe table), run with PCRE2 (UTF + UCP, JIT) so that
// Unicode categories come from PCRE2's tables.
//
// Semantics follow llama.cpp's unicode_regex_split: the patterns are applied in
// order; each splits every piece the previous one produced into its matches and
// the text between them, and sees only that piece (lookaheads and `$` stop at the
// piece's end). `\s` means Unicode White_Space, as llama.cpp's tables do.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pivot::tok {

struct PreTokenizerSpec {
  std::string name;                   // the canonical tokenizer.ggml.pre value
  std::vector<std::string> patterns;  // applied in order
  bool ignore_merges = false;         // a piece that is a whole token is not merged
  bool add_bos = false;               // default for tokenizer.ggml.add_bos_token
};

// The spec for a tokenizer.ggml.pre value; nullptr if unknown.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre);
// The fallback for a missing or unknown value ("default", as llama.cpp).
const PreTokenizerSpec& default_pre_tokenizer();

class PreTokenizer {
 public:
  explicit PreTokenizer(const PreTokenizerSpec& spec);  // throws pivot::Error on a bad pattern
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Splits valid UTF-8 `text` into pieces; `ends` receives the end offset of each
  // (in bytes; pieces are contiguous and cover `text`). Thread-safe.
  void split(std::string_view text, std::vector<size_t>& ends) const;

  const PreTokenizerSpec& spec() const { return spec_; }

 private:
  struct Compiled;
  PreTokenizerSpec spec_;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

// Rewrites \s and \S (outside and inside classes) as Unicode White_Space; exposed
// for tests.
std::string white_space_pattern(std::string_view pattern);

}  // namespace pivot::tok
