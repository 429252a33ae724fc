// Template syntax tree: what parser.cc builds and eval.cc walks.
//
// One node type per family keeps the tree small; each kind documents which
// fields it uses. Nodes own their children and remember their source offset
// (`pos`) so runtime errors can name a line and column.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "value.h"

namespace pivot::tpl {

struct Expr;
using ExprP = std::unique_ptr<Expr>;

struct Expr {
  enum class K {
    kLiteral,  // lit
    kName,     // name
    kList,     // kids: items
    kTuple,    // kids: items
    kDict,     // kids: key, value, key, value, ...
    kAttr,     // kids[0].name
    kItem,     // kids[0][kids[1]]
    kSlice,    // kids[0][kids[1]:kids[2]:kids[3]], each bound may be null
    kCall,     // kids[0](kids[1..]); the last kwnames.size() args are keywords
    kFilter,   // kids[0] | name(kids[1..]); kids[0] null inside {% filter %} and block set
    kTest,     // kids[0] is [not] name(kids[1..]); negate
    kNeg,      // -kids[0]
    kPos,      // +kids[0]
    kNot,      // not kids[0]
    kBinary,   // kids[0] name kids[1], name in + - * / // % ** ~
    kAnd,      // kids[0] and kids[1]
    kOr,       // kids[0] or kids[1]
    kCompare,  // kids[0] ops[0] kids[1] ops[1] kids[2] ...; ops in == != < <= > >= in notin
    kCond,     // kids[1] if kids[0] else kids[2] (kids[2] may be null)
  };
  K k;
  size_t pos;
  Value lit;
  std::string name;
  std::vector<ExprP> kids;
  std::vector<std::string> kwnames;  // keyword argument names (calls, filters, tests)
  std::vector<std::string> ops;      // comparison operators
  bool negate = false;

  Expr(K kind, size_t p) : k(kind), pos(p) {}
};

struct Stmt;
using StmtP = std::unique_ptr<Stmt>;
using Body = std::vector<StmtP>;

struct Stmt {
  enum class K {
    kText,         // text
    kEmit,         // {{ expr }}
    kIf,           // if conds[i]: bodies[i]; else bodies[conds.size()] when present
    kFor,          // for targets in expr [if cond]: bodies[0]; else bodies[1]
    kSet,          // set targets = expr; or set name.attr = expr (attr non-empty)
    kSetBlock,     // set targets[0] [| filter]: bodies[0]
    kMacro,        // macro name(params = defaults): bodies[0]
    kCallBlock,    // call(params) expr: bodies[0] is `caller`
    kFilterBlock,  // filter (chain in expr, innermost operand null): bodies[0]
    kWith,         // with targets = defaults: bodies[0]
    kScope,        // bodies[0] rendered as-is ({% generation %})
    kBreak,
    kContinue,
  };
  K k;
  size_t pos;
  std::string text;
  ExprP expr;
  ExprP cond;
  ExprP filter;
  std::vector<ExprP> conds;
  std::vector<Body> bodies;
  std::vector<std::string> targets;
  std::string name, attr;
  std::vector<std::string> params;
  std::vector<ExprP> defaults;  // one per param; null when none
  bool recursive = false;

  Stmt(K kind, size_t p) : k(kind), pos(p) {}
};

// Parses a whole template; throws TemplateError with the offending offset.
Body parse(const std::string& normalized_source);

}  // namespace pivot::tpl
