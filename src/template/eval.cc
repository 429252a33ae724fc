// Template evaluator (see eval.h): statements, expressions, Python operators,
// macros and the globals HF's environment provides.
#include "eval.h"

#include <cmath>
#include <unordered_map>

#include "builtins.h"

namespace pivot::tpl {
namespace {

struct Frame {
  explicit Frame(Frame* p) : parent(p) {}
  std::unordered_map<std::string, Value> vars;
  Frame* parent;

  const Value* lookup(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent) {
      auto it = f->vars.find(name);
      if (it != f->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { kNormal, kBreak, kContinue };

// Takes the result by reference: it is read only after the overflow builtin ran.
int64_t checked(bool overflow, size_t pos, const int64_t& v) {
  if (overflow) raise("integer overflow", pos);
  return v;
}

class Evaluator {
 public:
  Evaluator(const EvalOptions& opt, Frame& root) : opt_(opt), root_(root) {}

  Flow exec(const Body& body, Frame& f, std::string& out) {
    for (const StmtP& s : body) {
      Flow fl;
      try {
        fl = exec_one(*s, f, out);
      } catch (const TemplateError& e) {
        if (e.pos == kNoPos) throw TemplateError(s->pos, e.what());
        throw;
      }
      if (fl != Flow::kNormal) return fl;
    }
    return Flow::kNormal;
  }

 private:
  void step(size_t pos) {
    if (++steps_ > opt_.max_steps)
      raise("template exceeded " + std::to_string(opt_.max_steps) + " steps", pos);
  }
  void check_size(const std::string& out, size_t pos) {
    if (out.size() > opt_.max_output_bytes)
      raise("rendered output exceeds " + std::to_string(opt_.max_output_bytes) + " bytes", pos);
  }

  void assign(Frame& f, const std::vector<std::string>& targets, const Value& v, size_t pos) {
    if (targets.size() == 1) {
      f.vars[targets[0]] = v;
      return;
    }
    std::vector<Value> items = iterate(v, pos);
    if (items.size() != targets.size())
      raise(items.size() < targets.size()
                ? "not enough values to unpack (expected " + std::to_string(targets.size()) +
                      ", got " + std::to_string(items.size()) + ")"
                : "too many values to unpack (expected " + std::to_string(targets.size()) + ")",
            pos);
    for (size_t i = 0; i < targets.size(); ++i) f.vars[targets[i]] = items[i];
  }

  Flow exec_one(const Stmt& s, Frame& f, std::string& out) {
    step(s.pos);
    switch (s.k) {
      case Stmt::K::kText:
        out += s.text;
        check_size(out, s.pos);
        return Flow::kNormal;
      case Stmt::K::kEmit:
        out += eval(*s.expr, f).to_str();
        check_size(out, s.pos);
        return Flow::kNormal;
      case Stmt::K::kIf:
        for (size_t i = 0; i < s.conds.size(); ++i)
          if (eval(*s.conds[i], f).truthy()) return exec(s.bodies[i], f, out);
        if (s.bodies.size() > s.conds.size()) return exec(s.bodies.back(), f, out);
        return Flow::kNormal;
      case Stmt::K::kFor:
        exec_for(s, f, out);
        return Flow::kNormal;
      case Stmt::K::kSet: {
        Value v = eval(*s.expr, f);
        if (s.attr.empty()) {
          assign(f, s.targets, v, s.pos);
          return Flow::kNormal;
        }
        const Value* ns = f.lookup(s.name);
        if (!ns || !ns->is_namespace())
          raise("cannot assign attribute on non-namespace object", s.pos);
        Dict& items = ns->dict_box().items;
        for (auto& kv : items)
          if (kv.first.is_string() && kv.first.str() == s.attr) {
            kv.second = v;
            return Flow::kNormal;
          }
        items.emplace_back(Value(s.attr), v);
        return Flow::kNormal;
      }
      case Stmt::K::kSetBlock: {
        std::string text;
        exec(s.bodies[0], f, text);
        Value v(std::move(text));
        if (s.filter) v = eval_filter(*s.filter, f, &v);
        f.vars[s.targets[0]] = v;
        return Flow::kNormal;
      }
      case Stmt::K::kMacro:
        f.vars[s.name] = make_macro(s, nullptr, s.name);
        return Flow::kNormal;
      case Stmt::K::kCallBlock: {
        Frame* scope = &f;
        Value caller = Value(
            Callable{"caller", [this, &s, scope](Args& a) { return call_body(s, *scope, a); }});
        const Expr& call = *s.expr;
        Value callee = eval(*call.kids[0], f);
        Args a = eval_args(call, f);
        a.kw.emplace_back("caller", caller);
        out += invoke(callee, a, call.kids[0]->pos).to_str();
        check_size(out, s.pos);
        return Flow::kNormal;
      }
      case Stmt::K::kFilterBlock: {
        std::string text;
        exec(s.bodies[0], f, text);
        Value v(std::move(text));
        out += eval_filter(*s.filter, f, &v).to_str();
        check_size(out, s.pos);
        return Flow::kNormal;
      }
      case Stmt::K::kWith: {
        Frame inner(&f);
        for (size_t i = 0; i < s.targets.size(); ++i)
          inner.vars[s.targets[i]] = eval(*s.defaults[i], f);
        return exec(s.bodies[0], inner, out);
      }
      case Stmt::K::kScope:
        return exec(s.bodies[0], f, out);
      case Stmt::K::kBreak:
        return Flow::kBreak;
      case Stmt::K::kContinue:
        return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  void exec_for(const Stmt& s, Frame& f, std::string& out) {
    if (s.recursive) raise("recursive for loops are not supported", s.pos);
    Value seq = eval(*s.expr, f);
    if (seq.is_none() || seq.is_number() || seq.is_callable() || seq.is_namespace())
      raise("'" + seq.type_name() + "' object is not iterable", s.expr->pos);
    std::vector<Value> items = iterate(seq, s.expr->pos);
    if (s.cond) {
      std::vector<Value> kept;
      for (auto& v : items) {
        step(s.pos);
        Frame tf(&f);
        assign(tf, s.targets, v, s.pos);
        if (eval(*s.cond, tf).truthy()) kept.push_back(std::move(v));
      }
      items = std::move(kept);
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      step(s.pos);
      Frame lf(&f);
      assign(lf, s.targets, items[i], s.pos);
      Dict loop = {
          {Value("index"), Value(i + 1)},
          {Value("index0"), Value(i)},
          {Value("revindex"), Value(n - i)},
          {Value("revindex0"), Value(n - i - 1)},
          {Value("first"), Value(i == 0)},
          {Value("last"), Value(i == n - 1)},
          {Value("length"), Value(n)},
          {Value("depth"), Value(1)},
          {Value("depth0"), Value(0)},
          {Value("previtem"), i > 0 ? items[i - 1] : Value::undefined("there is no previous item")},
          {Value("nextitem"), i + 1 < n ? items[i + 1] : Value::undefined("there is no next item")},
          {Value("cycle"), Value(Callable{"cycle",
                                          [i](Args& a) {
                                            if (a.pos.empty())
                                              raise("no items for cycling given", a.call_pos);
                                            return a.pos[i % a.pos.size()];
                                          }})},
      };
      lf.vars["loop"] = Value(std::move(loop));
      if (exec(s.bodies[0], lf, out) == Flow::kBreak) break;
    }
    if (n == 0 && !s.bodies[1].empty()) {
      Frame ef(&f);
      exec(s.bodies[1], ef, out);
    }
  }

  // A macro (or a call block's caller) as a callable value.
  Value make_macro(const Stmt& s, Frame* scope, const std::string& name) {
    return Value(Callable{
        name, [this, &s, scope](Args& a) { return call_body(s, scope ? *scope : root_, a); }});
  }

  Value call_body(const Stmt& s, Frame& parent, Args& a) {
    if (++call_depth_ > opt_.max_call_depth) {
      --call_depth_;
      raise("maximum macro call depth exceeded", a.call_pos);
    }
    struct Dec {
      int& d;
      ~Dec() { --d; }
    } dec{call_depth_};
    Frame f(s.k == Stmt::K::kMacro ? &root_ : &parent);
    List varargs;
    Dict kwargs;
    for (size_t i = 0; i < a.pos.size(); ++i) {
      if (i < s.params.size())
        f.vars[s.params[i]] = a.pos[i];
      else
        varargs.push_back(a.pos[i]);
    }
    for (const auto& [k, v] : a.kw) {
      if (k == "caller") {
        f.vars["caller"] = v;
        continue;
      }
      bool is_param = false;
      for (const auto& p : s.params) is_param = is_param || p == k;
      if (is_param)
        f.vars[k] = v;
      else
        kwargs.emplace_back(Value(k), v);
    }
    for (size_t i = 0; i < s.params.size(); ++i) {
      if (f.vars.count(s.params[i])) continue;
      f.vars[s.params[i]] =
          s.defaults[i] ? eval(*s.defaults[i], f)
                        : Value::undefined("parameter '" + s.params[i] + "' was not provided");
    }
    f.vars["varargs"] = Value(std::move(varargs));
    f.vars["kwargs"] = Value(std::move(kwargs));
    std::string out;
    exec(s.bodies[0], f, out);
    return Value(std::move(out));
  }

  Args eval_args(const Expr& e, Frame& f) {
    Args a;
    size_t nkw = e.kwnames.size(), npos = e.kids.size() - 1 - nkw;
    for (size_t i = 0; i < npos; ++i) a.pos.push_back(eval(*e.kids[1 + i], f));
    for (size_t i = 0; i < nkw; ++i)
      a.kw.emplace_back(e.kwnames[i], eval(*e.kids[1 + npos + i], f));
    return a;
  }

  Value invoke(const Value& callee, Args& a, size_t pos) {
    a.call_pos = pos;
    if (callee.is_undefined()) undefined_error(callee, pos);
    if (!callee.is_callable()) raise("'" + callee.type_name() + "' object is not callable", pos);
    return callee.callable().fn(a);
  }

  // A filter node; inside {% filter %} and block set the innermost operand is `input`.
  Value eval_filter(const Expr& e, Frame& f, const Value* input) {
    Value v;
    if (!e.kids[0])
      v = *input;
    else if (input && e.kids[0]->k == Expr::K::kFilter)
      v = eval_filter(*e.kids[0], f, input);
    else
      v = eval(*e.kids[0], f);
    Args a = eval_args(e, f);
    return apply_filter(e.name, v, a, e.pos);
  }

  Value eval(const Expr& e, Frame& f) {
    using K = Expr::K;
    switch (e.k) {
      case K::kLiteral:
        return e.lit;
      case K::kName: {
        const Value* v = f.lookup(e.name);
        return v ? *v : Value::undefined("'" + e.name + "' is undefined");
      }
      case K::kList:
      case K::kTuple: {
        List l;
        for (const auto& k : e.kids) l.push_back(eval(*k, f));
        return Value(std::move(l), e.k == K::kTuple);
      }
      case K::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          Value k = eval(*e.kids[i], f), v = eval(*e.kids[i + 1], f);
          bool found = false;
          for (auto& kv : d)
            if (kv.first == k) {
              kv.second = v;
              found = true;
            }
          if (!found) d.emplace_back(std::move(k), std::move(v));
        }
        return Value(std::move(d));
      }
      case K::kAttr:
        return get_attr(eval(*e.kids[0], f), e.name, e.pos);
      case K::kItem:
        return get_item(eval(*e.kids[0], f), eval(*e.kids[1], f), e.pos);
      case K::kSlice: {
        auto opt = [&](const ExprP& x) { return x ? eval(*x, f) : Value(); };
        return get_slice(eval(*e.kids[0], f), opt(e.kids[1]), opt(e.kids[2]), opt(e.kids[3]),
                         e.pos);
      }
      case K::kCall: {
        Value callee = eval(*e.kids[0], f);
        Args a = eval_args(e, f);
        return invoke(callee, a, e.kids[0]->pos);
      }
      case K::kFilter:
        return eval_filter(e, f, nullptr);
      case K::kTest: {
        Value v = eval(*e.kids[0], f);
        Args a = eval_args(e, f);
        return Value(apply_test(e.name, v, a, e.pos) != e.negate);
      }
      case K::kNeg:
      case K::kPos: {
        Value v = eval(*e.kids[0], f);
        check_defined(v, e.pos);
        if (v.is_int() || v.is_bool()) {
          int64_t i = static_cast<int64_t>(v.as_number());
          if (e.k == K::kPos) return Value(i);
          if (i == INT64_MIN) raise("integer overflow", e.pos);
          return Value(-i);
        }
        if (v.is_float()) return Value(e.k == K::kNeg ? -v.as_float() : v.as_float());
        raise(std::string("bad operand type for unary ") + (e.k == K::kNeg ? "-" : "+") + ": '" +
                  v.type_name() + "'",
              e.pos);
      }
      case K::kNot:
        return Value(!eval(*e.kids[0], f).truthy());
      case K::kAnd: {
        Value a = eval(*e.kids[0], f);
        return a.truthy() ? eval(*e.kids[1], f) : a;
      }
      case K::kOr: {
        Value a = eval(*e.kids[0], f);
        return a.truthy() ? a : eval(*e.kids[1], f);
      }
      case K::kBinary: {
        Value r = binary_op(e.name, eval(*e.kids[0], f), eval(*e.kids[1], f), e.pos);
        if (r.is_string() && r.str().size() > opt_.max_output_bytes)
          raise("string too long", e.pos);
        return r;
      }
      case K::kCompare: {
        Value left = eval(*e.kids[0], f);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.kids[i + 1], f);
          if (!compare_op(e.ops[i], left, right, e.pos)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case K::kCond:
        if (eval(*e.kids[0], f).truthy()) return eval(*e.kids[1], f);
        if (e.kids[2]) return eval(*e.kids[2], f);
        return Value::undefined(
            "the inline if-expression on line evaluated to false and no else section was "
            "defined.");
    }
    return Value();
  }

  static bool compare_op(const std::string& op, const Value& a, const Value& b, size_t pos) {
    if (op == "==") return a == b;
    if (op == "!=") return !(a == b);
    if (op == "in") return contains(b, a, pos);
    if (op == "notin") return !contains(b, a, pos);
    check_defined(a, pos);
    check_defined(b, pos);
    int c = compare(a, b, pos);
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    return c >= 0;
  }

  const EvalOptions& opt_;
  Frame& root_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

// ---- globals ----

Value g_range(Args& a, size_t max_range) {
  std::vector<int64_t> v;
  for (const Value& x : a.pos) {
    if (!x.is_int() && !x.is_bool())
      raise("'" + x.type_name() + "' object cannot be interpreted as an integer", a.call_pos);
    v.push_back(static_cast<int64_t>(x.as_number()));
  }
  if (v.empty() || v.size() > 3) raise("range expected 1 to 3 arguments", a.call_pos);
  int64_t start = v.size() == 1 ? 0 : v[0], stop = v.size() == 1 ? v[0] : v[1];
  int64_t st = v.size() == 3 ? v[2] : 1;
  if (st == 0) raise("range() arg 3 must not be zero", a.call_pos);
  List out;
  for (int64_t i = start; st > 0 ? i < stop : i > stop; i += st) {
    if (out.size() >= max_range)
      raise("range() too large: more than " + std::to_string(max_range) + " items", a.call_pos);
    out.emplace_back(i);
    if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
  }
  return Value(std::move(out));
}

Dict kw_dict(Args& a) {
  Dict d;
  for (const Value& p : a.pos) {
    if (!p.is_dict()) raise("dict expected", a.call_pos);
    for (const auto& kv : p.dict()) d.push_back(kv);
  }
  for (auto& [k, v] : a.kw) {
    bool found = false;
    for (auto& kv : d)
      if (kv.first.is_string() && kv.first.str() == k) {
        kv.second = v;
        found = true;
      }
    if (!found) d.emplace_back(Value(k), v);
  }
  return d;
}

Value g_strftime_now(Args& a, const std::tm& tm) {
  Value fmt = a.get(0, "format");
  if (!fmt.is_string()) raise("strftime() argument 1 must be str", a.call_pos);
  if (fmt.str().empty()) return Value("");
  std::string buf(256 + fmt.str().size() * 8, '\0');
  size_t n = std::strftime(buf.data(), buf.size(), fmt.str().c_str(), &tm);
  buf.resize(n);
  return Value(std::move(buf));
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, size_t pos) {
  if (op == "~") return Value(a.to_str() + b.to_str());
  check_defined(a, pos);
  check_defined(b, pos);
  auto unsupported = [&]() -> Value {
    raise("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
              b.type_name() + "'",
          pos);
  };
  bool ints = (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
  if (a.is_number() && b.is_number()) {
    double x = a.as_number(), y = b.as_number();
    if (ints) {
      int64_t i = static_cast<int64_t>(x), j = static_cast<int64_t>(y), r;
      if (op == "+") return Value(checked(__builtin_add_overflow(i, j, &r), pos, r));
      if (op == "-") return Value(checked(__builtin_sub_overflow(i, j, &r), pos, r));
      if (op == "*") return Value(checked(__builtin_mul_overflow(i, j, &r), pos, r));
      if (op == "//" || op == "%") {
        if (j == 0) raise("integer division or modulo by zero", pos);
        if (i == INT64_MIN && j == -1) raise("integer overflow", pos);
        int64_t q = i / j, m = i % j;
        if (m != 0 && ((m < 0) != (j < 0))) {
          --q;
          m += j;
        }
        return Value(op == "//" ? q : m);
      }
      if (op == "**" && j >= 0) {
        int64_t res = 1;
        for (int64_t k = 0; k < j; ++k) {
          if (__builtin_mul_overflow(res, i, &res)) raise("integer overflow", pos);
          if (res == 0 || res == 1) break;
        }
        if (res == 1 && i == -1 && j % 2 == 1) res = -1;
        return Value(res);
      }
    }
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "/") {
      if (y == 0) raise("division by zero", pos);
      return Value(x / y);
    }
    if (op == "//" || op == "%") {
      if (y == 0) raise(op == "%" ? "float modulo" : "float floor division by zero", pos);
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value(op == "%" ? m : std::floor(x / y));
    }
    if (op == "**") return Value(std::pow(x, y));
    return unsupported();
  }
  if (op == "+") {
    if (a.is_markup() || b.is_markup()) {  // markupsafe: the plain operand is escaped
      if (a.is_string() && b.is_string()) {
        Args none;
        auto esc = [&](const Value& v) { return apply_filter("escape", v, none, pos).str(); };
        return Value::markup(esc(a) + esc(b));
      }
    }
    if (a.is_string() && b.is_string()) return Value(a.str() + b.str());
    if (a.is_sequence() && b.is_sequence() && a.is_tuple() == b.is_tuple()) {
      List l = a.list();
      l.insert(l.end(), b.list().begin(), b.list().end());
      return Value(std::move(l), a.is_tuple());
    }
    if (a.is_string() || a.is_list())
      raise("can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " +
                a.type_name(),
            pos);
    return unsupported();
  }
  if (op == "*" && ((a.is_string() || a.is_sequence()) != (b.is_string() || b.is_sequence()))) {
    const Value& seq = a.is_string() || a.is_sequence() ? a : b;
    const Value& n = &seq == &a ? b : a;
    if (!n.is_int() && !n.is_bool())
      raise("can't multiply sequence by non-int of type '" + n.type_name() + "'", pos);
    int64_t times = std::max<int64_t>(0, static_cast<int64_t>(n.as_number()));
    size_t unit = seq.is_string() ? seq.str().size() : seq.list().size();
    if (unit && static_cast<uint64_t>(times) > (64u << 20) / unit) raise("result too large", pos);
    if (seq.is_string()) {
      std::string s;
      for (int64_t i = 0; i < times; ++i) s += seq.str();
      return Value(std::move(s));
    }
    List l;
    for (int64_t i = 0; i < times; ++i) l.insert(l.end(), seq.list().begin(), seq.list().end());
    return Value(std::move(l), seq.is_tuple());
  }
  if (op == "%" && a.is_string()) {
    Args args;
    args.call_pos = pos;
    args.pos = b.is_list() && b.is_tuple() ? b.list() : List{b};
    return apply_filter("format", a, args, pos);
  }
  return unsupported();
}

std::string render(const Body& body, const std::vector<std::pair<std::string, Value>>& vars,
                   const EvalOptions& opt) {
  Frame globals(nullptr);
  size_t max_range = opt.max_range;
  std::tm now = opt.now;
  globals.vars["range"] =
      Value(Callable{"range", [max_range](Args& a) { return g_range(a, max_range); }});
  globals.vars["namespace"] = Value(Callable{"namespace", [](Args& a) {
                                               auto box = std::make_shared<DictBox>();
                                               box->items = kw_dict(a);
                                               box->ns = true;
                                               return Value(box);
                                             }});
  globals.vars["dict"] = Value(Callable{"dict", [](Args& a) { return Value(kw_dict(a)); }});
  globals.vars["raise_exception"] =
      Value(Callable{"raise_exception",
                     [](Args& a) -> Value { raise(a.get(0, "message").to_str(), a.call_pos); }});
  globals.vars["strftime_now"] =
      Value(Callable{"strftime_now", [now](Args& a) { return g_strftime_now(a, now); }});
  Frame root(&globals);
  for (const auto& [k, v] : vars) root.vars[k] = v;
  Evaluator ev(opt, root);
  std::string out;
  ev.exec(body, root, out);
  return out;
}

}  // namespace pivot::tpl
