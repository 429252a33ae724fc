#include "tokenizer_base.h"

#include <cstdio>

#include "pivot/error.h"
#include "utf8.h"

namespace pivot::tok {

TokenizerBase::TokenizerBase(Vocab vocab) : vocab_(std::move(vocab)) {}

void TokenizerBase::build_pieces() {
  pieces_.resize(vocab_.size());
  for (size_t id = 0; id < vocab_.size(); ++id) {
    uint32_t a = vocab_.attr[id];
    const std::string& t = vocab_.text[id];
    if (a & (kAttrControl | kAttrUnknown | kAttrUserDefined)) {
      pieces_[id] = t;  // special tokens render as their text
    } else if (a & kAttrNormal) {
      pieces_[id] = normal_piece(t);
    } else if (a & kAttrByte) {
      // "<0xNN>"; anything else of type BYTE renders as its text.
      unsigned v = 0;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          std::sscanf(t.c_str() + 3, "%2x", &v) == 1) {
        pieces_[id] = std::string(1, static_cast<char>(v));
      } else {
        pieces_[id] = t;
      }
    }
    // Unused and undefined tokens render as nothing, as in llama.cpp.
  }
}

void TokenizerBase::check_id(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) {
    fail("token id %d is out of range (vocabulary of %zu)", id, vocab_.size());
  }
}

const std::string& TokenizerBase::token_text(TokenId id) const {
  check_id(id);
  return vocab_.text[id];
}

bool TokenizerBase::is_eog(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < vocab_.size() && vocab_.eog[id];
}

std::string TokenizerBase::token_to_piece(TokenId id) const {
  check_id(id);
  return pieces_[id];
}

std::vector<TokenId> TokenizerBase::encode(std::string_view text, bool add_special,
                                           bool parse_special) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
  bool after_special = true;
  for (const Fragment& f : split_special(vocab_, text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_fragment(text.substr(f.begin, f.end - f.begin), after_special, out);
      after_special = false;
    }
  }
  if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
  return out;
}

std::string TokenizerBase::decode(std::span<const TokenId> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    check_id(ids[i]);
    const std::string& p = pieces_[ids[i]];
    // SentencePiece's prefix space comes off the first token (llama_detokenize).
    if (i == 0 && vocab_.add_space_prefix && !p.empty() && p[0] == ' ') {
      out.append(p, 1);
    } else {
      out += p;
    }
  }
  return out;
}

}  // namespace pivot::tok
