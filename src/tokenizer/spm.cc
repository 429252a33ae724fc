#include "spm.h"

#include <algorithm>
#include <cstdio>

#include "utf8.h"

namespace pivot::tok {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

struct Sym {
  int32_t prev, next;
  uint32_t begin, len;  // bytes of the escaped text
};

struct Candidate {
  float score;
  int32_t left, right;
  uint32_t size;
  // Max-heap on score, then the leftmost.
  bool operator<(const Candidate& o) const {
    return score != o.score ? score < o.score : left > o.left;
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab) : TokenizerBase(std::move(vocab)) {
  byte_token_.assign(256, vocab_.unk);
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    TokenId id = vocab_.find(hex);
    if (id < 0) id = vocab_.find(std::string(1, static_cast<char>(b)));
    if (id >= 0) byte_token_[b] = id;
  }
  build_pieces();
}

std::string SpmTokenizer::normal_piece(const std::string& text) const {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

void SpmTokenizer::encode_fragment(std::string_view raw, bool after_special,
                                   std::vector<TokenId>& out) const {
  std::string text;
  text.reserve(raw.size() + raw.size() / 4 + 4);
  if (vocab_.add_space_prefix && after_special) text += kSpace;
  for (char c : raw) {
    if (c == ' ') {
      text += kSpace;
    } else {
      text += c;
    }
  }
  if (text.empty()) return;

  std::vector<Sym> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    size_t len = std::min(utf8_lead_len(static_cast<uint8_t>(text[off])), text.size() - off);
    auto idx = static_cast<int32_t>(syms.size());
    syms.push_back({idx - 1, off + len < text.size() ? idx + 1 : -1, static_cast<uint32_t>(off),
                    static_cast<uint32_t>(len)});
    off += len;
  }

  std::vector<Candidate> heap;
  auto add_candidate = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    std::string_view s(text.data() + syms[l].begin, syms[l].len + syms[r].len);
    TokenId id = vocab_.find(s);
    if (id < 0) return;
    heap.push_back({vocab_.score[id], l, r, static_cast<uint32_t>(s.size())});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) add_candidate(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Candidate c = heap.back();
    heap.pop_back();
    Sym& l = syms[c.left];
    Sym& r = syms[c.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != c.size) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    add_candidate(l.prev, c.left);
    add_candidate(c.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[i].next) {
    std::string_view s(text.data() + syms[i].begin, syms[i].len);
    TokenId id = vocab_.find(s);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char b : s) {
      TokenId bt = byte_token_[static_cast<uint8_t>(b)];
      if (bt >= 0) out.push_back(bt);  // no byte token and no <unk>: the byte is dropped
    }
  }
}

}  // namespace pivot::tok
