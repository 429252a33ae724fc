#include "utf8.h"

#include <array>

namespace pivot::tok {

namespace {

// Sequence length a lead byte starts and the allowed range of its second byte
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF); 0 if `c` is
// not a lead byte.
size_t lead_info(uint8_t c, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) {
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    return 4;
  }
  return 0;
}

// Whether p[0..avail) is a well-formed (possibly incomplete) start of a sequence
// of length n with second-byte range [lo, hi].
bool valid_prefix(const uint8_t* p, size_t avail, uint8_t lo, uint8_t hi) {
  if (avail >= 2 && (p[1] < lo || p[1] > hi)) return false;
  for (size_t i = 2; i < avail; ++i) {
    if ((p[i] & 0xC0) != 0x80) return false;
  }
  return true;
}

}  // namespace

size_t utf8_valid_len(std::string_view s) {
  if (s.empty()) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  if (p[0] < 0x80) return 1;
  uint8_t lo, hi;
  size_t n = lead_info(p[0], lo, hi);
  if (n == 0 || s.size() < n || !valid_prefix(p, n, lo, hi)) return 0;
  return n;
}

uint32_t utf8_decode(const char* s, size_t len) {
  const auto* p = reinterpret_cast<const uint8_t*>(s);
  switch (len) {
    case 1:
      return p[0];
    case 2:
      return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    case 3:
      return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    default:
      return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
             (p[3] & 0x3Fu);
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string_view sanitize_utf8(std::string_view s, std::string& buf) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8_valid_len(s.substr(i));
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return s;
  buf.assign(s.data(), i);
  while (i < s.size()) {
    size_t n = utf8_valid_len(s.substr(i));
    if (n == 0) {
      append_utf8(buf, kReplacementChar);
      ++i;
    } else {
      buf.append(s.data() + i, n);
      i += n;
    }
  }
  return buf;
}

std::string_view llama_utf8(std::string_view s, std::string& buf) {
  std::string scratch;
  if (sanitize_utf8(s, scratch).data() == s.data()) return s;  // well-formed
  buf.clear();
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = p[i];
    size_t n = c < 0x80 ? 1 : c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    uint32_t cp = ok ? utf8_decode(s.data() + i, n) : 0;
    if (!ok || cp > 0x10FFFF) {
      append_utf8(buf, kReplacementChar);
      ++i;
      continue;
    }
    append_utf8(buf, cp);
    i += n;
  }
  return buf;
}

std::string_view without_surrogates(std::string_view s, std::string& buf) {
  size_t at = std::string_view::npos;
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (static_cast<uint8_t>(s[i]) == 0xED && static_cast<uint8_t>(s[i + 1]) >= 0xA0) {
      at = i;
      break;
    }
  }
  if (at == std::string_view::npos) return s;
  buf.assign(s);
  for (size_t i = at; i + 2 < buf.size(); ++i) {
    if (static_cast<uint8_t>(buf[i]) == 0xED && static_cast<uint8_t>(buf[i + 1]) >= 0xA0) {
      buf.replace(i, 3, "\xEF\xBF\xBD");
      i += 2;
    }
  }
  return buf;
}

size_t utf8_incomplete_tail(std::string_view s) {
  // A held tail starts at the last lead byte within 3 bytes of the end.
  const auto* end = reinterpret_cast<const uint8_t*>(s.data() + s.size());
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const uint8_t* p = end - back;
    if ((p[0] & 0xC0) == 0x80) continue;  // continuation byte: keep looking
    uint8_t lo, hi;
    size_t n = lead_info(p[0], lo, hi);
    return n > back && valid_prefix(p, back, lo, hi) ? back : 0;
  }
  return 0;
}

namespace {

struct ByteTables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // code points 0..323 cover the alphabet
  ByteTables() {
    to_byte.fill(-1);
    uint32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_cp[b] = printable ? static_cast<uint32_t>(b) : 256 + n++;
      to_byte[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteTables& byte_tables() {
  static const ByteTables t;  // immutable after first use
  return t;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t b) {
  return byte_tables().to_cp[b];
}

int codepoint_to_byte(uint32_t cp) {
  return cp < byte_tables().to_byte.size() ? byte_tables().to_byte[cp] : -1;
}

bool byte_level_decode(std::string_view text, std::string& out) {
  out.clear();
  size_t i = 0;
  while (i < text.size()) {
    size_t n = utf8_valid_len(text.substr(i));
    if (n == 0) return false;
    int b = codepoint_to_byte(utf8_decode(text.data() + i, n));
    if (b < 0) return false;
    out += static_cast<char>(b);
    i += n;
  }
  return true;
}

}  // namespace pivot::tok
