// Template evaluator: walks the syntax tree of ast.h over a context of Values
// and produces the rendered text, with jinja2's scoping (a for-loop body and a
// macro body are scopes of their own; namespace() objects are the way out) and
// hard limits so a hostile template cannot hang or exhaust the process.
#pragma once

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "ast.h"
#include "value.h"

namespace pivot::tpl {

struct EvalOptions {
  std::tm now{};                        // what strftime_now() formats
  size_t max_output_bytes = 64u << 20;  // rendered text and any string built on the way
  uint64_t max_steps = 2'000'000;       // statements + loop iterations
  int max_call_depth = 64;              // macro recursion
  size_t max_range = 1u << 20;          // elements range() may produce
};

// Renders `body` with `vars` as the template context (they shadow the globals:
// range, namespace, dict, raise_exception, strftime_now). Throws TemplateError.
std::string render(const Body& body, const std::vector<std::pair<std::string, Value>>& vars,
                   const EvalOptions& opt);

}  // namespace pivot::tpl
