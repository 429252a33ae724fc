#include "pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>

#include "pivot/error.h"
#include "utf8.h"

namespace pivot::tok {
namespace {

// The patterns are llama.cpp's (llm_tokenizer_bpe), byte for byte, except where
// a comment says otherwise.
const char* const kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kPoro = " ?[^(\\s|.,!?…。，、।۔،)]+";

// llama.cpp matches patterns without \p{..} (std::wregex) on text whose non-ASCII
// white space was replaced by U+000B, so such characters never match an explicit
// class there; the two ranges below that contain white space are written to
// exclude it: U+3000 is dropped from "　-。", and the CJK class is guarded by (?!\s).
const char* const kDeepseekCjk = "(?:(?!\\s)[一-龥ࠀ-一가-퟿])+";

struct Entry {
  std::vector<std::string_view> names;  // names[0] is canonical
  std::vector<std::string> patterns;
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::vector<Entry>& table() {
  // Long UTF-8 regex literals: clang-format 14 re-splits them on every run.
  // clang-format off
  static const std::vector<Entry> t = {
      {{"default"}, {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}},
      {{"gpt-2",      "gpt2",       "phi-2",           "mpt",         "olmo",
        "jais",       "jina-es",    "jina-de",         "gigachat",    "jina-v2-es",
        "jina-v2-de", "jina-v1-en", "jina-v2-code",    "roberta-bpe", "a.x-4.0",
        "mellum",     "trillion",   "granite-docling", "exaone4",     "modern-bert"},
       {kGpt2}},
      {{"llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
       {kLlama3},
       true,
       true},
      {{"dbrx", "smaug-bpe"}, {kLlama3}},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez"}, {kQwen2}},
      {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"},
       {"\\p{N}", kGpt2}},
      {{"deepseek-llm"},
       {"[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-"
        "ᲺᲽ-"
        "Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼ"
        "ιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-"
        "ﬆﬓ-"
        "ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟、-。]+", "\\s+$", kDeepseekCjk, "\\p{N}+"}},
      {{"deepseek-coder"}, {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kDeepseekCjk, "\\p{N}"}},
      {{"falcon"}, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"}},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kPoro}},
      {{"viking"}, {kPoro, "\\p{N}"}},
  };
  // clang-format on
  return t;
}

std::vector<PreTokenizerSpec> make_specs() {
  std::vector<PreTokenizerSpec> specs;
  for (const Entry& e : table()) {
    specs.push_back({std::string(e.names[0]), e.patterns, e.ignore_merges, e.add_bos});
  }
  return specs;
}

const std::vector<PreTokenizerSpec>& specs() {
  static const std::vector<PreTokenizerSpec> s = make_specs();
  return s;
}

// Unicode White_Space: what llama.cpp's tables (and Python's \s) call white space.
// PCRE2's own \s also matches U+180E.
constexpr const char* kWhiteSpace = "\\t-\\r\\x{85}\\p{Z}";

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre) {
  const auto& t = table();
  for (size_t i = 0; i < t.size(); ++i) {
    for (std::string_view n : t[i].names) {
      if (n == pre) return &specs()[i];
    }
  }
  return nullptr;
}

const PreTokenizerSpec& default_pre_tokenizer() {
  return specs()[0];
}

std::string white_space_pattern(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else if (e == 'S') {
        fail("pre-tokenizer pattern \"%.*s\": \\S inside a class is not supported",
             static_cast<int>(p.size()), p.data());
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];  // a leading ']' is literal
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct PreTokenizer::Compiled {
  pcre2_code* code = nullptr;
  std::string pattern;
  ~Compiled() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(const PreTokenizerSpec& spec) : spec_(spec) {
  for (const std::string& p : spec_.patterns) {
    auto c = std::make_unique<Compiled>();
    c->pattern = white_space_pattern(p);
    int err = 0;
    PCRE2_SIZE err_off = 0;
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(c->pattern.data()), c->pattern.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
    if (!c->code) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(err, msg.data(), msg.size());
      fail("pre-tokenizer \"%s\": pattern \"%s\" at offset %zu: %s", spec_.name.c_str(), p.c_str(),
           static_cast<size_t>(err_off), reinterpret_cast<const char*>(msg.data()));
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if it fails
    regexes_.push_back(std::move(c));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

namespace {

struct MatchScratch {
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* big = nullptr;  // with a large JIT stack, made on first need
  pcre2_jit_stack* stack = nullptr;
  ~MatchScratch() {
    pcre2_match_data_free(md);
    pcre2_match_context_free(big);
    pcre2_jit_stack_free(stack);
  }
};

// One match in subject[offset..len); false if none. Retries once with a 64 MiB
// JIT stack (then the interpreter) before giving up with pivot::Error.
bool match_one(const pcre2_code* code, const std::string& pattern, std::string_view subject,
               size_t offset, MatchScratch& s, size_t& ms, size_t& me) {
  auto run = [&](pcre2_match_context* ctx, uint32_t opts) {
    return pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), offset,
                       PCRE2_NO_UTF_CHECK | opts, s.md, ctx);
  };
  int rc = run(nullptr, 0);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
    if (!s.big) {
      s.big = pcre2_match_context_create(nullptr);
      s.stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
      pcre2_jit_stack_assign(s.big, nullptr, s.stack);
    }
    rc = run(s.big, 0);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) rc = run(nullptr, PCRE2_NO_JIT);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    std::array<PCRE2_UCHAR, 256> msg{};
    pcre2_get_error_message(rc, msg.data(), msg.size());
    fail("pre-tokenizer pattern \"%s\" failed at byte %zu of a %zu-byte piece: %s", pattern.c_str(),
         offset, subject.size(), reinterpret_cast<const char*>(msg.data()));
  }
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.md);
  ms = ov[0];
  me = ov[1];
  return true;
}

}  // namespace

void PreTokenizer::split(std::string_view text, std::vector<size_t>& ends) const {
  ends.clear();
  if (text.empty()) return;
  MatchScratch scratch;
  std::vector<size_t> next;
  ends.push_back(text.size());
  for (const auto& re : regexes_) {
    next.clear();
    size_t piece_begin = 0;
    for (size_t piece_end : ends) {
      std::string_view piece = text.substr(piece_begin, piece_end - piece_begin);
      size_t offset = 0, last = 0, ms = 0, me = 0;
      while (offset < piece.size() &&
             match_one(re->code, re->pattern, piece, offset, scratch, ms, me)) {
        if (me == ms) {  // an empty match splits nothing: step over one character
          offset = ms + std::max<size_t>(1, utf8_valid_len(piece.substr(ms)));
          continue;
        }
        if (ms > last) next.push_back(piece_begin + ms);
        next.push_back(piece_begin + me);
        last = offset = me;
      }
      if (last < piece.size()) next.push_back(piece_end);
      piece_begin = piece_end;
    }
    ends.swap(next);
  }
}

}  // namespace pivot::tok
