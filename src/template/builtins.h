// What the evaluator looks up by name: filters, tests, attribute/item access
// (with str/dict/list methods bound as callables) and iteration, each with
// jinja2's (sandboxed) semantics. Errors are TemplateError at `pos`.
#pragma once

#include <string>
#include <vector>

#include "value.h"

namespace pivot::tpl {

// obj.name: attribute first, then item (jinja2's Environment.getattr).
Value get_attr(const Value& obj, const std::string& name, size_t pos);
// obj[key]: item first, then attribute when key is a string (Environment.getitem).
Value get_item(const Value& obj, const Value& key, size_t pos);
// obj[start:stop:step]; null bounds are None.
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step,
                size_t pos);

// Python iteration: list items, dict keys, string characters; undefined is empty.
std::vector<Value> iterate(const Value& v, size_t pos);
int64_t length(const Value& v, size_t pos);                            // len(); undefined is 0
bool contains(const Value& container, const Value& item, size_t pos);  // `item in container`

[[noreturn]] void undefined_error(const Value& u, size_t pos);
// Undefined operand: raise its own message (jinja2's UndefinedError).
inline void check_defined(const Value& v, size_t pos) {
  if (v.is_undefined()) undefined_error(v, pos);
}

// Python's binary operators + - * / // % ** and jinja2's ~.
Value binary_op(const std::string& op, const Value& a, const Value& b, size_t pos);

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& v, Args& args, size_t pos);
bool apply_test(const std::string& name, const Value& v, Args& args, size_t pos);

}  // namespace pivot::tpl
