// UTF-8 helpers and GPT-2's byte-level alphabet, shared by the tokenizers.
//
// Invalid UTF-8: a byte that does not start a well-formed sequence (stray
// continuation byte, truncated sequence, overlong form, surrogate, > U+10FFFF) is
// one invalid byte; sanitize_utf8() replaces each with U+FFFD. llama_utf8() reads
// text the looser way llama.cpp does (see there). Nothing here reads past the end
// of its input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pivot::tok {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Length of the sequence a lead byte announces (1 for ASCII and for bytes that
// cannot start a sequence), as llama.cpp's unicode_len_utf8.
inline size_t utf8_lead_len(uint8_t c) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[c >> 4];
}

// Length of the well-formed sequence starting at s[0] (1-4), or 0 if s[0] starts
// none (including a sequence cut off by the end of `s`).
size_t utf8_valid_len(std::string_view s);

// Decodes the well-formed sequence of length `len` (from utf8_valid_len) at s.
uint32_t utf8_decode(const char* s, size_t len);

void append_utf8(std::string& out, uint32_t cp);

// `s` with each invalid byte replaced by U+FFFD; returns `s` unchanged (no copy
// into `buf`) when it is already valid.
std::string_view sanitize_utf8(std::string_view s, std::string& buf);

// Text as llama.cpp's unicode_cpts_from_utf8 + unicode_cpt_to_utf8 see it: a
// lead byte followed by enough continuation bytes is one code point even when
// overlong or a surrogate, re-encoded in shortest form (so "\xC0\xAF" is "/");
// each byte that starts no such sequence becomes U+FFFD, and so does each byte of
// a sequence above U+10FFFF (on which llama.cpp fails). Returns `s` itself when it
// is well-formed. The result may hold surrogates (ED A0..BF xx).
std::string_view llama_utf8(std::string_view s, std::string& buf);

// `s` with each encoded surrogate replaced by U+FFFD (same length), for PCRE2,
// which only takes well-formed UTF-8; returns `s` itself when there is none.
std::string_view without_surrogates(std::string_view s, std::string& buf);

// Number of bytes at the end of `s` that form an incomplete but so far valid
// sequence (0-3): what a streaming decoder must hold back.
size_t utf8_incomplete_tail(std::string_view s);

// GPT-2's bytes_to_unicode(): every byte maps to one printable code point
// (printable Latin-1 to itself, the rest to U+0100 + n, in byte order).
uint32_t byte_to_codepoint(uint8_t b);
// Inverse; -1 for a code point outside the alphabet.
int codepoint_to_byte(uint32_t cp);

// Raw bytes of a byte-level BPE vocabulary entry. Returns false (and leaves
// `out` unspecified) if `text` has a character outside the alphabet.
bool byte_level_decode(std::string_view text, std::string& out);

}  // namespace pivot::tok
