// Template lexer: source text to a flat token stream, applying Hugging Face's
// whitespace settings (trim_blocks, lstrip_blocks) and `-`/`+` whitespace
// control exactly as jinja2's lexer does. The source is first normalized as
// jinja2 does it: every line break (\r\n, \r, \n) becomes \n and one trailing
// line break is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pivot::tpl {

enum class Tok {
  kText,        // literal output
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // text holds the decoded value
  kInt,
  kFloat,
  kOp,  // text holds the operator: + - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }
  kEof,
};

struct Token {
  Tok kind;
  std::string text;
  size_t pos;  // byte offset into the normalized source
  int64_t ival = 0;
  double fval = 0;
};

std::string normalize_newlines(const std::string& source);

// Tokenizes normalized source; throws TemplateError with a position on
// unterminated tags, strings or comments and on unexpected characters.
std::vector<Token> lex(const std::string& src);

}  // namespace pivot::tpl
