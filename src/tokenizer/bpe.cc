#include "bpe.h"

#include <algorithm>
#include <limits>

#include "pivot/error.h"
#include "utf8.h"

namespace pivot::tok {
namespace {

constexpr uint32_t kNoSym = std::numeric_limits<uint32_t>::max();
constexpr const char* kMerges = "tokenizer.ggml.merges";

struct Sym {
  uint32_t id;
  int32_t prev, next;
  uint32_t begin, len;  // bytes of the word
};

struct Candidate {
  int32_t rank;
  int32_t left, right;  // symbol indices
  uint32_t left_id, right_id, result;
  // Min-heap on (rank, left): std heap functions build a max-heap, so invert.
  bool operator<(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

// Buffers reused across the words of one encode call.
struct BpeTokenizer::Scratch {
  std::vector<Sym> syms;
  std::vector<Candidate> heap;
};

BpeTokenizer::BpeTokenizer(Vocab vocab, const PreTokenizerSpec& pre, const GgufFile& file)
    : TokenizerBase(std::move(vocab)), pre_(pre) {
  const uint32_t n_vocab = static_cast<uint32_t>(vocab_.size());
  std::string raw;
  raw_to_sym_.reserve(n_vocab * 5 / 4);
  for (uint32_t id = 0; id < n_vocab; ++id) {
    if (byte_level_decode(vocab_.text[id], raw)) raw_to_sym_.emplace(raw, id);
  }
  uint32_t next_sym = n_vocab;
  auto intern = [&](const std::string& s) {
    auto [it, added] = raw_to_sym_.try_emplace(s, static_cast<TokenId>(next_sym));
    if (added) ++next_sym;
    return static_cast<uint32_t>(it->second);
  };

  const GgufArray& merges = file.get(kMerges).as_array(kMerges);
  if (merges.items.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail("%s: %s: too many merges", file.path().c_str(), kMerges);
  }
  merges_.reserve(merges.items.size());
  std::string left, right;
  for (size_t i = 0; i < merges.items.size(); ++i) {
    const std::string& m = merges.items[i].as_string(kMerges);
    size_t sp = m.find(' ', 1);  // as llama.cpp: the first space after the first byte
    if (sp == std::string::npos) continue;
    // A part outside the byte alphabet can never match a piece of text.
    if (!byte_level_decode(std::string_view(m).substr(0, sp), left) ||
        !byte_level_decode(std::string_view(m).substr(sp + 1), right)) {
      continue;
    }
    uint32_t a = intern(left), b = intern(right), ab = intern(left + right);
    merges_.try_emplace(pair_key(a, b), Merge{static_cast<int32_t>(i), ab});  // first rank wins
  }

  byte_sym_.assign(256, kNoSym);
  for (int b = 0; b < 256; ++b) {
    auto it = raw_to_sym_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (it != raw_to_sym_.end()) byte_sym_[b] = static_cast<uint32_t>(it->second);
  }
  build_pieces();
}

std::string BpeTokenizer::normal_piece(const std::string& text) const {
  // Characters outside the byte alphabet (not in a well-formed vocabulary) are
  // kept as they are.
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t n = utf8_valid_len(std::string_view(text).substr(i));
    if (n == 0) {
      out += text[i++];
      continue;
    }
    int b = codepoint_to_byte(utf8_decode(text.data() + i, n));
    if (b >= 0) {
      out += static_cast<char>(b);
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

void BpeTokenizer::encode_word(std::string_view word, Scratch& s, std::vector<TokenId>& out) const {
  const uint32_t n_vocab = static_cast<uint32_t>(vocab_.size());

  if (pre_.spec().ignore_merges) {
    auto it = raw_to_sym_.find(word);
    if (it != raw_to_sym_.end() && static_cast<uint32_t>(it->second) < n_vocab) {
      out.push_back(it->second);
      return;
    }
  }

  auto& syms = s.syms;
  auto& heap = s.heap;
  syms.clear();
  heap.clear();
  const int32_t n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    syms.push_back({byte_sym_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1,
                    static_cast<uint32_t>(i), 1});
  }
  auto add_candidate = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || syms[l].id == kNoSym || syms[r].id == kNoSym) return;
    auto it = merges_.find(pair_key(syms[l].id, syms[r].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, l, r, syms[l].id, syms[r].id, it->second.result});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 1; i < n; ++i) add_candidate(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    Candidate c = heap.back();
    heap.pop_back();
    Sym& l = syms[c.left];
    Sym& r = syms[c.right];
    // Stale: one side was merged away or has grown since this pair was queued.
    if (l.len == 0 || r.len == 0 || l.id != c.left_id || r.id != c.right_id) continue;
    l.id = c.result;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    add_candidate(l.prev, c.left);
    add_candidate(c.left, l.next);
  }

  for (int32_t i = 0; i >= 0 && i < n; i = syms[i].next) {
    const Sym& sym = syms[i];
    if (sym.id < n_vocab) {
      out.push_back(static_cast<TokenId>(sym.id));
      continue;
    }
    // Not a token: llama.cpp looks its characters up one byte at a time, which
    // only finds the single-character tokens of printable ASCII.
    for (uint32_t k = sym.begin; k < sym.begin + sym.len; ++k) {
      auto b = static_cast<uint8_t>(word[k]);
      if (b >= 0x21 && b <= 0x7E && byte_sym_[b] < n_vocab) {
        out.push_back(static_cast<TokenId>(byte_sym_[b]));
      }
    }
  }
}

void BpeTokenizer::encode_fragment(std::string_view text, bool /*after_special*/,
                                   std::vector<TokenId>& out) const {
  std::string buf, buf2;
  std::string_view clean = llama_utf8(text, buf);
  std::vector<size_t> ends;
  pre_.split(without_surrogates(clean, buf2), ends);  // same length as `clean`
  Scratch scratch;

  // Words repeat a lot in real text; remember each one's ids for this call.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::vector<TokenId> cached;
  size_t begin = 0;
  for (size_t end : ends) {
    std::string_view word = clean.substr(begin, end - begin);
    begin = end;
    if (word.size() > 64) {  // long words rarely repeat
      encode_word(word, scratch, out);
      continue;
    }
    auto it = cache.find(word);
    if (it != cache.end()) {
      out.insert(out.end(), cached.begin() + it->second.first,
                 cached.begin() + it->second.first + it->second.second);
      continue;
    }
    size_t before = out.size();
    encode_word(word, scratch, out);
    auto start = static_cast<uint32_t>(cached.size());
    cached.insert(cached.end(), out.begin() + static_cast<ptrdiff_t>(before), out.end());
    cache.emplace(word, std::make_pair(start, static_cast<uint32_t>(out.size() - before)));
  }
}

}  // namespace pivot::tok
