// Math answer checking (see math_verify.hpp) in three steps: Normalise turns
// the many LaTeX spellings of an answer into one; ParseStructure splits it
// into tuples, intervals, sets, lists and equations; a small recursive-descent
// Parser reads each element into an expression tree that is evaluated exactly
// (big rationals) when it is rational, else in doubles at sample points.
//
// This file holds the second step and the comparison (MathEquivalent);
// Normalise is in math_normalise.cpp, the Parser in math_expression.cpp, the
// evaluation in math_evaluate.cpp with the big rationals of math_number.cpp,
// and the extraction of an answer (ExtractMathAnswer) in math_extract.cpp.
#include "reward/math_verify.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "reward/math_expression.hpp"
#include "reward/math_normalise.hpp"

namespace crescent::reward {
namespace {

using math_internal::Compact;
using math_internal::IsDigit;
using math_internal::IsGreek;
using math_internal::IsKnownName;
using math_internal::IsLetter;
using math_internal::kMaxDepth;
using math_internal::Lower;
using math_internal::Normalise;
using math_internal::Op;
using math_internal::ParseExpression;
using math_internal::Pool;
using math_internal::Proportional;
using math_internal::SameConstant;
using math_internal::Trim;

// Bounds that keep hostile input cheap (with kMaxDepth in math_expression.hpp
// and kMaxLimbs in math_number.cpp).
constexpr size_t kMaxLength = 20000;     // characters of one answer
constexpr size_t kMaxItems = 128;        // elements of one tuple, set or list
constexpr int kMaxComparisons = 100000;  // element comparisons in one call

// Thrown inside (caught by MathEquivalent) when input passes the bounds above.
struct TooComplex {};

// ---------------------------------------------------------------------------
// Structure: what an answer is made of above the expression level.

struct Structure {
  enum class Kind { kScalar, kTuple, kSet, kList, kUnion, kEquation };
  Kind kind = Kind::kScalar;
  std::string text;              // kScalar: the expression; kEquation: the left side
  std::string rhs;               // kEquation: the right side's text
  char open = 0, close = 0;      // kTuple: its brackets: (1,2] is an interval
  bool assignment = false;       // kEquation: "x = ...", "(a, b) = ...", "f(x) = ...", a = b = c
  bool chain = false;            // kEquation with two or more '='
  std::vector<Structure> items;  // kEquation: {right side}
};

// Where `token` occurs in s outside brackets and braces.
std::vector<size_t> TopLevel(const std::string& s, const std::string& token) {
  std::vector<size_t> at;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (depth == 0 && s.compare(i, token.size(), token) == 0 &&
               !(IsLetter(token.back()) && i + token.size() < s.size() &&
                 IsLetter(s[i + token.size()]))) {
      at.push_back(i);
    }
  }
  return at;
}

// The index where the bracket at s[start] closes (any closer: "[1,2)"), or npos.
size_t GroupEnd(const std::string& s, size_t start) {
  int depth = 0;
  for (size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    depth += (c == '(' || c == '[' || c == '{') ? 1 : (c == ')' || c == ']' || c == '}') ? -1 : 0;
    if (depth == 0) return i;
  }
  return std::string::npos;
}

std::vector<std::string> SplitAt(const std::string& s, const std::vector<size_t>& at,
                                 size_t width) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t i : at) {
    parts.push_back(Trim(s.substr(begin, i - begin)));
    begin = i + width;
  }
  parts.push_back(Trim(s.substr(begin)));
  if (parts.size() > kMaxItems) throw TooComplex();
  return parts;
}

std::string ReplacePlusMinus(const std::string& s, char pm, char mp) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool command = s.compare(i, 3, "\\pm") == 0 || s.compare(i, 3, "\\mp") == 0;
    if (command && !(i + 3 < s.size() && IsLetter(s[i + 3]))) {
      out += s[i + 1] == 'p' ? pm : mp;
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The elements of a comma or semicolon list; empty ones ("19, 46, , 82" from
// "and") dropped; with expand_pm, "a \pm b" is the two elements a+b, a-b.
std::vector<std::string> Items(const std::string& s, bool expand_pm) {
  std::vector<size_t> at = TopLevel(s, ",");
  const std::vector<size_t> semicolons = TopLevel(s, ";");
  at.insert(at.end(), semicolons.begin(), semicolons.end());
  std::sort(at.begin(), at.end());
  std::vector<std::string> items;
  for (const std::string& part : SplitAt(s, at, 1)) {
    if (part.empty()) continue;
    const std::string plus = expand_pm ? ReplacePlusMinus(part, '+', '-') : part;
    items.push_back(plus);
    if (plus != part) items.push_back(ReplacePlusMinus(part, '-', '+'));
  }
  return items;
}

bool IsVariable(const std::string& s) {
  size_t i = 0;
  if (!s.empty() && IsLetter(s[0])) {
    i = 1;
  } else if (s.size() > 1 && s[0] == '\\') {
    i = 1;
    while (i < s.size() && IsLetter(s[i])) ++i;
    if (!IsGreek(s.substr(1, i - 1))) return false;
  } else {
    return false;
  }
  return i == s.size() || (s[i] == '_' && i + 1 < s.size());
}

// The left side of an assignment: "x", "\theta", "a_1", "(p, q)", "f(x)".
bool IsAssignee(const std::string& lhs) {
  std::string s = Compact(lhs);
  if (IsVariable(s)) return true;
  if (s.size() > 2 && IsLetter(s[0]) && s[1] == '(') s = s.substr(1);  // f(x)
  if (s.size() < 3 || s.front() != '(' || s.back() != ')') return false;
  const std::vector<std::string> names = Items(s.substr(1, s.size() - 2), false);
  return !names.empty() && std::all_of(names.begin(), names.end(), IsVariable);
}

Structure ParseStructure(const std::string& s, int depth);

Structure ParseElement(const std::string& text, int depth) {
  if (depth > kMaxDepth) throw TooComplex();
  using Kind = Structure::Kind;
  const std::string s = Trim(text);
  Structure node;
  const std::vector<size_t> equals = TopLevel(s, "=");
  if (!equals.empty()) {
    node.kind = Kind::kEquation;
    node.text = Trim(s.substr(0, equals.front()));
    node.rhs = Trim(s.substr(equals.back() + 1));
    node.chain = equals.size() > 1;
    node.assignment = node.chain || IsAssignee(node.text);
    node.items.push_back(ParseStructure(node.rhs, depth + 1));
    return node;
  }
  const std::vector<size_t> cups = TopLevel(s, "\\cup");
  if (!cups.empty()) {
    node.kind = Kind::kUnion;
    for (const std::string& part : SplitAt(s, cups, 4)) {
      node.items.push_back(ParseElement(part, depth + 1));
    }
    return node;
  }
  const size_t last = s.empty() ? 0 : s.size() - 1;
  if (s.size() >= 4 && s.compare(0, 2, "\\{") == 0 && s[last - 1] == '\\' &&
      GroupEnd(s, 1) == last) {
    node.kind = Kind::kSet;
    for (const std::string& item : Items(s.substr(2, s.size() - 4), true)) {
      node.items.push_back(ParseElement(item, depth + 1));
    }
    return node;
  }
  if (s.size() >= 2 && (s[0] == '(' || s[0] == '[') && (s[last] == ')' || s[last] == ']') &&
      GroupEnd(s, 0) == last) {
    const std::vector<std::string> items = Items(s.substr(1, s.size() - 2), false);
    if (items.size() >= 2) {
      node.kind = Kind::kTuple;
      node.open = s[0];
      node.close = s[last];
      for (const std::string& item : items) node.items.push_back(ParseElement(item, depth + 1));
      return node;
    }
  }
  if (s.size() >= 2 && s[0] == '{' && GroupEnd(s, 0) == last) {  // a TeX group: "{1,3}"
    return ParseStructure(s.substr(1, s.size() - 2), depth + 1);
  }
  node.text = s;
  return node;
}

Structure ParseStructure(const std::string& s, int depth) {
  if (depth > kMaxDepth) throw TooComplex();
  const std::vector<std::string> items = Items(s, true);
  if (items.size() <= 1) return ParseElement(items.empty() ? s : items[0], depth + 1);
  Structure list;
  list.kind = Structure::Kind::kList;
  for (const std::string& item : items) list.items.push_back(ParseElement(item, depth + 1));
  return list;
}

// ---------------------------------------------------------------------------
// Comparison.

// One MathEquivalent call: its tolerance, and how many more element
// comparisons it may make (sets compare every element with every other).
struct Comparison {
  double rel_tol;
  int budget = kMaxComparisons;
};

bool IsIntegerLiteral(const std::string& s) {
  const size_t start = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return s.size() > start && std::all_of(s.begin() + static_cast<long>(start), s.end(),
                                         [](char c) { return IsDigit(c); });
}

// Sign and digits without leading zeros; "-0" is "0".
std::string CanonicalInteger(const std::string& s) {
  const bool negative = s[0] == '-';
  size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
  while (i + 1 < s.size() && s[i] == '0') ++i;
  const std::string digits = s.substr(i);
  return (negative && digits != "0" ? "-" : "") + digits;
}

// A run of two or more letters that is no function or constant name.
bool HasWord(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && IsLetter(s[j])) ++j;
    if (j - i >= 2 && (i == 0 || s[i - 1] != '\\') && !IsKnownName(s.substr(i, j - i))) {
      return true;
    }
    i = j > i ? j : i + 1;
  }
  return false;
}

// Text, not mathematics: only letters and spaces, with a real word ("Monday").
bool IsWords(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLetter(c) || c == ' '; }) &&
         HasWord(s);
}

// A unit after a number: "miles", "cm^2", "km/h"; one-letter units ("5 m")
// are not told from variables.
bool IsUnit(const std::string& token) {
  if (token.empty() || !IsLetter(token[0]) || !HasWord(token)) return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    return IsLetter(c) || IsDigit(c) || c == '/' || c == '^' || c == '{' || c == '}';
  });
}

bool IsConstant(const std::string& s) {
  Pool pool;
  return ParseExpression(s, &pool) >= 0 && pool.variables.empty();
}

// "125 miles" -> "125", "5 cm ^2" -> "5": trailing unit words after a constant.
std::string StripUnits(const std::string& s) {
  std::string rest;
  for (char c : s) {
    if (c == '^' && !rest.empty() && rest.back() == ' ') rest.pop_back();
    rest += c;
  }
  size_t cut = rest.size();
  for (size_t space; cut > 0 && (space = rest.rfind(' ', cut - 1)) != std::string::npos;) {
    if (!IsUnit(rest.substr(space + 1, cut - space - 1))) break;
    cut = space;
  }
  if (cut == rest.size()) return s;
  rest = Trim(rest.substr(0, cut));
  return IsConstant(rest) ? rest : s;
}

bool ScalarEqual(std::string a, std::string b, Comparison& c) {
  if (Compact(a) == Compact(b)) return true;
  a = StripUnits(a);
  b = StripUnits(b);
  if (Compact(a) == Compact(b)) return true;
  if (IsIntegerLiteral(Compact(a)) && IsIntegerLiteral(Compact(b))) {
    return CanonicalInteger(Compact(a)) == CanonicalInteger(Compact(b));
  }
  if (IsWords(a) || IsWords(b)) return Lower(Compact(a)) == Lower(Compact(b));
  Pool pool;
  const int x = ParseExpression(a, &pool);
  const int y = ParseExpression(b, &pool);
  if (x < 0 || y < 0) return false;
  if (pool.variables.empty()) return SameConstant(pool, x, y, c.rel_tol);
  // Rounding in the evaluation needs some tolerance even when rel_tol is 0.
  return Proportional(pool, x, y, std::max(c.rel_tol, 1e-9), false);
}

// lhs - rhs of an equation, or -1.
int Difference(const Structure& equation, Pool* pool) {
  const int lhs = ParseExpression(equation.text, pool);
  const int rhs = ParseExpression(equation.rhs, pool);
  return pool->Add(Op::kSum, {lhs, rhs}, {false, true});
}

bool Equal(const Structure& a, const Structure& b, Comparison& c);

// Every element of each has an equal one in the other: order and repeats do not matter.
bool SameSet(const std::vector<Structure>& a, const std::vector<Structure>& b, Comparison& c) {
  auto covered = [&](const std::vector<Structure>& x, const std::vector<Structure>& y) {
    return std::all_of(x.begin(), x.end(), [&](const Structure& e) {
      return std::any_of(y.begin(), y.end(), [&](const Structure& f) { return Equal(e, f, c); });
    });
  };
  return covered(a, b) && covered(b, a);
}

bool SameSequence(const std::vector<Structure>& a, const std::vector<Structure>& b, Comparison& c) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!Equal(a[i], b[i], c)) return false;
  }
  return true;
}

bool EquationsEqual(const Structure& a, const Structure& b, Comparison& c) {
  using Kind = Structure::Kind;
  if (a.kind == Kind::kEquation && b.kind == Kind::kEquation) {
    if (Compact(a.text) == Compact(b.text)) return Equal(a.items[0], b.items[0], c);
    if (a.chain || b.chain) return false;
    Pool pool;
    const int x = Difference(a, &pool), y = Difference(b, &pool);
    return x >= 0 && y >= 0 && !pool.variables.empty() &&
           Proportional(pool, x, y, std::max(c.rel_tol, 1e-9), true);
  }
  // One equation: "x = 5" against "5".
  const Structure& equation = a.kind == Kind::kEquation ? a : b;
  const Structure& other = a.kind == Kind::kEquation ? b : a;
  return equation.assignment && Equal(equation.items[0], other, c);
}

bool Equal(const Structure& a, const Structure& b, Comparison& c) {
  using Kind = Structure::Kind;
  if (--c.budget < 0) throw TooComplex();
  if (a.kind == Kind::kEquation || b.kind == Kind::kEquation) return EquationsEqual(a, b, c);
  const bool a_set = a.kind == Kind::kList || a.kind == Kind::kSet;
  const bool b_set = b.kind == Kind::kList || b.kind == Kind::kSet;
  if (a_set && b_set) return SameSet(a.items, b.items, c);
  if (a_set || b_set) {
    const Structure& set = a_set ? a : b;
    const Structure& other = a_set ? b : a;
    // A bare list against a tuple: "1, 3" is read as "(1, 3)".
    if (set.kind == Kind::kList && other.kind == Kind::kTuple && other.open == '(' &&
        other.close == ')') {
      return SameSequence(set.items, other.items, c);
    }
    return set.kind == Kind::kSet && set.items.size() == 1 && Equal(set.items[0], other, c);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kUnion:
      return SameSet(a.items, b.items, c);
    case Kind::kTuple:
      return a.open == b.open && a.close == b.close && SameSequence(a.items, b.items, c);
    default:
      return ScalarEqual(a.text, b.text, c);
  }
}

// p% is both p/100 and p: graders split on this (Math-Verify reads p/100,
// hendrycks/PRM800K drop the sign), so either reading is accepted.
std::vector<std::string> PercentReadings(const std::string& s) {
  if (s.find('%') == std::string::npos) return {s};
  std::string bare, scaled;
  for (char c : s) {
    if (c == '%') {
      scaled += "/100";
    } else {
      bare += c;
      scaled += c;
    }
  }
  return {bare, scaled};
}

}  // namespace

bool MathEquivalent(const std::string& gold, const std::string& answer,
                    const MathOptions& options) {
  if (gold.size() > kMaxLength || answer.size() > kMaxLength) return false;
  try {
    const std::string g = Normalise(gold), a = Normalise(answer);
    if (g.empty() || a.empty()) return false;
    Comparison comparison{options.rel_tol};
    for (const std::string& gold_reading : PercentReadings(g)) {
      const Structure gold_structure = ParseStructure(gold_reading, 0);
      for (const std::string& answer_reading : PercentReadings(a)) {
        if (Equal(gold_structure, ParseStructure(answer_reading, 0), comparison)) return true;
      }
    }
  } catch (...) {
    // TooComplex, or memory: not equivalent.
  }
  return false;
}

}  // namespace crescent::reward
