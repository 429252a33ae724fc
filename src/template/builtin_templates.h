// Chat templates pivot supplies for model files that ship none
// (no tokenizer.chat_template), chosen by general.architecture.
//
// Each is written here from the model family's documented turn format (not
// copied from the vendor's Jinja) and must render what the vendor's template
// renders for plain text conversations; tests/unit/template_test.cc checks that
// against jinja2 goldens.
#pragma once

#include <string_view>

namespace pivot::tpl {

struct BuiltinTemplate {
  std::string_view arch;    // general.architecture it serves
  std::string_view label;   // for messages: "Gemma (<start_of_turn> turns)"
  std::string_view source;  // Jinja
};

// The built-in template for `arch`, or nullptr (the caller falls back to ChatML).
const BuiltinTemplate* builtin_template(std::string_view arch);

}  // namespace pivot::tpl
