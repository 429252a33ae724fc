// Template values: the Python objects a Jinja chat template sees.
//
// Values mirror Python's data model as jinja2 exposes it to HF chat templates:
// undefined (jinja2.Undefined, carrying the reason it is undefined), None, bool,
// int (int64), float (double), str (UTF-8), list/tuple, dict (insertion-ordered),
// namespace (the one mutable object) and callables (macros, globals, bound
// methods). Lists and dicts are immutable once built (HF renders in an
// ImmutableSandboxedEnvironment), so they are shared, not copied.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pivot::tpl {

// Internal error with a source offset; ChatTemplate turns it into pivot::Error
// with line and column. pos == kNoPos means "wherever the caller is".
inline constexpr size_t kNoPos = static_cast<size_t>(-1);
struct TemplateError : std::runtime_error {
  TemplateError(size_t p, const std::string& msg) : std::runtime_error(msg), pos(p) {}
  size_t pos;
};
[[noreturn]] inline void raise(const std::string& msg, size_t pos = kNoPos) {
  throw TemplateError(pos, msg);
}

class Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<Value, Value>>;  // insertion order, small: linear lookup

struct Undefined {
  std::string hint;  // "'x' is undefined" or "'dict object' has no attribute 'y'"
};
struct None {};
struct Str {
  std::string s;
  bool markup = false;  // markupsafe.Markup (from |safe, |escape): `+` escapes plain operands
};
struct ListBox {
  List items;
  bool tuple = false;
  bool generator = false;  // what map/select/... return: truthy, no len(), not JSON
};
struct DictBox {
  Dict items;
  bool ns = false;  // namespace(): attribute-assignable, prints as <Namespace ...>
};
struct Args;
struct Callable {
  std::string name;
  std::function<Value(Args&)> fn;
};

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict, Callable };

  Value() : v_(None{}) {}
  Value(None) : v_(None{}) {}
  Value(Undefined u) : v_(std::move(u)) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(int64_t i) : v_(i) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(Str{std::move(s)}) {}
  Value(const char* s) : v_(Str{std::string(s)}) {}
  Value(List l, bool tuple = false) : v_(std::make_shared<ListBox>(ListBox{std::move(l), tuple})) {}
  Value(Dict d) : v_(std::make_shared<DictBox>(DictBox{std::move(d), false})) {}
  Value(std::shared_ptr<DictBox> d) : v_(std::move(d)) {}
  Value(Callable c) : v_(std::make_shared<Callable>(std::move(c))) {}

  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  static Value markup(std::string s) {
    Value v;
    v.v_ = Str{std::move(s), true};
    return v;
  }
  static Value generator(List l) {
    Value v(std::move(l));
    std::get<6>(v.v_)->generator = true;
    return v;
  }
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_bool() const { return kind() == Kind::Bool; }
  bool is_int() const { return kind() == Kind::Int; }
  bool is_float() const { return kind() == Kind::Float; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::List; }
  bool is_dict() const { return kind() == Kind::Dict; }
  bool is_namespace() const { return is_dict() && std::get<7>(v_)->ns; }
  bool is_mapping() const { return is_dict() && !is_namespace(); }
  bool is_callable() const { return kind() == Kind::Callable; }

  bool as_bool() const { return std::get<2>(v_); }
  int64_t as_int() const { return std::get<3>(v_); }
  double as_float() const { return std::get<4>(v_); }
  double as_number() const;  // bool, int or float as double
  const std::string& str() const { return std::get<5>(v_).s; }
  bool is_markup() const { return is_string() && std::get<5>(v_).markup; }
  const List& list() const { return std::get<6>(v_)->items; }
  bool is_tuple() const { return std::get<6>(v_)->tuple; }
  bool is_generator() const { return is_list() && std::get<6>(v_)->generator; }
  bool is_sequence() const { return is_list() && !is_generator(); }
  const Dict& dict() const { return std::get<7>(v_)->items; }
  DictBox& dict_box() const { return *std::get<7>(v_); }
  const Callable& callable() const { return *std::get<8>(v_); }
  const std::string& undefined_hint() const { return std::get<0>(v_).hint; }

  // Python semantics.
  bool truthy() const;
  const Value* find(const Value& key) const;  // dict lookup; nullptr if absent
  const Value* find(std::string_view key) const;
  std::string type_name() const;  // "dict", "str", "list", ... as Python names them

  std::string to_str() const;  // str(x); jinja2 prints undefined as ""
  std::string repr() const;    // repr(x)
  // json.dumps(x, ensure_ascii=False, indent, separators, sort_keys) as HF's tojson.
  std::string to_json(int indent, const std::string& item_sep, const std::string& key_sep,
                      bool sort_keys) const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<Undefined, None, bool, int64_t, double, Str, std::shared_ptr<ListBox>,
               std::shared_ptr<DictBox>, std::shared_ptr<Callable>>
      v_;
};

// Arguments of a call: positional then keyword, as written.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  size_t call_pos = kNoPos;  // where the call is, for errors

  // The i-th positional argument or the keyword `name`, else `def`.
  Value get(size_t i, std::string_view name, Value def = Value::undefined("")) const;
  bool has(size_t i, std::string_view name) const;
};

// Python's ordering for sort/min/max and < <= > >=; raises on unorderable types.
int compare(const Value& a, const Value& b, size_t pos);
std::string python_float_repr(double d);

}  // namespace pivot::tpl
