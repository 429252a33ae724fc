// Template parser: tokens to the syntax tree of ast.h, with jinja2's grammar
// and operator precedence (jinja2/parser.py): or < and < not < comparisons <
// + - < ~ < * / // % < ** < unary - + < postfix (. [] ()) and filters/tests.
#include <algorithm>
#include <initializer_list>

#include "ast.h"
#include "lexer.h"

namespace pivot::tpl {
namespace {

constexpr int kMaxDepth = 128;  // nesting of expressions and blocks

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kText:
      return "template data";
    case Tok::kVarBegin:
      return "begin of print statement";
    case Tok::kVarEnd:
      return "end of print statement";
    case Tok::kBlockBegin:
      return "begin of statement block";
    case Tok::kBlockEnd:
      return "end of statement block";
    case Tok::kEof:
      return "end of template";
    case Tok::kString:
      return "string";
    case Tok::kInt:
      return "integer";
    case Tok::kFloat:
      return "float";
    default:
      return "'" + t.text + "'";
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Body parse_template() {
    std::string end;
    Body b = subparse({}, &end);
    return b;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth) raise("template nesting too deep", p_.cur().pos);
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
  const Token& next() { return t_[i_ < t_.size() - 1 ? i_++ : i_]; }
  bool is_op(const char* op) const { return cur().kind == Tok::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().kind == Tok::kName && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  void expect_op(const char* op) {
    if (!skip_op(op))
      raise(std::string("expected token '") + op + "', got " + describe(cur()), cur().pos);
  }
  std::string expect_name() {
    if (cur().kind != Tok::kName) raise("expected token 'name', got " + describe(cur()), cur().pos);
    return next().text;
  }
  void expect_block_end() {
    if (cur().kind != Tok::kBlockEnd)
      raise("expected token 'end of statement block', got " + describe(cur()), cur().pos);
    next();
  }

  // Statements until a block tag named in `ends`; that name goes to *end and
  // the tag's remaining tokens are left for the caller.
  Body subparse(std::initializer_list<const char*> ends, std::string* end) {
    DepthGuard g(*this);
    Body body;
    while (true) {
      const Token& tk = cur();
      if (tk.kind == Tok::kEof) {
        if (ends.size() == 0) return body;
        std::string want;
        for (const char* e : ends) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
        raise("Unexpected end of template. Jinja was looking for the following tags: " + want + ".",
              tk.pos);
      }
      if (tk.kind == Tok::kText) {
        auto s = std::make_unique<Stmt>(Stmt::K::kText, tk.pos);
        s->text = tk.text;
        body.push_back(std::move(s));
        next();
      } else if (tk.kind == Tok::kVarBegin) {
        next();
        auto s = std::make_unique<Stmt>(Stmt::K::kEmit, tk.pos);
        s->expr = parse_tuple(false);
        if (cur().kind != Tok::kVarEnd)
          raise("expected token 'end of print statement', got " + describe(cur()), cur().pos);
        next();
        body.push_back(std::move(s));
      } else if (tk.kind == Tok::kBlockBegin) {
        next();
        if (cur().kind == Tok::kName)
          for (const char* e : ends)
            if (cur().text == e) {
              *end = next().text;
              return body;
            }
        body.push_back(parse_statement());
      } else {
        raise("unexpected " + describe(tk), tk.pos);
      }
    }
  }

  StmtP parse_statement() {
    const Token& tk = cur();
    if (tk.kind != Tok::kName) raise("tag name expected", tk.pos);
    const std::string& n = tk.text;
    size_t pos = tk.pos;
    if (n == "if") return parse_if();
    if (n == "for") return parse_for();
    if (n == "set") return parse_set();
    if (n == "macro") return parse_macro();
    if (n == "call") return parse_call_block();
    if (n == "filter") return parse_filter_block();
    if (n == "with") return parse_with();
    if (n == "generation") {
      next();
      expect_block_end();
      auto s = std::make_unique<Stmt>(Stmt::K::kScope, pos);
      s->bodies.push_back(body_until({"endgeneration"}));
      return s;
    }
    if (n == "break" || n == "continue") {
      next();
      expect_block_end();
      return std::make_unique<Stmt>(n == "break" ? Stmt::K::kBreak : Stmt::K::kContinue, pos);
    }
    raise("Encountered unknown tag '" + n + "'.", pos);
  }

  // A body ending at the single tag `end` (whose block end is consumed).
  Body body_until(std::initializer_list<const char*> ends) {
    std::string end;
    Body b = subparse(ends, &end);
    expect_block_end();
    return b;
  }

  StmtP parse_if() {
    auto s = std::make_unique<Stmt>(Stmt::K::kIf, next().pos);
    while (true) {
      s->conds.push_back(parse_tuple(false));
      expect_block_end();
      std::string end;
      s->bodies.push_back(subparse({"elif", "else", "endif"}, &end));
      if (end == "elif") continue;
      if (end == "else") {
        expect_block_end();
        s->bodies.push_back(body_until({"endif"}));
      } else {
        expect_block_end();
      }
      return s;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    do {
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  StmtP parse_for() {
    auto s = std::make_unique<Stmt>(Stmt::K::kFor, next().pos);
    s->targets = parse_targets();
    if (!skip_name("in")) raise("expected token 'in', got " + describe(cur()), cur().pos);
    s->expr = parse_tuple(false, /*with_cond=*/false);
    if (skip_name("if")) s->cond = parse_expression();
    if (skip_name("recursive")) s->recursive = true;
    expect_block_end();
    std::string end;
    s->bodies.push_back(subparse({"endfor", "else"}, &end));
    expect_block_end();
    s->bodies.emplace_back();
    if (end == "else") s->bodies[1] = body_until({"endfor"});
    return s;
  }

  StmtP parse_set() {
    auto s = std::make_unique<Stmt>(Stmt::K::kSet, next().pos);
    if (cur().kind == Tok::kName && peek().kind == Tok::kOp && peek().text == "." &&
        peek(2).kind == Tok::kName) {
      s->name = next().text;
      next();
      s->attr = next().text;
    } else {
      s->targets = parse_targets();
    }
    if (skip_op("=")) {
      s->expr = parse_tuple(false);
      expect_block_end();
      return s;
    }
    if (!s->attr.empty() || s->targets.size() != 1)
      raise("expected token '=', got " + describe(cur()), cur().pos);
    s->k = Stmt::K::kSetBlock;
    if (is_op("|")) s->filter = parse_filter_chain(nullptr);
    expect_block_end();
    s->bodies.push_back(body_until({"endset"}));
    return s;
  }

  void parse_params(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (is_op(")")) break;
      s.params.push_back(expect_name());
      s.defaults.push_back(skip_op("=") ? parse_expression() : nullptr);
    }
    expect_op(")");
  }

  StmtP parse_macro() {
    auto s = std::make_unique<Stmt>(Stmt::K::kMacro, next().pos);
    s->name = expect_name();
    parse_params(*s);
    expect_block_end();
    s->bodies.push_back(body_until({"endmacro"}));
    return s;
  }

  StmtP parse_call_block() {
    auto s = std::make_unique<Stmt>(Stmt::K::kCallBlock, next().pos);
    if (is_op("(")) parse_params(*s);
    s->expr = parse_expression();
    if (s->expr->k != Expr::K::kCall) raise("expected call", s->expr->pos);
    expect_block_end();
    s->bodies.push_back(body_until({"endcall"}));
    return s;
  }

  StmtP parse_filter_block() {
    auto s = std::make_unique<Stmt>(Stmt::K::kFilterBlock, next().pos);
    s->filter = parse_filter_chain(nullptr, /*first_pipe=*/false);
    expect_block_end();
    s->bodies.push_back(body_until({"endfilter"}));
    return s;
  }

  StmtP parse_with() {
    auto s = std::make_unique<Stmt>(Stmt::K::kWith, next().pos);
    while (cur().kind != Tok::kBlockEnd) {
      if (!s->targets.empty()) expect_op(",");
      s->targets.push_back(expect_name());
      expect_op("=");
      s->defaults.push_back(parse_expression());
    }
    expect_block_end();
    s->bodies.push_back(body_until({"endwith"}));
    return s;
  }

  // ---- expressions ----

  ExprP make(Expr::K k, size_t pos) { return std::make_unique<Expr>(k, pos); }
  ExprP make2(Expr::K k, size_t pos, ExprP a, ExprP b) {
    auto e = make(k, pos);
    e->kids.push_back(std::move(a));
    e->kids.push_back(std::move(b));
    return e;
  }

  // Comma-separated expressions become a tuple (`{% set a, b = 1, 2 %}`).
  ExprP parse_tuple(bool explicit_parens, bool with_cond = true) {
    size_t pos = cur().pos;
    std::vector<ExprP> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        comma = true;
      }
      if (cur().kind == Tok::kVarEnd || cur().kind == Tok::kBlockEnd || is_op(")")) break;
      items.push_back(with_cond ? parse_expression() : parse_or());
    }
    if (!comma && items.size() == 1) return std::move(items[0]);
    if (items.empty() && !explicit_parens)
      raise("Expected an expression, got " + describe(cur()), cur().pos);
    auto e = make(Expr::K::kTuple, pos);
    e->kids = std::move(items);
    return e;
  }

  ExprP parse_expression() {
    DepthGuard g(*this);
    ExprP e = parse_or();
    while (is_name("if")) {
      size_t pos = next().pos;
      auto c = make(Expr::K::kCond, pos);
      c->kids.push_back(parse_or());
      c->kids.push_back(std::move(e));
      c->kids.push_back(skip_name("else") ? parse_expression() : nullptr);
      e = std::move(c);
    }
    return e;
  }

  ExprP parse_or() {
    ExprP e = parse_and();
    while (is_name("or")) {
      size_t pos = next().pos;
      e = make2(Expr::K::kOr, pos, std::move(e), parse_and());
    }
    return e;
  }

  ExprP parse_and() {
    ExprP e = parse_not();
    while (is_name("and")) {
      size_t pos = next().pos;
      e = make2(Expr::K::kAnd, pos, std::move(e), parse_not());
    }
    return e;
  }

  ExprP parse_not() {
    if (is_name("not")) {
      DepthGuard g(*this);
      auto e = make(Expr::K::kNot, next().pos);
      e->kids.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprP parse_compare() {
    size_t pos = cur().pos;
    ExprP first = parse_math1();
    ExprP e;
    while (true) {
      std::string op;
      if (cur().kind == Tok::kOp &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().kind == Tok::kName && peek().text == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!e) {
        e = make(Expr::K::kCompare, pos);
        e->kids.push_back(std::move(first));
      }
      e->ops.push_back(op);
      e->kids.push_back(parse_math1());
    }
    return e ? std::move(e) : std::move(first);
  }

  ExprP binary_loop(ExprP (Parser::*sub)(), std::initializer_list<const char*> ops) {
    ExprP e = (this->*sub)();
    while (cur().kind == Tok::kOp &&
           std::any_of(ops.begin(), ops.end(), [&](const char* o) { return cur().text == o; })) {
      const Token& op = next();
      auto b = make2(Expr::K::kBinary, op.pos, std::move(e), (this->*sub)());
      b->name = op.text;
      e = std::move(b);
    }
    return e;
  }
  ExprP parse_math1() { return binary_loop(&Parser::parse_concat, {"+", "-"}); }
  ExprP parse_concat() { return binary_loop(&Parser::parse_math2, {"~"}); }
  ExprP parse_math2() { return binary_loop(&Parser::parse_pow, {"*", "/", "//", "%"}); }
  ExprP parse_pow() { return binary_loop(&Parser::parse_unary_f, {"**"}); }
  ExprP parse_unary_f() { return parse_unary(true); }

  ExprP parse_unary(bool with_filter) {
    DepthGuard g(*this);
    ExprP e;
    if (is_op("-") || is_op("+")) {
      const Token& op = next();
      e = make(op.text == "-" ? Expr::K::kNeg : Expr::K::kPos, op.pos);
      e->kids.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprP parse_primary() {
    const Token& tk = cur();
    size_t pos = tk.pos;
    switch (tk.kind) {
      case Tok::kName: {
        next();
        auto e = make(Expr::K::kLiteral, pos);
        if (tk.text == "true" || tk.text == "True") {
          e->lit = Value(true);
        } else if (tk.text == "false" || tk.text == "False") {
          e->lit = Value(false);
        } else if (tk.text == "none" || tk.text == "None") {
          e->lit = Value();
        } else {
          e->k = Expr::K::kName;
          e->name = tk.text;
        }
        return e;
      }
      case Tok::kString: {
        std::string s;
        while (cur().kind == Tok::kString) s += next().text;
        auto e = make(Expr::K::kLiteral, pos);
        e->lit = Value(std::move(s));
        return e;
      }
      case Tok::kInt:
      case Tok::kFloat: {
        next();
        auto e = make(Expr::K::kLiteral, pos);
        e->lit = tk.kind == Tok::kInt ? Value(tk.ival) : Value(tk.fval);
        return e;
      }
      case Tok::kOp:
        if (tk.text == "(") {
          next();
          ExprP e = parse_tuple(true);
          expect_op(")");
          return e;
        }
        if (tk.text == "[") {
          next();
          auto e = make(Expr::K::kList, pos);
          while (!is_op("]")) {
            if (!e->kids.empty()) expect_op(",");
            if (is_op("]")) break;
            e->kids.push_back(parse_expression());
          }
          expect_op("]");
          return e;
        }
        if (tk.text == "{") {
          next();
          auto e = make(Expr::K::kDict, pos);
          while (!is_op("}")) {
            if (!e->kids.empty()) expect_op(",");
            if (is_op("}")) break;
            e->kids.push_back(parse_expression());
            expect_op(":");
            e->kids.push_back(parse_expression());
          }
          expect_op("}");
          return e;
        }
        break;
      default:
        break;
    }
    raise("Expected an expression, got " + describe(tk), pos);
  }

  ExprP parse_postfix(ExprP e) {
    while (true) {
      if (is_op(".")) {
        size_t pos = next().pos;
        if (cur().kind == Tok::kName) {
          auto a = make(Expr::K::kAttr, pos);
          a->name = next().text;
          a->kids.push_back(std::move(e));
          e = std::move(a);
        } else if (cur().kind == Tok::kInt) {
          auto lit = make(Expr::K::kLiteral, cur().pos);
          lit->lit = Value(next().ival);
          e = make2(Expr::K::kItem, pos, std::move(e), std::move(lit));
        } else {
          raise("expected name or number", cur().pos);
        }
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprP parse_subscript(ExprP obj) {
    size_t pos = next().pos;  // '['
    std::vector<ExprP> parts(3);
    bool slice = false;
    int idx = 0;
    if (!is_op(":")) parts[0] = parse_expression();
    while (is_op(":")) {
      next();
      slice = true;
      if (++idx > 2) raise("invalid slice", cur().pos);
      if (!is_op(":") && !is_op("]")) parts[idx] = parse_expression();
    }
    expect_op("]");
    if (!slice) return make2(Expr::K::kItem, pos, std::move(obj), std::move(parts[0]));
    auto e = make(Expr::K::kSlice, pos);
    e->kids.push_back(std::move(obj));
    for (auto& p : parts) e->kids.push_back(std::move(p));
    return e;
  }

  // Arguments `(a, b, k=v)` appended to e->kids / e->kwnames.
  void parse_args(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (is_op(")")) break;
      if (cur().kind == Tok::kName && peek().kind == Tok::kOp && peek().text == "=") {
        e.kwnames.push_back(next().text);
        next();
        e.kids.push_back(parse_expression());
      } else {
        if (!e.kwnames.empty()) raise("positional argument follows keyword argument", cur().pos);
        e.kids.push_back(parse_expression());
      }
    }
    expect_op(")");
  }

  ExprP parse_call(ExprP callee) {
    auto e = make(Expr::K::kCall, cur().pos);
    e->kids.push_back(std::move(callee));
    parse_args(*e);
    return e;
  }

  ExprP parse_filter_expr(ExprP e) {
    while (true) {
      if (is_op("|")) {
        e = parse_filter_chain(std::move(e));
      } else if (is_name("is")) {
        e = parse_test(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  // `| f(args) | g ...` applied to `operand` (null inside {% filter %}).
  ExprP parse_filter_chain(ExprP operand, bool first_pipe = true) {
    bool need_pipe = first_pipe, block = operand == nullptr;
    do {
      if (need_pipe) expect_op("|");
      need_pipe = true;
      DepthGuard g(*this);
      auto f = make(Expr::K::kFilter, cur().pos);
      f->name = expect_name();
      while (is_op(".") && peek().kind == Tok::kName) {
        next();
        f->name += "." + next().text;
      }
      f->kids.push_back(std::move(operand));
      if (is_op("(")) parse_args(*f);
      operand = std::move(f);
    } while (block && is_op("|"));
    return operand;
  }

  ExprP parse_test(ExprP operand) {
    DepthGuard g(*this);
    next();  // 'is'
    auto t = make(Expr::K::kTest, cur().pos);
    t->negate = skip_name("not");
    t->name = expect_name();
    t->kids.push_back(std::move(operand));
    if (is_op("(")) {
      parse_args(*t);
    } else if ((cur().kind == Tok::kName || cur().kind == Tok::kString || cur().kind == Tok::kInt ||
                cur().kind == Tok::kFloat || is_op("(") || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) raise("You cannot chain multiple tests with is", cur().pos);
      t->kids.push_back(parse_postfix(parse_primary()));
    }
    return t;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::string& src) {
  return Parser(lex(src)).parse_template();
}

}  // namespace pivot::tpl
