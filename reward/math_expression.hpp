// Internal to crescent_reward (the math_*.cpp files behind math_verify.hpp):
// expressions, trees in a pool shared by the two sides of a comparison, so
// that a variable has one number on both. Read by a recursive-descent parser
// (math_expression.cpp), evaluated exactly or at sample points
// (math_evaluate.cpp).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crescent::reward::math_internal {

// A bound that keeps hostile input cheap (the others are in math_verify.cpp
// and math_number.cpp).
inline constexpr int kMaxDepth = 64;  // nesting of brackets, groups and expression trees

enum class Op {
  kNumber,
  kVariable,
  kPi,
  kE,
  kInfinity,
  kSum,
  kProduct,
  kPower,
  kNegate,
  kFunction
};

struct Expr {
  Op op = Op::kNumber;
  double number = 0;
  std::string digits;    // kNumber written as an integer: exact
  int variable = -1;     // kVariable
  std::string function;  // kFunction: its name; kids = {argument[, log base]}
  std::vector<int> kids;
  std::vector<bool> inverted;  // kSum: subtracted; kProduct: divided
  int depth = 1;
};

struct Pool {
  std::vector<Expr> nodes;
  std::map<std::string, int> variables;

  // The new node's index, or -1 when a kid failed or the tree gets too deep.
  int Add(Expr e) {
    for (int kid : e.kids) {
      if (kid < 0) return -1;
      e.depth = std::max(e.depth, nodes[kid].depth + 1);
    }
    if (e.depth > kMaxDepth) return -1;
    nodes.push_back(std::move(e));
    return static_cast<int>(nodes.size()) - 1;
  }
  int Add(Op op, std::vector<int> kids, std::vector<bool> inverted = {}) {
    Expr e;
    e.op = op;
    e.kids = std::move(kids);
    e.inverted = std::move(inverted);
    return Add(std::move(e));
  }
  int Variable(const std::string& name) {
    Expr e;
    e.op = Op::kVariable;
    e.variable = variables.emplace(name, static_cast<int>(variables.size())).first->second;
    return Add(std::move(e));
  }
};

// The root of `text` (a normalised element) read into `pool`, or -1 when the
// text is not one expression.
int ParseExpression(const std::string& text, Pool* pool);

// Whether `name` (without its backslash) is a Greek letter: "alpha", "Omega".
bool IsGreek(const std::string& name);

// Whether `word` is a name the parser reads in plain letters ("sin", "pi").
bool IsKnownName(const std::string& word);

// Whether two constant expressions are equal: exactly when both are rational,
// else within rel_tol.
bool SameConstant(const Pool& pool, int x, int y, double rel_tol);

// Whether y(p) = ratio * x(p) at the sample points for one ratio: 1 for
// expressions, any nonzero constant for the two sides of equations.
bool Proportional(const Pool& pool, int x, int y, double rel_tol, bool any_ratio);

}  // namespace crescent::reward::math_internal
