#include "vocab.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>

#include "pivot/error.h"

namespace pivot::tok {
namespace {

constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kTypes = "tokenizer.ggml.token_type";

// Token types stored in tokenizer.ggml.token_type (llama.cpp's llama_token_type).
uint32_t attr_of_type(int64_t type) {
  switch (type) {
    case 1:
      return kAttrNormal;
    case 2:
      return kAttrUnknown;
    case 3:
      return kAttrControl;
    case 4:
      return kAttrUserDefined;
    case 5:
      return kAttrUnused;
    case 6:
      return kAttrByte;
    default:
      return kAttrUndefined;
  }
}

// Texts llama.cpp (llama-vocab.cpp, "auto-detect special tokens by text")
// recognises when the metadata does not name the token: the first token found of
// each group becomes that special token and is marked control.
struct AutoGroup {
  const char* key;  // metadata key that, when present, turns detection off
  const char* key2;
  std::vector<std::string_view> texts;
};
const AutoGroup kAutoGroups[] = {
    {"tokenizer.ggml.eot_token_id",
     nullptr,
     {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
      "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}},
    {"tokenizer.ggml.eom_token_id", nullptr, {"<|eom_id|>"}},
    {"tokenizer.ggml.fim_pre_token_id",
     "tokenizer.ggml.prefix_token_id",
     {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
      "<|code_prefix|>", "<|prefix|>"}},
    {"tokenizer.ggml.fim_suf_token_id",
     "tokenizer.ggml.suffix_token_id",
     {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
      "<|code_suffix|>", "<|suffix|>"}},
    {"tokenizer.ggml.fim_mid_token_id",
     "tokenizer.ggml.middle_token_id",
     {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
      "<|code_middle|>", "<|middle|>"}},
    {"tokenizer.ggml.fim_pad_token_id",
     nullptr,
     {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
    {"tokenizer.ggml.fim_rep_token_id",
     nullptr,
     {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
    {"tokenizer.ggml.fim_sep_token_id", nullptr, {"<|file_sep|>"}},
};
enum AutoIndex { kAutoEot = 0, kAutoEom = 1, kAutoFimPad = 5, kAutoFimRep = 6, kAutoFimSep = 7 };

// Tokens that end generation, by text (all of them, always); marked control.
constexpr std::string_view kEogTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<|return|>",
                                          "<|call|>",
                                          "<|flush|>",
                                          "<|calls|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "</s>",
                                          "<|eom_id|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "[EOT]",
                                          "[EOS]",
                                          "<|end_of_text|>",
                                          "<end_of_utterance>",
                                          "<eos>",
                                          "<turn|>",
                                          "<|tool_response>",
                                          "<｜end▁of▁sentence｜>",
                                          "[e~["};

const GgufArray* find_array(const GgufFile& f, const char* key) {
  const GgufValue* v = f.find(key);
  return v ? &v->as_array(key) : nullptr;
}

// An optional token id key; out-of-range ids are reported and ignored.
void read_id(const GgufFile& f, const char* key, TokenId& id, size_t n_vocab) {
  const GgufValue* v = f.find(key);
  if (!v) return;
  uint64_t x = v->as_u64(key);
  if (x >= n_vocab) {
    std::fprintf(stderr, "pivot: warning: %s: %s = %llu is out of range (%zu tokens), ignored\n",
                 f.path().c_str(), key, static_cast<unsigned long long>(x), n_vocab);
    return;
  }
  id = static_cast<TokenId>(x);
}

void read_bool(const GgufFile& f, const char* key, bool& b) {
  if (const GgufValue* v = f.find(key)) b = v->as_bool(key);
}

void build_special(Vocab& v) {
  v.special.clear();
  for (size_t id = 0; id < v.size(); ++id) {
    if (v.attr[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      v.special.push_back(static_cast<TokenId>(id));
    }
  }
  std::stable_sort(v.special.begin(), v.special.end(),
                   [&](TokenId a, TokenId b) { return v.text[a].size() > v.text[b].size(); });
  v.special_rank.assign(v.size(), std::numeric_limits<uint32_t>::max());
  v.trie_edges.clear();
  v.trie_token.assign(1, -1);
  for (size_t r = 0; r < v.special.size(); ++r) {
    TokenId id = v.special[r];
    v.special_rank[id] = static_cast<uint32_t>(r);
    uint32_t node = 0;
    for (unsigned char c : v.text[id]) {
      auto [it, added] = v.trie_edges.try_emplace((uint64_t{node} << 8) | c,
                                                  static_cast<uint32_t>(v.trie_token.size()));
      if (added) v.trie_token.push_back(-1);
      node = it->second;
    }
    v.trie_token[node] = id;
  }
}

// EOT/EOM/FIM/EOG detection by text and llama.cpp's per-vocabulary workarounds,
// in llama.cpp's order.
void mark_special_by_text(const GgufFile& f, Vocab& v) {
  const size_t n = v.size();
  TokenId found[std::size(kAutoGroups)];
  for (size_t g = 0; g < std::size(kAutoGroups); ++g) {
    const AutoGroup& ag = kAutoGroups[g];
    found[g] = -1;
    if (g == kAutoEot) found[g] = v.eot;
    if (g == kAutoEom) found[g] = v.eom;
    if (g > kAutoEom) {
      read_id(f, ag.key, found[g], n);
      if (ag.key2) read_id(f, ag.key2, found[g], n);  // the deprecated key wins, as in llama.cpp
    }
    if (found[g] >= 0) continue;
    for (std::string_view t : ag.texts) {  // llama.cpp takes the first in hash order
      if (TokenId id = v.find(t); id >= 0 && (found[g] < 0 || id < found[g])) found[g] = id;
    }
    if (found[g] >= 0) v.attr[found[g]] |= kAttrControl;
  }
  v.eot = found[kAutoEot];
  v.eom = found[kAutoEom];

  v.eog.assign(n, false);
  for (int g : {kAutoFimPad, kAutoFimRep, kAutoFimSep}) {
    if (found[g] >= 0) v.eog[found[g]] = true;
  }
  for (std::string_view t : kEogTexts) {
    if (TokenId id = v.find(t); id >= 0) {
      v.eog[id] = true;
      v.attr[id] |= kAttrControl;
    }
  }
  for (const char* t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    if (TokenId id = v.find(t); id >= 0) v.attr[id] = kAttrUserDefined;  // gpt-oss
  }
  for (TokenId id : {v.eos, v.eot, v.eom}) {
    if (id >= 0) v.eog[id] = true;
  }
  auto eog_id = [&](std::string_view t) {
    TokenId id = v.find(t);
    return id >= 0 && v.eog[id] ? id : -1;
  };
  // o200k_harmony and solar-open: "<|end|>" is not the end of generation.
  TokenId end = eog_id("<|end|>");
  bool call = eog_id("<|call|>") >= 0 || eog_id("<|calls|>") >= 0;
  if (end >= 0 && call && (eog_id("<|return|>") >= 0 || eog_id("<|flush|>") >= 0)) {
    v.eog[end] = false;
    v.attr[end] = kAttrUserDefined;
  }
  // Gemma 4 and PaddleOCR: "</s>" is not either.
  TokenId s = eog_id("</s>");
  if (s >= 0 && eog_id("<|tool_response>") >= 0) {
    v.eog[s] = false;
    v.attr[s] = kAttrNormal;
  }
}

}  // namespace

Vocab Vocab::load(const GgufFile& f, bool add_bos_default) {
  Vocab v;
  v.model = f.get("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  if (v.model == "gpt2") {
    v.kind = Kind::kBpe;
  } else if (v.model == "llama") {
    v.kind = Kind::kSpm;
  } else {
    fail("%s: tokenizer.ggml.model: unsupported tokenizer \"%s\" (expected \"gpt2\" or \"llama\")",
         f.path().c_str(), v.model.c_str());
  }
  if (const GgufValue* p = f.find("tokenizer.ggml.pre")) v.pre = p->as_string("tokenizer.ggml.pre");

  const GgufArray& tokens = f.get(kTokens).as_array(kTokens);
  size_t n = tokens.items.size();
  if (n == 0) fail("%s: %s: empty vocabulary", f.path().c_str(), kTokens);
  if (n > static_cast<size_t>(std::numeric_limits<TokenId>::max())) {
    fail("%s: %s: %zu tokens is too many", f.path().c_str(), kTokens, n);
  }
  const GgufArray* scores = find_array(f, kScores);
  if (scores && scores->items.size() < n) {
    fail("%s: %s: %zu scores for %zu tokens", f.path().c_str(), kScores, scores->items.size(), n);
  }
  const GgufArray* types = find_array(f, kTypes);
  if (types && types->items.size() < n) {
    fail("%s: %s: %zu types for %zu tokens", f.path().c_str(), kTypes, types->items.size(), n);
  }

  v.text.resize(n);
  v.score.assign(n, 0.0f);
  v.attr.assign(n, kAttrNormal);
  v.text_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string t = tokens.items[i].as_string(kTokens);
    if (t.empty()) t = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp
    auto [it, added] = v.text_to_id.emplace(t, static_cast<TokenId>(i));
    if (!added) {
      fail("%s: %s: duplicate token \"%s\" at ids %d and %zu", f.path().c_str(), kTokens, t.c_str(),
           it->second, i);
    }
    v.text[i] = std::move(t);
    if (scores) v.score[i] = static_cast<float>(scores->items[i].as_f64(kScores));
    if (types) v.attr[i] = attr_of_type(types->items[i].as_i64(kTypes));
  }

  // Defaults by tokenizer kind, then the metadata (llama.cpp's load()).
  if (v.kind == Kind::kSpm) {
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
    for (TokenId* id : {&v.bos, &v.eos, &v.unk}) {
      if (static_cast<size_t>(*id) >= n) *id = -1;
    }
  } else {
    v.add_bos = add_bos_default;
  }
  read_id(f, "tokenizer.ggml.bos_token_id", v.bos, n);
  read_id(f, "tokenizer.ggml.eos_token_id", v.eos, n);
  read_id(f, "tokenizer.ggml.eot_token_id", v.eot, n);
  read_id(f, "tokenizer.ggml.eom_token_id", v.eom, n);
  read_id(f, "tokenizer.ggml.unknown_token_id", v.unk, n);
  read_id(f, "tokenizer.ggml.padding_token_id", v.pad, n);
  read_bool(f, "tokenizer.ggml.add_bos_token", v.add_bos);
  read_bool(f, "tokenizer.ggml.add_eos_token", v.add_eos);
  if (v.kind == Kind::kSpm) read_bool(f, "tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  if (v.add_bos && v.bos < 0) {
    fail("%s: tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set",
         f.path().c_str());
  }
  if (v.add_eos && v.eos < 0) {
    fail("%s: tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set",
         f.path().c_str());
  }

  mark_special_by_text(f, v);
  build_special(v);

  // Per-model attributes llama.cpp sets by name: Phi-3 strips whitespace after
  // its special tokens.
  std::string name;
  if (const GgufValue* g = f.find("general.name")) name = g->as_string("general.name");
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (TokenId id : v.special) v.attr[id] |= kAttrRstrip;
    if (TokenId id = v.find("</s>"); id >= 0) v.attr[id] |= kAttrRstrip;
    for (const char* t : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (TokenId id = v.find(t); id >= 0) v.attr[id] &= ~kAttrRstrip;
    }
  }
  return v;
}

std::vector<Fragment> split_special(const Vocab& v, std::string_view text, bool parse_special) {
  std::vector<Fragment> out;
  if (text.empty()) return out;
  const uint32_t skip = parse_special ? 0u : (kAttrControl | kAttrUnknown);

  // Every occurrence of every eligible special token: (rank, position).
  std::vector<std::pair<uint32_t, uint32_t>> occ;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    uint32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = v.trie_edges.find((uint64_t{node} << 8) | static_cast<unsigned char>(text[i]));
      if (it == v.trie_edges.end()) break;
      node = it->second;
      TokenId id = v.trie_token[node];
      if (id >= 0 && !(v.attr[id] & skip)) {
        occ.emplace_back(v.special_rank[id], static_cast<uint32_t>(pos));
      }
    }
  }
  if (occ.empty()) {
    out.push_back({0, text.size(), -1});
    return out;
  }
  std::sort(occ.begin(), occ.end());

  // Take tokens longest first; an occurrence is cut out if all its bytes are still
  // raw text. Stripped whitespace is claimed too (it disappears).
  enum : uint8_t { kRaw = 0, kTokenStart = 1, kTokenRest = 2, kStripped = 3 };
  std::vector<uint8_t> state(text.size(), kRaw);
  std::unordered_map<uint32_t, TokenId> start_token;
  for (auto [rank, pos] : occ) {
    TokenId id = v.special[rank];
    size_t len = v.text[id].size();
    bool free = true;
    for (size_t i = pos; i < pos + len; ++i) {
      if (state[i] != kRaw) {
        free = false;
        break;
      }
    }
    if (!free) continue;
    state[pos] = kTokenStart;
    for (size_t i = pos + 1; i < pos + len; ++i) state[i] = kTokenRest;
    start_token[pos] = id;
    if (v.attr[id] & kAttrLstrip) {
      for (size_t i = pos;
           i > 0 && state[i - 1] == kRaw && std::isspace(static_cast<unsigned char>(text[i - 1]));
           --i) {
        state[i - 1] = kStripped;
      }
    }
    if (v.attr[id] & kAttrRstrip) {
      for (size_t i = pos + len;
           i < text.size() && state[i] == kRaw && std::isspace(static_cast<unsigned char>(text[i]));
           ++i) {
        state[i] = kStripped;
      }
    }
  }

  size_t raw_begin = 0;
  bool in_raw = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    bool raw = i < text.size() && state[i] == kRaw;
    if (raw && !in_raw) {
      raw_begin = i;
      in_raw = true;
    } else if (!raw && in_raw) {
      out.push_back({raw_begin, i, -1});
      in_raw = false;
    }
    if (i < text.size() && state[i] == kTokenStart) {
      TokenId id = start_token.at(static_cast<uint32_t>(i));
      out.push_back({i, i + v.text[id].size(), id});
    }
  }
  return out;
}

}  // namespace pivot::tok
