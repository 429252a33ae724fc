// The vocabulary a GGUF file describes (tokenizer.ggml.*): token texts, scores,
// attributes, special ids and add-BOS/EOS rules, with llama.cpp's conventions
// (llama-vocab.cpp at the version llama-cpp-python 0.3.x vendors) so that ids
// match it. Immutable after load().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pivot/gguf.h"
#include "pivot/tokenizer.h"

namespace pivot::tok {

// Token attributes, as llama.cpp's llama_token_attr (bit flags).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
};

// Heterogeneous string lookup for unordered_map<std::string, ...>.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TextToId = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

struct Vocab {
  enum class Kind { kBpe, kSpm };

  Kind kind = Kind::kBpe;
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre ("" if absent)
  std::vector<std::string> text;
  std::vector<float> score;
  std::vector<uint32_t> attr;  // TokenAttr bits
  TextToId text_to_id;

  TokenId bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SentencePiece: prepend ' ' to the text (after BOS/specials)
  std::vector<bool> eog;          // end-of-generation flag per id

  // Tokens the special-token splitter looks for (control, user-defined, unknown),
  // longest text first, and a byte trie over their texts.
  std::vector<TokenId> special;
  std::vector<uint32_t> special_rank;  // id -> position in `special` (UINT32_MAX if absent)
  std::unordered_map<uint64_t, uint32_t> trie_edges;  // (node << 8 | byte) -> child node
  std::vector<TokenId> trie_token;                    // node -> token ending there, or -1

  // Reads everything but the pre-tokenizer choice and the merges. `add_bos_default`
  // is the pre-tokenizer's default (llama.cpp: true for llama3-style BPE).
  static Vocab load(const GgufFile& file, bool add_bos_default);

  size_t size() const { return text.size(); }
  TokenId find(std::string_view s) const {
    auto it = text_to_id.find(s);
    return it == text_to_id.end() ? -1 : it->second;
  }
};

// One piece of text after special-token splitting: either a special token
// (`token` >= 0) or raw text [begin, end) of the input.
struct Fragment {
  size_t begin = 0, end = 0;
  TokenId token = -1;
};

// Splits `text` at the special tokens it contains, as llama.cpp's
// tokenizer_st_partition: each special token in turn (longest first) is cut out of
// the raw fragments left by the previous ones, leftmost first; control and unknown
// tokens only when `parse_special`, user-defined tokens always; LSTRIP/RSTRIP
// attributes eat adjacent whitespace.
std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special);

}  // namespace pivot::tok
