// Filters and tests, as jinja2 3.1 defines them (jinja2/filters.py, tests.py),
// with HF's tojson override: json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "builtins.h"
#include "text.h"

namespace pivot::tpl {
namespace {

using Filter = Value (*)(const Value&, Args&);
using Test = bool (*)(const Value&, Args&);

[[noreturn]] void type_error(const Args& a, const std::string& msg) {
  raise(msg, a.call_pos);
}

bool arg_bool(const Args& a, size_t i, std::string_view name, bool def) {
  return a.get(i, name, Value(def)).truthy();
}

// Attribute path "a.b.0" as jinja2's make_attrgetter resolves it.
Value attr_path(const Value& v, const Value& attr, size_t pos) {
  if (!attr.is_string()) return get_item(v, attr, pos);
  Value cur = v;
  const std::string& s = attr.str();
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = get_item(cur, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part), pos);
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Sort key: strings lower-cased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(text::lower(v.str())) : v;
}

std::vector<Value> sorted(std::vector<Value> items, const Args& a, bool case_sensitive,
                          const Value& attribute, bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& v : items)
    keyed.emplace_back(sort_key(attribute.is_none() || attribute.is_undefined()
                                    ? v
                                    : attr_path(v, attribute, a.call_pos),
                                case_sensitive),
                       v);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    int c = compare(x.first, y.first, a.call_pos);
    return reverse ? c > 0 : c < 0;
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return out;
}

Value f_tojson(const Value& v, Args& a) {
  Value indent = a.get(0, "indent", Value());
  int ind = -1;
  if (indent.is_int())
    ind = static_cast<int>(std::clamp<int64_t>(indent.as_int(), 0, 64));
  else if (!indent.is_none())
    type_error(a, "tojson: indent must be an integer or None");
  std::string item_sep = ind >= 0 ? "," : ", ", key_sep = ": ";
  Value seps = a.get(1, "separators", Value());
  if (seps.is_list() && seps.list().size() == 2 && seps.list()[0].is_string() &&
      seps.list()[1].is_string()) {
    item_sep = seps.list()[0].str();
    key_sep = seps.list()[1].str();
  } else if (!seps.is_none()) {
    type_error(a, "tojson: separators must be a pair of strings");
  }
  std::string out = v.to_json(ind, item_sep, key_sep, arg_bool(a, 2, "sort_keys", false));
  if (!a.get(3, "ensure_ascii", Value(false)).truthy()) return Value(std::move(out));
  std::string esc;
  for (char32_t c : text::decode(out)) {
    if (c < 0x80) {
      esc += static_cast<char>(c);
      continue;
    }
    auto put = [&](unsigned u) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      esc += buf;
    };
    if (c >= 0x10000) {
      put(0xD800 + ((c - 0x10000) >> 10));
      put(0xDC00 + ((c - 0x10000) & 0x3FF));
    } else {
      put(c);
    }
  }
  return Value(std::move(esc));
}

Value f_length(const Value& v, Args& a) {
  return Value(length(v, a.call_pos));
}
Value f_string(const Value& v, Args&) {
  return Value(v.to_str());
}
Value f_upper(const Value& v, Args&) {
  return Value(text::upper(v.to_str()));
}
Value f_lower(const Value& v, Args&) {
  return Value(text::lower(v.to_str()));
}
Value f_title(const Value& v, Args&) {
  return Value(text::title(v.to_str()));
}
Value f_capitalize(const Value& v, Args&) {
  return Value(text::capitalize(v.to_str()));
}
Value f_safe(const Value& v, Args&) {
  return v.is_markup() ? v : Value::markup(v.to_str());
}

Value f_trim(const Value& v, Args& a) {
  Value chars = a.get(0, "chars", Value());
  std::string store = chars.is_string() ? chars.str() : "";
  return Value(text::strip(v.to_str(), chars.is_string() ? &store : nullptr, text::Side::kBoth));
}

Value f_replace(const Value& v, Args& a) {
  Value old = a.get(0, "old"), nw = a.get(1, "new"), count = a.get(2, "count", Value());
  return Value(text::replace(v.to_str(), old.to_str(), nw.to_str(),
                             count.is_int() ? static_cast<long>(count.as_int()) : -1));
}

Value f_default(const Value& v, Args& a) {
  bool boolean = arg_bool(a, 1, "boolean", false);
  if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", Value(""));
  return v;
}

Value f_items(const Value& v, Args& a) {
  if (v.is_undefined()) return Value(List{});
  if (!v.is_mapping()) type_error(a, "Can only get item pairs from a mapping.");
  List out;
  for (const auto& [k, x] : v.dict()) out.emplace_back(List{k, x}, true);
  return Value::generator(std::move(out));
}

Value f_dictsort(const Value& v, Args& a) {
  if (!v.is_mapping()) type_error(a, "You can only sort by either \"key\" or \"value\"");
  bool cs = arg_bool(a, 0, "case_sensitive", false);
  Value by = a.get(1, "by", Value("key"));
  bool reverse = arg_bool(a, 2, "reverse", false);
  int pos = by.is_string() && by.str() == "value" ? 1 : 0;
  List items = f_items(v, a).list();  // a copy: sorted below
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    int c = compare(sort_key(x.list()[pos], cs), sort_key(y.list()[pos], cs), a.call_pos);
    return reverse ? c > 0 : c < 0;
  });
  return Value(std::move(items));
}

Value f_join(const Value& v, Args& a) {
  std::string sep = a.get(0, "d", Value("")).to_str(), out;
  Value attr = a.get(1, "attribute", Value());
  bool first = true;
  for (const Value& x : iterate(v, a.call_pos)) {
    if (!first) out += sep;
    out += (attr.is_none() ? x : attr_path(x, attr, a.call_pos)).to_str();
    first = false;
  }
  return Value(std::move(out));
}

Value f_list(const Value& v, Args& a) {
  return Value(iterate(v, a.call_pos));
}

Value f_first(const Value& v, Args& a) {
  auto items = iterate(v, a.call_pos);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(const Value& v, Args& a) {
  auto items = iterate(v, a.call_pos);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_reverse(const Value& v, Args& a) {
  if (v.is_string()) {
    std::u32string u = text::decode(v.str());
    std::reverse(u.begin(), u.end());
    return Value(text::encode(u));
  }
  auto items = iterate(v, a.call_pos);
  std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Value f_sort(const Value& v, Args& a) {
  return Value(sorted(iterate(v, a.call_pos), a, arg_bool(a, 1, "case_sensitive", false),
                      a.get(2, "attribute", Value()), arg_bool(a, 0, "reverse", false)));
}

Value f_unique(const Value& v, Args& a) {
  bool cs = arg_bool(a, 0, "case_sensitive", false);
  Value attr = a.get(1, "attribute", Value());
  List out, seen;
  for (const Value& x : iterate(v, a.call_pos)) {
    Value k = sort_key(attr.is_none() ? x : attr_path(x, attr, a.call_pos), cs);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
    seen.push_back(k);
    out.push_back(x);
  }
  return Value(std::move(out));
}

Value min_max(const Value& v, Args& a, bool want_max) {
  auto items = sorted(iterate(v, a.call_pos), a, arg_bool(a, 0, "case_sensitive", false),
                      a.get(1, "attribute", Value()), false);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  return want_max ? items.back() : items.front();
}
Value f_max(const Value& v, Args& a) {
  return min_max(v, a, true);
}
Value f_min(const Value& v, Args& a) {
  return min_max(v, a, false);
}

Value f_sum(const Value& v, Args& a) {
  Value attr = a.get(0, "attribute", Value());
  Value total = a.get(1, "start", Value(int64_t{0}));
  for (const Value& x : iterate(v, a.call_pos))
    total = binary_op("+", total, attr.is_none() ? x : attr_path(x, attr, a.call_pos), a.call_pos);
  return total;
}

Value f_int(const Value& v, Args& a) {
  Value def = a.get(0, "default", Value(int64_t{0}));
  Value b = a.get(1, "base", Value(int64_t{10}));
  int64_t base = b.is_int() && b.as_int() >= 2 && b.as_int() <= 36 ? b.as_int() : 10;
  if (v.is_int()) return v;
  if (v.is_bool()) return Value(int64_t{v.as_bool()});
  if (v.is_float()) {
    if (!std::isfinite(v.as_float())) return def;
    return Value(static_cast<int64_t>(std::trunc(v.as_float())));
  }
  if (v.is_string()) {
    std::string s = text::strip(v.str(), nullptr, text::Side::kBoth);
    std::string digits;
    for (char c : s)
      if (c != '_') digits += c;
    try {
      size_t used = 0;
      int64_t r = std::stoll(digits, &used, static_cast<int>(base));
      if (used == digits.size()) return Value(r);
    } catch (const std::exception&) {
    }
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size() && std::isfinite(d)) return Value(static_cast<int64_t>(std::trunc(d)));
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value f_float(const Value& v, Args& a) {
  Value def = a.get(0, "default", Value(0.0));
  if (v.is_number()) return Value(v.as_number());
  if (v.is_string()) {
    std::string s = text::strip(v.str(), nullptr, text::Side::kBoth);
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value f_abs(const Value& v, Args& a) {
  if (v.is_int()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
  if (v.is_bool()) return Value(int64_t{v.as_bool()});
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  type_error(a, "bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_round(const Value& v, Args& a) {
  if (!v.is_number()) type_error(a, "round: number expected");
  Value p = a.get(0, "precision", Value(int64_t{0}));
  int64_t prec = p.is_int() ? std::clamp<int64_t>(p.as_int(), -300, 300) : 0;
  std::string method = a.get(1, "method", Value("common")).to_str();
  double m = std::pow(10.0, static_cast<double>(prec)), x = v.as_number() * m;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::round(x);
  return Value(r / m);
}

Value f_indent(const Value& v, Args& a) {
  Value w = a.get(0, "width", Value(int64_t{4}));
  std::string ind =
      w.is_string()
          ? w.str()
          : std::string(
                static_cast<size_t>(std::clamp<int64_t>(w.is_int() ? w.as_int() : 4, 0, 256)), ' ');
  bool first = arg_bool(a, 1, "first", false), blank = arg_bool(a, 2, "blank", false);
  std::string s = v.to_str() + "\n";
  // Python's str.splitlines boundaries (the common ones).
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r' || s[i] == '\v' || s[i] == '\f') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) rv.append("\n").append(ind);
      rv.append(lines[i]);
    }
  } else if (!lines.empty()) {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv.push_back('\n');
      if (!lines[i].empty()) rv.append(ind);
      rv.append(lines[i]);
    }
  }
  if (first) rv.insert(0, ind);
  return Value(std::move(rv));
}

Value f_center(const Value& v, Args& a) {
  std::string s = v.to_str();
  Value w = a.get(0, "width", Value(int64_t{80}));
  int64_t width = w.is_int() ? std::min<int64_t>(w.as_int(), 1 << 20) : 80;
  int64_t n = static_cast<int64_t>(text::length(s));
  if (width <= n) return Value(s);
  int64_t total = width - n, left = total / 2 + (total & width & 1);
  return Value(std::string(left, ' ') + s + std::string(total - left, ' '));
}

Value f_escape(const Value& v, Args&) {
  if (v.is_markup()) return v;
  std::string out;
  for (char c : v.to_str()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value::markup(std::move(out));
}

Value f_wordcount(const Value& v, Args&) {
  return Value(static_cast<int64_t>(text::split(v.to_str(), nullptr, -1).size()));
}

// "%s" % args: the common printf conversions.
Value f_format(const Value& v, Args& a) {
  std::string fmt = v.to_str(), out;
  size_t n = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) type_error(a, "incomplete format");
    char c = fmt[i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (n >= a.pos.size()) type_error(a, "not enough arguments for format string");
    const Value& x = a.pos[n++];
    if (c == 's')
      out += x.to_str();
    else if (c == 'r')
      out += x.repr();
    else if (c == 'd' || c == 'i')
      out += x.is_number() ? std::to_string(static_cast<int64_t>(x.as_number())) : x.to_str();
    else if (c == 'f') {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%f", x.as_number());
      out += buf;
    } else
      type_error(a, std::string("unsupported format character '") + c + "'");
  }
  return Value(std::move(out));
}

Value f_attr(const Value& v, Args& a) {
  return get_attr(v, a.get(0, "name").to_str(), a.call_pos);
}

// map / select / reject / selectattr / rejectattr share jinja2's argument shapes.
// jinja2's map/select/... iterate only a truthy input: `none | map(...)` is empty.
std::vector<Value> iterate_if(const Value& v, size_t pos) {
  return v.truthy() ? iterate(v, pos) : std::vector<Value>{};
}

Value f_map(const Value& v, Args& a) {
  List out;
  Value attr = a.get(static_cast<size_t>(-1), "attribute");
  if (!attr.is_undefined()) {
    Value def = a.get(static_cast<size_t>(-1), "default");
    for (const Value& x : iterate_if(v, a.call_pos)) {
      Value r = attr_path(x, attr, a.call_pos);
      out.push_back(r.is_undefined() && !def.is_undefined() ? def : r);
    }
    return Value::generator(std::move(out));
  }
  if (a.pos.empty()) type_error(a, "map requires a filter argument");
  std::string name = a.pos[0].to_str();
  Args rest{{a.pos.begin() + 1, a.pos.end()}, a.kw, a.call_pos};
  for (const Value& x : iterate_if(v, a.call_pos)) {
    Args copy = rest;
    out.push_back(apply_filter(name, x, copy, a.call_pos));
  }
  return Value::generator(std::move(out));
}

Value select_impl(const Value& v, Args& a, bool by_attr, bool keep) {
  size_t first = by_attr ? 1 : 0;
  Value attr = by_attr ? a.get(0, "attribute") : Value();
  List out;
  for (const Value& x : iterate_if(v, a.call_pos)) {
    Value item = by_attr ? attr_path(x, attr, a.call_pos) : x;
    bool ok;
    if (a.pos.size() > first) {
      Args targs{{a.pos.begin() + first + 1, a.pos.end()}, {}, a.call_pos};
      ok = apply_test(a.pos[first].to_str(), item, targs, a.call_pos);
    } else {
      ok = item.truthy();
    }
    if (ok == keep) out.push_back(x);
  }
  return Value::generator(std::move(out));
}
Value f_select(const Value& v, Args& a) {
  return select_impl(v, a, false, true);
}
Value f_reject(const Value& v, Args& a) {
  return select_impl(v, a, false, false);
}
Value f_selectattr(const Value& v, Args& a) {
  return select_impl(v, a, true, true);
}
Value f_rejectattr(const Value& v, Args& a) {
  return select_impl(v, a, true, false);
}

const std::map<std::string, Filter, std::less<>>& filters() {
  static const std::map<std::string, Filter, std::less<>> m = {
      {"abs", f_abs},
      {"attr", f_attr},
      {"capitalize", f_capitalize},
      {"center", f_center},
      {"count", f_length},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", f_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"first", f_first},
      {"float", f_float},
      {"format", f_format},
      {"indent", f_indent},
      {"int", f_int},
      {"items", f_items},
      {"join", f_join},
      {"last", f_last},
      {"length", f_length},
      {"list", f_list},
      {"lower", f_lower},
      {"map", f_map},
      {"max", f_max},
      {"min", f_min},
      {"reject", f_reject},
      {"rejectattr", f_rejectattr},
      {"replace", f_replace},
      {"reverse", f_reverse},
      {"round", f_round},
      {"safe", f_safe},
      {"select", f_select},
      {"selectattr", f_selectattr},
      {"sort", f_sort},
      {"string", f_string},
      {"sum", f_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"unique", f_unique},
      {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  return m;
}

// ---- tests ----

bool t_defined(const Value& v, Args&) {
  return !v.is_undefined();
}
bool t_undefined(const Value& v, Args&) {
  return v.is_undefined();
}
bool t_none(const Value& v, Args&) {
  return v.is_none();
}
bool t_boolean(const Value& v, Args&) {
  return v.is_bool();
}
bool t_true(const Value& v, Args&) {
  return v.is_bool() && v.as_bool();
}
bool t_false(const Value& v, Args&) {
  return v.is_bool() && !v.as_bool();
}
bool t_integer(const Value& v, Args&) {
  return v.is_int();
}
bool t_float(const Value& v, Args&) {
  return v.is_float();
}
bool t_number(const Value& v, Args&) {
  return v.is_number();
}
bool t_string(const Value& v, Args&) {
  return v.is_string();
}
bool t_mapping(const Value& v, Args&) {
  return v.is_mapping();
}
bool t_iterable(const Value& v, Args&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_mapping();
}
bool t_sequence(const Value& v, Args&) {
  return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_mapping();
}
bool t_callable(const Value& v, Args&) {
  return v.is_callable();
}
bool t_lower(const Value& v, Args&) {
  return v.is_string() && text::lower(v.str()) == v.str();
}
bool t_upper(const Value& v, Args&) {
  return v.is_string() && text::upper(v.str()) == v.str();
}
bool t_escaped(const Value&, Args&) {
  return false;
}

int64_t int_arg(const Value& v, Args& a) {
  if (!v.is_int() && !v.is_bool()) type_error(a, "integer expected, got " + v.type_name());
  return static_cast<int64_t>(v.as_number());
}
bool t_odd(const Value& v, Args& a) {
  return int_arg(v, a) % 2 != 0;
}
bool t_even(const Value& v, Args& a) {
  return int_arg(v, a) % 2 == 0;
}
bool t_divisibleby(const Value& v, Args& a) {
  int64_t d = int_arg(a.get(0, "num"), a);
  if (d == 0) type_error(a, "integer division or modulo by zero");
  return int_arg(v, a) % d == 0;
}

int cmp_arg(const Value& v, Args& a) {
  return compare(v, a.get(0, "other"), a.call_pos);
}
bool t_eq(const Value& v, Args& a) {
  return v == a.get(0, "other");
}
bool t_ne(const Value& v, Args& a) {
  return !(v == a.get(0, "other"));
}
bool t_lt(const Value& v, Args& a) {
  return cmp_arg(v, a) < 0;
}
bool t_le(const Value& v, Args& a) {
  return cmp_arg(v, a) <= 0;
}
bool t_gt(const Value& v, Args& a) {
  return cmp_arg(v, a) > 0;
}
bool t_ge(const Value& v, Args& a) {
  return cmp_arg(v, a) >= 0;
}
bool t_in(const Value& v, Args& a) {
  return contains(a.get(0, "seq"), v, a.call_pos);
}
bool t_sameas(const Value& v, Args& a) {
  Value o = a.get(0, "other");
  if (v.kind() != o.kind()) return false;
  if (v.is_dict()) return &v.dict_box() == &o.dict_box();
  if (v.is_list() || v.is_callable()) return false;
  return v == o;
}
bool t_filter(const Value& v, Args&) {
  return v.is_string() && has_filter(v.str());
}
bool t_test(const Value& v, Args&) {
  return v.is_string() && has_test(v.str());
}

const std::map<std::string, Test, std::less<>>& tests() {
  static const std::map<std::string, Test, std::less<>> m = {
      {"boolean", t_boolean},
      {"callable", t_callable},
      {"defined", t_defined},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"escaped", t_escaped},
      {"even", t_even},
      {"false", t_false},
      {"filter", t_filter},
      {"float", t_float},
      {"ge", t_ge},
      {">=", t_ge},
      {"gt", t_gt},
      {">", t_gt},
      {"greaterthan", t_gt},
      {"in", t_in},
      {"integer", t_integer},
      {"iterable", t_iterable},
      {"le", t_le},
      {"<=", t_le},
      {"lower", t_lower},
      {"lt", t_lt},
      {"<", t_lt},
      {"lessthan", t_lt},
      {"mapping", t_mapping},
      {"ne", t_ne},
      {"!=", t_ne},
      {"none", t_none},
      {"number", t_number},
      {"odd", t_odd},
      {"sameas", t_sameas},
      {"sequence", t_sequence},
      {"string", t_string},
      {"test", t_test},
      {"true", t_true},
      {"undefined", t_undefined},
      {"upper", t_upper},
  };
  return m;
}

}  // namespace

bool has_filter(const std::string& name) {
  return filters().count(name) > 0;
}
bool has_test(const std::string& name) {
  return tests().count(name) > 0;
}

Value apply_filter(const std::string& name, const Value& v, Args& args, size_t pos) {
  auto it = filters().find(name);
  if (it == filters().end()) raise("No filter named '" + name + "'.", pos);
  args.call_pos = pos;
  return it->second(v, args);
}

bool apply_test(const std::string& name, const Value& v, Args& args, size_t pos) {
  auto it = tests().find(name);
  if (it == tests().end()) raise("No test named '" + name + "'.", pos);
  args.call_pos = pos;
  return it->second(v, args);
}

}  // namespace pivot::tpl
