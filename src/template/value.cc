// Template values: Python truthiness, equality, ordering, str/repr and
// json.dumps formatting (see value.h).
#include "value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "text.h"

namespace pivot::tpl {

Value Value::from_json(const nlohmann::ordered_json& j) {
  using T = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case T::null:
      return Value();
    case T::boolean:
      return Value(j.get<bool>());
    case T::number_integer:
      return Value(j.get<int64_t>());
    case T::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case T::number_float:
      return Value(j.get<double>());
    case T::string:
      return Value(j.get<std::string>());
    case T::array: {
      List l;
      l.reserve(j.size());
      for (const auto& x : j) l.push_back(from_json(x));
      return Value(std::move(l));
    }
    case T::object: {
      Dict d;
      d.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it)
        d.emplace_back(Value(it.key()), from_json(it.value()));
      return Value(std::move(d));
    }
    default:
      return Value::undefined("binary JSON value");
  }
}

double Value::as_number() const {
  if (is_bool()) return as_bool() ? 1 : 0;
  if (is_int()) return static_cast<double>(as_int());
  return as_float();
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::Undefined:
    case Kind::None:
      return false;
    case Kind::Bool:
      return as_bool();
    case Kind::Int:
      return as_int() != 0;
    case Kind::Float:
      return as_float() != 0;
    case Kind::String:
      return !str().empty();
    case Kind::List:
      return is_generator() || !list().empty();
    case Kind::Dict:
      return is_namespace() || !dict().empty();
    case Kind::Callable:
      return true;
  }
  return false;
}

const Value* Value::find(const Value& key) const {
  for (const auto& [k, v] : dict())
    if (k == key) return &v;
  return nullptr;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : dict())
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::Undefined:
      return "Undefined";
    case Kind::None:
      return "NoneType";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::List:
      return is_generator() ? "generator" : is_tuple() ? "tuple" : "list";
    case Kind::Dict:
      return is_namespace() ? "Namespace" : "dict";
    case Kind::Callable:
      return "function";
  }
  return "object";
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  size_t e = s.find('e');
  int exp10 = std::stoi(s.substr(e + 1));
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (s[i] != '.') digits += s[i];
  int n = static_cast<int>(digits.size());
  int decpt = exp10 + 1;
  std::string out;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out = "0." + std::string(-decpt, '0') + digits;
    } else if (decpt < n) {
      out = digits.substr(0, decpt) + "." + digits.substr(decpt);
    } else {
      out = digits + std::string(decpt - n, '0') + ".0";
    }
  } else {
    out = digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    int x = decpt - 1;
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", x < 0 ? '-' : '+', std::abs(x));
    out += eb;
  }
  return sign + out;
}

namespace {

std::string repr_str(const std::string& s) {
  bool has_sq = s.find('\'') != std::string::npos, has_dq = s.find('"') != std::string::npos;
  char q = has_sq && !has_dq ? '"' : '\'';
  std::string out(1, q);
  for (char32_t c : text::decode(s)) {
    char buf[16];
    if (c == static_cast<char32_t>(q) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) || c == 0xAD) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c == 0x2028 || c == 0x2029 || (c >= 0x2000 && c <= 0x200F) || c == 0xFEFF ||
               c == 0x3000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      text::append_utf8(out, c);
    }
  }
  return out + q;
}

void json_str(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  return python_float_repr(d);
}

struct JsonWriter {
  int indent;
  const std::string& item_sep;
  const std::string& key_sep;
  bool sort_keys;
  int depth = 0;

  void newline(std::string& out, int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * level, ' ');
  }

  void key(std::string& out, const Value& k) {
    if (k.is_string()) return json_str(out, k.str());
    if (k.is_bool()) return json_str(out, k.as_bool() ? "true" : "false");
    if (k.is_none()) return json_str(out, "null");
    if (k.is_int()) return json_str(out, std::to_string(k.as_int()));
    if (k.is_float()) return json_str(out, json_float(k.as_float()));
    raise("keys must be str, int, float, bool or None, not " + k.type_name());
  }

  void write(std::string& out, const Value& v) {
    if (++depth > 500) raise("tojson: nesting too deep");
    switch (v.kind()) {
      case Value::Kind::None:
        out += "null";
        break;
      case Value::Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        break;
      case Value::Kind::Int:
        out += std::to_string(v.as_int());
        break;
      case Value::Kind::Float:
        out += json_float(v.as_float());
        break;
      case Value::Kind::String:
        json_str(out, v.str());
        break;
      case Value::Kind::List: {
        if (v.is_generator()) raise("Object of type generator is not JSON serializable");
        const List& l = v.list();
        if (l.empty()) {
          out += "[]";
          break;
        }
        out += '[';
        for (size_t i = 0; i < l.size(); ++i) {
          if (i) out += item_sep;
          if (indent >= 0) newline(out, depth);
          write(out, l[i]);
        }
        if (indent >= 0) newline(out, depth - 1);
        out += ']';
        break;
      }
      case Value::Kind::Dict: {
        if (v.is_namespace()) raise("Object of type Namespace is not JSON serializable");
        std::vector<const std::pair<Value, Value>*> items;
        for (const auto& kv : v.dict()) items.push_back(&kv);
        if (sort_keys)
          std::stable_sort(items.begin(), items.end(), [](const auto* a, const auto* b) {
            return compare(a->first, b->first, kNoPos) < 0;
          });
        if (items.empty()) {
          out += "{}";
          break;
        }
        out += '{';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i) out += item_sep;
          if (indent >= 0) newline(out, depth);
          key(out, items[i]->first);
          out += key_sep;
          write(out, items[i]->second);
        }
        if (indent >= 0) newline(out, depth - 1);
        out += '}';
        break;
      }
      default:
        raise("Object of type " + v.type_name() + " is not JSON serializable");
    }
    --depth;
  }
};

}  // namespace

std::string Value::to_json(int indent, const std::string& item_sep, const std::string& key_sep,
                           bool sort_keys) const {
  std::string out;
  JsonWriter{indent, item_sep, key_sep, sort_keys}.write(out, *this);
  return out;
}

std::string Value::repr() const {
  switch (kind()) {
    case Kind::Undefined:
      return "Undefined";
    case Kind::None:
      return "None";
    case Kind::Bool:
      return as_bool() ? "True" : "False";
    case Kind::Int:
      return std::to_string(as_int());
    case Kind::Float:
      return python_float_repr(as_float());
    case Kind::String:
      return repr_str(str());
    case Kind::List: {
      if (is_generator()) return "<generator object>";
      std::string out = is_tuple() ? "(" : "[";
      const List& l = list();
      for (size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + l[i].repr();
      if (is_tuple() && l.size() == 1) out += ",";
      return out + (is_tuple() ? ")" : "]");
    }
    case Kind::Dict: {
      std::string out = is_namespace() ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict()) {
        out += (first ? "" : ", ") + k.repr() + ": " + v.repr();
        first = false;
      }
      return out + (is_namespace() ? "}>" : "}");
    }
    case Kind::Callable:
      return "<function " + callable().name + ">";
  }
  return "";
}

std::string Value::to_str() const {
  if (is_string()) return str();
  if (is_undefined()) return "";
  return repr();
}

bool operator==(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_number() == b.as_number();
    auto iv = [](const Value& v) { return v.is_bool() ? int64_t{v.as_bool()} : v.as_int(); };
    return iv(a) == iv(b);
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::Undefined:
    case K::None:
      return true;
    case K::String:
      return a.str() == b.str();
    case K::List:
      if (a.is_generator() || b.is_generator()) return &a.list() == &b.list();
      return a.is_tuple() == b.is_tuple() && a.list() == b.list();
    case K::Dict: {
      if (a.is_namespace() || b.is_namespace()) return &a.dict_box() == &b.dict_box();
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [k, v] : a.dict()) {
        const Value* o = b.find(k);
        if (!o || !(*o == v)) return false;
      }
      return true;
    }
    case K::Callable:
      return &a.callable() == &b.callable();
    default:
      return false;
  }
}

int compare(const Value& a, const Value& b, size_t pos) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    double x = a.as_number(), y = b.as_number();
    return x < y ? -1 : x > y;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
    const List &x = a.list(), &y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i] == y[i]) continue;
      return compare(x[i], y[i], pos);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size();
  }
  raise(
      "'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'",
      pos);
}

Value Args::get(size_t i, std::string_view name, Value def) const {
  if (i < pos.size()) return pos[i];
  for (const auto& [k, v] : kw)
    if (k == name) return v;
  return def;
}

bool Args::has(size_t i, std::string_view name) const {
  if (i < pos.size()) return true;
  for (const auto& [k, v] : kw)
    if (k == name) return true;
  return false;
}

}  // namespace pivot::tpl
