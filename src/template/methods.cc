// Attribute and item access, iteration, and the str/dict/list methods chat
// templates call (see builtins.h). Lists and dicts are immutable, as in HF's
// ImmutableSandboxedEnvironment: list.append and friends raise.
#include <algorithm>
#include <optional>

#include "builtins.h"
#include "text.h"

namespace pivot::tpl {
namespace {

// jinja2's object_type_repr: "dict object", "None", ...
std::string type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_namespace()) return "jinja2.utils.Namespace object";
  return v.type_name() + " object";
}

Value no_attr(const Value& obj, const std::string& name) {
  return Value::undefined("'" + type_repr(obj) + "' has no attribute '" + name + "'");
}

std::string arg_str(const Args& a, size_t i, std::string_view name, const char* method) {
  Value v = a.get(i, name);
  if (!v.is_string())
    raise(std::string(method) + "() argument must be str, not " + v.type_name(), a.call_pos);
  return v.str();
}

// Optional str argument: nullptr when absent or None.
const std::string* opt_str(const Args& a, size_t i, std::string_view name, std::string& store) {
  Value v = a.get(i, name, Value());
  if (v.is_none() || v.is_undefined()) return nullptr;
  if (!v.is_string()) raise("argument must be str or None, not " + v.type_name(), a.call_pos);
  store = v.str();
  return &store;
}

long opt_int(const Args& a, size_t i, std::string_view name, long def) {
  Value v = a.get(i, name, Value(static_cast<int64_t>(def)));
  if (v.is_none()) return def;
  if (!v.is_int() && !v.is_bool())
    raise("'" + v.type_name() + "' object cannot be interpreted as an integer", a.call_pos);
  return static_cast<long>(v.as_number());
}

Value str_list(const std::vector<std::string>& parts) {
  List l;
  for (const auto& p : parts) l.emplace_back(p);
  return Value(std::move(l));
}

bool affix(const Value& self, const Args& a, bool ends) {
  Value what = a.get(0, "prefix");
  std::vector<Value> options = what.is_list() && what.is_tuple() ? what.list() : List{what};
  const std::string& s = self.str();
  for (const auto& o : options) {
    if (!o.is_string())
      raise(std::string(ends ? "endswith" : "startswith") +
                " first arg must be str or a tuple of str, not " + o.type_name(),
            a.call_pos);
    const std::string& p = o.str();
    if (p.size() <= s.size() &&
        (ends ? s.compare(s.size() - p.size(), p.size(), p) == 0 : s.compare(0, p.size(), p) == 0))
      return true;
  }
  return false;
}

// str.format with {} / {0} / {name} fields (no format specs).
std::string str_format(const std::string& fmt, const Args& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t e = fmt.find('}', i);
      if (e == std::string::npos) raise("Single '{' encountered in format string", a.call_pos);
      std::string field = fmt.substr(i + 1, e - i - 1);
      Value v;
      if (field.empty()) {
        v = a.get(auto_idx++, "\x01");
      } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        v = a.get(std::stoul(field), "\x01");
      } else {
        v = a.get(static_cast<size_t>(-1), field);
      }
      if (v.is_undefined()) raise("Replacement index out of range", a.call_pos);
      out += v.to_str();
      i = e;
    } else {
      out += c;
    }
  }
  return out;
}

Value str_method(const Value& self, const std::string& m, Args& a) {
  const std::string& s = self.str();
  std::string store;
  using text::Side;
  if (m == "strip" || m == "lstrip" || m == "rstrip") {
    Side side = m == "strip" ? Side::kBoth : m == "lstrip" ? Side::kLeft : Side::kRight;
    return Value(text::strip(s, opt_str(a, 0, "chars", store), side));
  }
  if (m == "split" || m == "rsplit") {
    const std::string* sep = opt_str(a, 0, "sep", store);
    long maxsplit = opt_int(a, 1, "maxsplit", -1);
    if (sep && sep->empty()) raise("empty separator", a.call_pos);
    return str_list(m == "split" ? text::split(s, sep, maxsplit) : text::rsplit(s, sep, maxsplit));
  }
  if (m == "splitlines") {
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == '\n' || s[i] == '\r') {
        lines.push_back(s.substr(start, i - start));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    if (start < s.size()) lines.push_back(s.substr(start));
    return str_list(lines);
  }
  if (m == "startswith") return Value(affix(self, a, false));
  if (m == "endswith") return Value(affix(self, a, true));
  if (m == "upper") return Value(text::upper(s));
  if (m == "lower") return Value(text::lower(s));
  if (m == "title") return Value(text::title(s));
  if (m == "capitalize") return Value(text::capitalize(s));
  if (m == "replace")
    return Value(text::replace(s, arg_str(a, 0, "old", "replace"), arg_str(a, 1, "new", "replace"),
                               opt_int(a, 2, "count", -1)));
  if (m == "find" || m == "rfind" || m == "index" || m == "rindex" || m == "count") {
    std::string sub = arg_str(a, 0, "sub", m.c_str());
    if (m == "count") {
      if (sub.empty()) return Value(static_cast<int64_t>(text::length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    size_t p = m[0] == 'r' ? s.rfind(sub) : s.find(sub);
    if (p == std::string::npos) {
      if (m == "index" || m == "rindex") raise("substring not found", a.call_pos);
      return Value(int64_t{-1});
    }
    return Value(static_cast<int64_t>(text::length(std::string_view(s).substr(0, p))));
  }
  if (m == "join") {
    std::string out;
    bool first = true;
    for (const Value& v : iterate(a.get(0, "iterable"), a.call_pos)) {
      if (!v.is_string())
        raise("sequence item: expected str instance, " + v.type_name() + " found", a.call_pos);
      if (!first) out += s;
      out += v.str();
      first = false;
    }
    return Value(std::move(out));
  }
  if (m == "removeprefix" || m == "removesuffix") {
    std::string p = arg_str(a, 0, "prefix", m.c_str());
    bool pre = m == "removeprefix";
    if (p.size() <= s.size() &&
        (pre ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0))
      return Value(pre ? s.substr(p.size()) : s.substr(0, s.size() - p.size()));
    return self;
  }
  if (m == "isdigit" || m == "isalpha" || m == "isspace" || m == "isalnum" || m == "islower" ||
      m == "isupper") {
    std::u32string u = text::decode(s);
    if (u.empty()) return Value(false);
    bool cased = false;
    for (char32_t c : u) {
      bool digit = c >= '0' && c <= '9';
      if (m == "isdigit" && !digit) return Value(false);
      if (m == "isalpha" && !text::is_alpha(c)) return Value(false);
      if (m == "isalnum" && !text::is_alpha(c) && !digit) return Value(false);
      if (m == "isspace" && !text::is_space(c)) return Value(false);
      if (m == "islower" && text::to_lower(c) != c) return Value(false);
      if (m == "isupper" && text::to_upper(c) != c) return Value(false);
      cased = cased || text::to_lower(c) != c || text::to_upper(c) != c;
    }
    return Value(m == "islower" || m == "isupper" ? cased : true);
  }
  if (m == "format") return Value(str_format(s, a));
  raise("'str' object has no attribute '" + m + "'", a.call_pos);
}

Value dict_method(const Value& self, const std::string& m, Args& a) {
  if (m == "get") {
    const Value* v = self.find(a.get(0, "key"));
    return v ? *v : a.get(1, "default", Value());
  }
  List out;
  for (const auto& [k, v] : self.dict()) {
    if (m == "keys")
      out.push_back(k);
    else if (m == "values")
      out.push_back(v);
    else
      out.emplace_back(List{k, v}, true);
  }
  return Value(std::move(out));
}

Value list_method(const Value& self, const std::string& m, Args& a) {
  const List& l = self.list();
  Value x = a.get(0, "value");
  if (m == "count") return Value(static_cast<int64_t>(std::count(l.begin(), l.end(), x)));
  for (size_t i = 0; i < l.size(); ++i)
    if (l[i] == x) return Value(static_cast<int64_t>(i));
  raise(x.repr() + " is not in list", a.call_pos);
}

bool is_one_of(const std::string& m, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return m == n; });
}

Value bind(const Value& self, const std::string& m,
           Value (*fn)(const Value&, const std::string&, Args&)) {
  return Value(Callable{m, [self, m, fn](Args& a) { return fn(self, m, a); }});
}

}  // namespace

void undefined_error(const Value& u, size_t pos) {
  raise(u.undefined_hint().empty() ? "undefined value" : u.undefined_hint(), pos);
}

Value get_attr(const Value& obj, const std::string& name, size_t pos) {
  switch (obj.kind()) {
    case Value::Kind::Undefined:
      undefined_error(obj, pos);
    case Value::Kind::String:
      if (is_one_of(name, {"strip",        "lstrip",     "rstrip",   "split",   "rsplit",
                           "splitlines",   "startswith", "endswith", "upper",   "lower",
                           "title",        "capitalize", "replace",  "find",    "rfind",
                           "index",        "rindex",     "count",    "join",    "removeprefix",
                           "removesuffix", "isdigit",    "isalpha",  "isspace", "isalnum",
                           "islower",      "isupper",    "format"}))
        return bind(obj, name, str_method);
      return no_attr(obj, name);
    case Value::Kind::Dict:
      if (!obj.is_namespace() && is_one_of(name, {"get", "items", "keys", "values"}))
        return bind(obj, name, dict_method);
      if (!obj.is_namespace() &&
          is_one_of(name, {"update", "pop", "popitem", "setdefault", "clear"}))
        raise("access to attribute '" + name + "' of 'dict' object is unsafe.", pos);
      if (const Value* v = obj.find(std::string_view(name))) return *v;
      return no_attr(obj, name);
    case Value::Kind::List:
      if (is_one_of(name, {"index", "count"})) return bind(obj, name, list_method);
      if (is_one_of(name,
                    {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"}))
        raise("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.",
              pos);
      return no_attr(obj, name);
    default:
      return no_attr(obj, name);
  }
}

Value get_item(const Value& obj, const Value& key, size_t pos) {
  if (obj.is_undefined()) undefined_error(obj, pos);
  if (obj.is_dict()) {
    if (const Value* v = obj.find(key)) return *v;
  } else if (obj.is_generator()) {
    raise("'generator' object is not subscriptable", pos);
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = static_cast<int64_t>(key.as_number());
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.list().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.list()[i];
    } else {
      std::u32string u = text::decode(obj.str());
      int64_t n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value(text::encode(std::u32string_view(u).substr(i, 1)));
    }
  }
  if (key.is_string()) return get_attr(obj, key.str(), pos);
  return Value::undefined("'" + type_repr(obj) + "' has no element " + key.repr());
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step,
                size_t pos) {
  if (obj.is_undefined()) undefined_error(obj, pos);
  auto idx = [&](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_int() && !v.is_bool())
      raise(std::string("slice ") + what + " must be an integer or None", pos);
    return static_cast<int64_t>(v.as_number());
  };
  int64_t st = idx(step, "step").value_or(1);
  if (st == 0) raise("slice step cannot be zero", pos);
  std::u32string u;
  int64_t n;
  if (obj.is_sequence()) {
    n = static_cast<int64_t>(obj.list().size());
  } else if (obj.is_string()) {
    u = text::decode(obj.str());
    n = static_cast<int64_t>(u.size());
  } else {
    raise("'" + obj.type_name() + "' object is not subscriptable", pos);
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = st < 0 ? -1 : 0;
    } else if (x >= n) {
      x = st < 0 ? n - 1 : n;
    }
    return x;
  };
  int64_t b = adjust(idx(start, "start"), st < 0 ? n - 1 : 0);
  int64_t e = adjust(idx(stop, "stop"), st < 0 ? -1 : n);
  std::vector<int64_t> picks;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) picks.push_back(i);
  if (obj.is_list()) {
    List out;
    for (int64_t i : picks) out.push_back(obj.list()[i]);
    return Value(std::move(out), obj.is_tuple());
  }
  std::u32string out;
  for (int64_t i : picks) out.push_back(u[i]);
  return Value(text::encode(out));
}

std::vector<Value> iterate(const Value& v, size_t pos) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::List:
      return v.list();
    case Value::Kind::Dict: {
      if (v.is_namespace()) break;
      std::vector<Value> keys;
      for (const auto& kv : v.dict()) keys.push_back(kv.first);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> out;
      for (char32_t c : text::decode(v.str())) out.emplace_back(text::encode(std::u32string(1, c)));
      return out;
    }
    default:
      break;
  }
  raise("'" + v.type_name() + "' object is not iterable", pos);
}

int64_t length(const Value& v, size_t pos) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return 0;
    case Value::Kind::String:
      return static_cast<int64_t>(text::length(v.str()));
    case Value::Kind::List:
      if (v.is_generator()) break;
      return static_cast<int64_t>(v.list().size());
    case Value::Kind::Dict:
      if (!v.is_namespace()) return static_cast<int64_t>(v.dict().size());
      break;
    default:
      break;
  }
  raise("object of type '" + v.type_name() + "' has no len()", pos);
}

bool contains(const Value& c, const Value& item, size_t pos) {
  if (c.is_string()) {
    if (!item.is_string())
      raise("'in <string>' requires string as left operand, not " + item.type_name(), pos);
    return c.str().find(item.str()) != std::string::npos;
  }
  if (c.is_dict() && !c.is_namespace()) return c.find(item) != nullptr;
  if (c.is_list()) return std::find(c.list().begin(), c.list().end(), item) != c.list().end();
  if (c.is_undefined()) return false;
  raise("argument of type '" + c.type_name() + "' is not iterable", pos);
}

}  // namespace pivot::tpl
