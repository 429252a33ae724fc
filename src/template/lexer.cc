// Template lexer (see lexer.h). Mirrors jinja2/lexer.py's rules for the
// default delimiters with trim_blocks=True and lstrip_blocks=True.
#include "lexer.h"

#include <cstring>

#include "text.h"
#include "value.h"

namespace pivot::tpl {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python's str.rstrip() / \s over UTF-8: returns the length without trailing whitespace.
size_t rstrip_len(const std::string& s) {
  std::u32string u = text::decode(s);
  size_t e = u.size();
  while (e > 0 && text::is_space(u[e - 1])) --e;
  return text::encode(std::u32string_view(u).substr(0, e)).size();
}

bool all_space(std::string_view s) {
  if (s.empty()) return false;
  for (char32_t c : text::decode(s))
    if (!text::is_space(c)) return false;
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's unicode-escape decoding of a string literal's body.
std::string unescape(std::string_view s, size_t pos) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
      case '\n':
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        char32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          int h = i + 1 + k < s.size() ? hexval(s[i + 1 + k]) : -1;
          if (h < 0) raise("invalid \\" + std::string(1, c) + " escape in string literal", pos);
          cp = cp * 16 + h;
        }
        if (cp > 0x10FFFF) raise("illegal Unicode character in string literal", pos);
        text::append_utf8(out, cp);
        i += n;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          char32_t cp = 0;
          size_t k = 0;
          while (k < 3 && i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7')
            cp = cp * 8 + (s[i + k++] - '0');
          text::append_utf8(out, cp);
          i += k - 1;
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(const std::string& src) : s_(src) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < s_.size()) {
      size_t p = find_tag(pos);
      std::string txt = s_.substr(pos, p - pos);
      if (p == s_.size()) {
        emit_text(txt, pos);
        break;
      }
      char type = s_[p + 1];  // '{', '%' or '#'
      char sign = p + 2 < s_.size() ? s_[p + 2] : 0;
      if (sign == '-') {
        txt.resize(rstrip_len(txt));
      } else if (sign != '+' && type != '{') {
        size_t l_pos = txt.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && all_space(std::string_view(txt).substr(l_pos)))
          txt.resize(l_pos);
      }
      emit_text(txt, pos);
      size_t body = p + 2 + (sign == '-' || sign == '+');
      if (type == '#') {
        pos = end_comment(p, body);
      } else if (type == '%' && is_raw(body)) {
        pos = raw_block(p, body);
      } else {
        pos = tag(p, body, type == '%');
      }
      line_starting = pos > 0 && s_[pos - 1] == '\n';
    }
    out_.push_back({Tok::kEof, "", s_.size()});
    return std::move(out_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < s_.size(); ++i)
      if (s_[i] == '{' && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    return s_.size();
  }

  void emit_text(const std::string& t, size_t pos) {
    if (!t.empty()) out_.push_back({Tok::kText, t, pos});
  }

  // After a block or comment end: `-` eats all whitespace, `+` nothing, else one newline.
  size_t after_end(size_t q, char sign, bool trim) {
    if (sign == '-') {
      while (q < s_.size() && is_ws_py(q)) q += char_len(q);
    } else if (trim && sign != '+' && q < s_.size() && s_[q] == '\n') {
      ++q;
    }
    return q;
  }

  bool is_ws_py(size_t q) const {
    std::u32string u = text::decode(std::string_view(s_).substr(q, char_len(q)));
    return !u.empty() && text::is_space(u[0]);
  }
  size_t char_len(size_t q) const {
    unsigned char c = static_cast<unsigned char>(s_[q]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    return std::min(n, s_.size() - q);
  }

  size_t end_comment(size_t start, size_t body) {
    size_t e = s_.find("#}", body);
    if (e == std::string::npos) raise("Missing end of comment tag", start);
    char sign = e > body && s_[e - 1] == '-' ? '-' : 0;
    return after_end(e + 2, sign, true);
  }

  // `{% raw %}` ... `{% endraw %}`: everything in between is text.
  bool is_raw(size_t body) const {
    size_t q = body;
    while (q < s_.size() && is_ws(s_[q])) ++q;
    if (s_.compare(q, 3, "raw") != 0) return false;
    q += 3;
    while (q < s_.size() && is_ws(s_[q])) ++q;
    return s_.compare(q, 2, "%}") == 0 || s_.compare(q, 3, "-%}") == 0;
  }

  size_t raw_block(size_t start, size_t body) {
    size_t q = s_.find("%}", body);
    char sign = s_[q - 1] == '-' ? '-' : 0;
    size_t content = after_end(q + 2, sign, false);
    for (size_t e = s_.find("{%", content); e != std::string::npos; e = s_.find("{%", e + 2)) {
      size_t r = e + 2;
      char esign = r < s_.size() && (s_[r] == '-' || s_[r] == '+') ? s_[r++] : 0;
      while (r < s_.size() && is_ws(s_[r])) ++r;
      if (s_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < s_.size() && is_ws(s_[r])) ++r;
      char tsign = 0;
      if (r < s_.size() && (s_[r] == '-' || s_[r] == '+')) tsign = s_[r++];
      if (s_.compare(r, 2, "%}") != 0) continue;
      std::string txt = s_.substr(content, e - content);
      if (esign == '-') txt.resize(rstrip_len(txt));
      emit_text(txt, content);
      return after_end(r + 2, tsign, true);
    }
    raise("Missing end of raw directive", start);
  }

  size_t tag(size_t start, size_t q, bool block) {
    out_.push_back({block ? Tok::kBlockBegin : Tok::kVarBegin, "", start});
    int balance = 0;
    const char* close = block ? "%}" : "}}";
    while (true) {
      while (q < s_.size() && is_ws(s_[q])) ++q;
      if (q >= s_.size())
        raise(block ? "unexpected end of template, expected end of statement block ('%}')"
                    : "unexpected end of template, expected end of print statement ('}}')",
              start);
      if (balance == 0) {
        char sign = s_[q] == '-' || s_[q] == '+' ? s_[q] : 0;
        if (s_.compare(q + (sign ? 1 : 0), 2, close) == 0 && !(sign == '+' && !block)) {
          out_.push_back({block ? Tok::kBlockEnd : Tok::kVarEnd, "", q});
          return after_end(q + (sign ? 3 : 2), sign, block);
        }
      }
      char c = s_[q];
      if (is_digit(c)) {
        q = number(q);
      } else if (is_name_start(c)) {
        size_t e = q;
        while (e < s_.size() && (is_name_start(s_[e]) || is_digit(s_[e]))) ++e;
        out_.push_back({Tok::kName, s_.substr(q, e - q), q});
        q = e;
      } else if (c == '\'' || c == '"') {
        size_t e = q + 1;
        while (e < s_.size() && s_[e] != c) e += s_[e] == '\\' ? 2 : 1;
        if (e >= s_.size()) raise("unexpected end of string", q);
        out_.push_back(
            {Tok::kString, unescape(std::string_view(s_).substr(q + 1, e - q - 1), q), q});
        q = e + 1;
      } else {
        static const char* kOps2[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* o : kOps2)
          if (s_.compare(q, 2, o) == 0) op = o;
        if (op.empty() && std::strchr("+-/*%~[](){}<>=.:|,;", c)) op = std::string(1, c);
        if (op.empty()) raise(std::string("unexpected char '") + c + "'", q);
        if (op == "(" || op == "[" || op == "{") ++balance;
        if (op == ")" || op == "]" || op == "}") {
          if (balance == 0) raise("unexpected '" + op + "'", q);
          --balance;
        }
        out_.push_back({Tok::kOp, op, q});
        q += op.size();
      }
    }
  }

  size_t number(size_t q) {
    auto digits = [&](size_t e) {
      while (e < s_.size() &&
             (is_digit(s_[e]) || (s_[e] == '_' && e + 1 < s_.size() && is_digit(s_[e + 1]))))
        ++e;
      return e;
    };
    if (s_[q] == '0' && q + 2 < s_.size() && std::strchr("xXoObB", s_[q + 1])) {
      int base = std::strchr("xX", s_[q + 1]) ? 16 : std::strchr("oO", s_[q + 1]) ? 8 : 2;
      size_t e = q + 2;
      std::string t;
      for (; e < s_.size() && (s_[e] == '_' || (hexval(s_[e]) >= 0 && hexval(s_[e]) < base)); ++e)
        if (s_[e] != '_') t += s_[e];
      if (t.empty()) raise("invalid integer literal", q);
      Token tok{Tok::kInt, t, q};
      try {
        tok.ival = std::stoll(t, nullptr, base);
      } catch (const std::exception&) {
        raise("integer literal out of range", q);
      }
      out_.push_back(tok);
      return e;
    }
    bool after_dot = q > 0 && s_[q - 1] == '.';  // foo.0.1 is two subscripts
    size_t e = digits(q);
    bool is_float = false;
    if (!after_dot && e + 1 < s_.size() && s_[e] == '.' && is_digit(s_[e + 1])) {
      e = digits(e + 1);
      is_float = true;
    }
    if (!after_dot && e < s_.size() && (s_[e] == 'e' || s_[e] == 'E')) {
      size_t f = e + 1;
      if (f < s_.size() && (s_[f] == '+' || s_[f] == '-')) ++f;
      if (f < s_.size() && is_digit(s_[f])) {
        e = digits(f);
        is_float = true;
      }
    }
    std::string t;
    for (size_t i = q; i < e; ++i)
      if (s_[i] != '_') t += s_[i];
    Token tok{is_float ? Tok::kFloat : Tok::kInt, t, q};
    try {
      if (is_float)
        tok.fval = std::stod(t);
      else
        tok.ival = std::stoll(t);
    } catch (const std::exception&) {
      if (is_float) raise("number out of range", q);
      tok.kind = Tok::kFloat;  // Python ints are unbounded; a float is the closest we have
      tok.fval = std::stod(t);
    }
    out_.push_back(tok);
    return e;
  }

  const std::string& s_;
  std::vector<Token> out_;
};

}  // namespace

std::string normalize_newlines(const std::string& s) {
  // jinja2 splits on \r\n, \r and \n, joins with \n and drops one trailing break.
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

std::vector<Token> lex(const std::string& src) {
  return Lexer(src).run();
}

}  // namespace pivot::tpl
