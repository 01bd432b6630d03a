// Math answer checking (see math_verify.hpp) in three steps: Normalise turns
// the many LaTeX spellings of an answer into one; ParseStructure splits it
// into tuples, intervals, sets, lists and equations; a small recursive-descent
// Parser reads each element into an expression tree that is evaluated exactly
// (big rationals) when it is rational, else in doubles at sample points.
#include "reward/math_verify.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crescent::reward {
namespace {

// Bounds that keep hostile input cheap.
constexpr size_t kMaxLength = 20000;     // characters of one answer
constexpr int kMaxDepth = 64;            // nesting of brackets, groups and expression trees
constexpr size_t kMaxItems = 128;        // elements of one tuple, set or list
constexpr size_t kMaxLimbs = 128;        // exact arithmetic up to ~1150 digits, then doubles
constexpr int kMaxComparisons = 100000;  // element comparisons in one call
constexpr int kSamplePoints = 8;
constexpr double kAbsTol = 1e-12;  // rounding error of values that should be 0

// Thrown inside (caught by MathEquivalent) when input passes the bounds above.
struct TooComplex {};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool OneOf(const std::string& s, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (s == name) return true;
  }
  return false;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Without spaces: the form two answers are compared in as text.
// Without spaces, but for one between two digits: "1 9" is no number 19
// (thousands separators are merged before).
std::string Compact(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsSpace(s[i])) {
      out += s[i];
    } else if (!out.empty() && IsDigit(out.back()) && i + 1 < s.size() && IsDigit(s[i + 1])) {
      out += ' ';
    }
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool IsGreek(const std::string& name) {
  return OneOf(name, {"alpha",  "beta",  "gamma",    "delta",   "epsilon", "varepsilon", "zeta",
                      "eta",    "theta", "vartheta", "iota",    "kappa",   "lambda",     "mu",
                      "nu",     "xi",    "rho",      "sigma",   "tau",     "upsilon",    "phi",
                      "varphi", "chi",   "psi",      "omega",   "Gamma",   "Delta",      "Theta",
                      "Lambda", "Xi",    "Sigma",    "Upsilon", "Phi",     "Psi",        "Omega"});
}

bool IsFunction(const std::string& name) {
  return OneOf(name, {"sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "arcsin",
                      "arccos", "arctan"});
}

// Names read as one token in plain letters too ("sin x", "2pi"), longest first.
constexpr const char* kLetterNames[] = {"arcsin", "arccos", "arctan", "sqrt", "sin", "cos", "tan",
                                        "sec",    "csc",    "cot",    "log",  "exp", "ln",  "pi"};

bool IsKnownName(const std::string& word) {
  for (const char* name : kLetterNames) {
    if (word == name) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Exact numbers: integers of any size (sign and base-1e9 limbs, least
// significant first) and rationals of them, so that integer answers and
// fractions are never compared through double.

constexpr uint32_t kBase = 1000000000;

struct BigInt {
  bool negative = false;
  std::vector<uint32_t> limbs;  // empty for zero

  static BigInt FromDigits(const std::string& digits) {
    BigInt r;
    for (size_t end = digits.size(); end > 0;) {
      const size_t begin = end >= 9 ? end - 9 : 0;
      r.limbs.push_back(static_cast<uint32_t>(std::stoul(digits.substr(begin, end - begin))));
      end = begin;
    }
    r.Trim();
    return r;
  }
  static BigInt FromInt(long long v) {
    BigInt r = FromDigits(std::to_string(v < 0 ? -static_cast<unsigned long long>(v)
                                               : static_cast<unsigned long long>(v)));
    r.negative = v < 0;
    r.Trim();
    return r;
  }
  void Trim() {
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
    if (limbs.empty()) negative = false;
  }
  bool IsZero() const { return limbs.empty(); }
  bool operator==(const BigInt& o) const { return negative == o.negative && limbs == o.limbs; }
};

int CompareMagnitude(const BigInt& a, const BigInt& b) {
  if (a.limbs.size() != b.limbs.size()) return a.limbs.size() < b.limbs.size() ? -1 : 1;
  for (size_t i = a.limbs.size(); i-- > 0;) {
    if (a.limbs[i] != b.limbs[i]) return a.limbs[i] < b.limbs[i] ? -1 : 1;
  }
  return 0;
}

BigInt Negate(BigInt a) {
  if (!a.IsZero()) a.negative = !a.negative;
  return a;
}

BigInt Add(const BigInt& a, const BigInt& b) {
  BigInt r;
  if (a.negative == b.negative) {
    uint64_t carry = 0;
    for (size_t i = 0; i < std::max(a.limbs.size(), b.limbs.size()) || carry; ++i) {
      const uint64_t sum =
          carry + (i < a.limbs.size() ? a.limbs[i] : 0) + (i < b.limbs.size() ? b.limbs[i] : 0);
      r.limbs.push_back(static_cast<uint32_t>(sum % kBase));
      carry = sum / kBase;
    }
    r.negative = a.negative;
  } else {
    // |big| - |small|, with the sign of the bigger magnitude.
    const bool a_bigger = CompareMagnitude(a, b) >= 0;
    const BigInt& big = a_bigger ? a : b;
    const BigInt& small = a_bigger ? b : a;
    int64_t borrow = 0;
    for (size_t i = 0; i < big.limbs.size(); ++i) {
      int64_t d = static_cast<int64_t>(big.limbs[i]) - borrow -
                  (i < small.limbs.size() ? small.limbs[i] : 0);
      borrow = d < 0;
      if (d < 0) d += kBase;
      r.limbs.push_back(static_cast<uint32_t>(d));
    }
    r.negative = big.negative;
  }
  r.Trim();
  return r;
}

BigInt Mul(const BigInt& a, const BigInt& b) {
  BigInt r;
  if (a.IsZero() || b.IsZero()) return r;
  std::vector<uint64_t> acc(a.limbs.size() + b.limbs.size() + 1, 0);
  for (size_t i = 0; i < a.limbs.size(); ++i) {
    uint64_t carry = 0;
    for (size_t j = 0; j < b.limbs.size() || carry; ++j) {
      const uint64_t cur =
          acc[i + j] + carry + (j < b.limbs.size() ? uint64_t{a.limbs[i]} * b.limbs[j] : 0);
      acc[i + j] = cur % kBase;
      carry = cur / kBase;
    }
  }
  for (uint64_t limb : acc) r.limbs.push_back(static_cast<uint32_t>(limb));
  r.negative = a.negative != b.negative;
  r.Trim();
  return r;
}

// num/den with den > 0, not reduced: compared by cross-multiplying.
struct Rational {
  BigInt num, den;
};

std::optional<Rational> Checked(Rational r) {
  if (r.num.limbs.size() > kMaxLimbs || r.den.limbs.size() > kMaxLimbs) return std::nullopt;
  return r;
}

std::optional<Rational> Add(const Rational& a, const Rational& b) {
  return Checked({Add(Mul(a.num, b.den), Mul(b.num, a.den)), Mul(a.den, b.den)});
}

std::optional<Rational> Mul(const Rational& a, const Rational& b) {
  return Checked({Mul(a.num, b.num), Mul(a.den, b.den)});
}

std::optional<Rational> Inverse(const Rational& a) {
  if (a.num.IsZero()) return std::nullopt;
  Rational r{a.den, a.num};
  if (r.den.negative) r = {Negate(r.num), Negate(r.den)};
  return r;
}

std::optional<Rational> Power(Rational base, long long exponent) {
  if (exponent < 0) {
    const auto inverse = Inverse(base);
    if (!inverse) return std::nullopt;
    base = *inverse;
    exponent = -exponent;
  }
  Rational result{BigInt::FromInt(1), BigInt::FromInt(1)};
  // Squaring stops at the size bound, so 2^{100000} costs a few steps.
  while (exponent > 0) {
    if (exponent & 1) {
      const auto next = Mul(result, base);
      if (!next) return std::nullopt;
      result = *next;
    }
    exponent >>= 1;
    if (exponent > 0) {
      const auto square = Mul(base, base);
      if (!square) return std::nullopt;
      base = *square;
    }
  }
  return result;
}

bool Equal(const Rational& a, const Rational& b) { return Mul(a.num, b.den) == Mul(b.num, a.den); }

// ---------------------------------------------------------------------------
// Normalise: one left-to-right pass over the text rewriting LaTeX to a small
// vocabulary (\frac, \sqrt, \pi, \infty, \cup, \pm, \{ \}, greek letters,
// * / ^ _ ( ) [ ] { } , ; = %), then spaces, trailing periods and thousands
// separators.

// A UTF-8 symbol's LaTeX spelling appended to out; the bytes it took, 0 if none.
size_t Utf8Symbol(const std::string& in, size_t i, std::string* out) {
  static const std::pair<const char*, const char*> kSymbols[] = {{"\xc2\xb0", ""},
                                                                 {"\xe2\x88\x92", "-"},
                                                                 {"\xc3\x97", "*"},
                                                                 {"\xc2\xb7", "*"},
                                                                 {"\xe2\x8b\x85", "*"},
                                                                 {"\xcf\x80", "\\pi "},
                                                                 {"\xe2\x88\x9e", "\\infty "},
                                                                 {"\xe2\x88\x9a", "\\sqrt "},
                                                                 {"\xe2\x88\xaa", "\\cup "},
                                                                 {"\xc2\xb1", "\\pm "}};
  for (const auto& [from, to] : kSymbols) {
    const size_t n = std::strlen(from);
    if (in.compare(i, n, from) == 0) {
      *out += to;
      return n;
    }
  }
  return 0;
}

// ^\circ, ^{\circ} and \degree go: drops the '^' (and the "^{" whose '}' is
// still to come) that out ends with.
void DropDegree(std::string* out, std::vector<bool>* drop_close) {
  while (!out->empty() && out->back() == ' ') out->pop_back();
  if (!out->empty() && out->back() == '^') {
    out->pop_back();
  } else if (out->size() >= 2 && out->compare(out->size() - 2, 2, "^{") == 0 &&
             !drop_close->empty()) {
    out->resize(out->size() - 2);
    drop_close->back() = true;
  }
}

// A backslash followed by a non-letter at in[i]; returns the index after it.
size_t NormaliseSymbol(const std::string& in, size_t i, std::string* out) {
  const char next = i + 1 < in.size() ? in[i + 1] : ' ';
  switch (next) {
    case '\\':  // "\\frac": an over-escaped backslash; otherwise a line break
      if (i + 2 < in.size() && IsLetter(in[i + 2])) return i + 1;
      *out += ' ';
      return i + 2;
    case '{':
    case '}':
      *out += '\\';
      *out += next;
      return i + 2;
    case '%':
      *out += '%';
      return i + 2;
    case '!': {  // "32,\! 349": the comma was a thousands separator
      size_t j = i + 2;
      while (j < in.size() && IsSpace(in[j])) ++j;
      if (out->size() >= 2 && out->back() == ',' && IsDigit((*out)[out->size() - 2]) &&
          j < in.size() && IsDigit(in[j])) {
        out->pop_back();
        return j;
      }
      return i + 2;
    }
    case '$':  // \$ and the math delimiters \( \) \[ \]
    case '(':
    case ')':
    case '[':
    case ']':
    case '#':
    case '&':
      return i + 2;
    default:  // spacing: \, \; \: "\ "
      *out += ' ';
      return i + 2;
  }
}

// The command at in[i] ("\name"); returns the index after it.
size_t NormaliseCommand(const std::string& in, size_t i, std::string* out,
                        std::vector<bool>* drop_close) {
  size_t j = i + 1;
  while (j < in.size() && IsLetter(in[j])) ++j;
  const std::string name = in.substr(i + 1, j - i - 1);
  if (name.empty()) return NormaliseSymbol(in, i, out);
  if (OneOf(name, {"left", "right"})) return j < in.size() && in[j] == '.' ? j + 1 : j;
  if (OneOf(name, {"text", "textnormal", "textrm", "textbf", "textit", "mbox", "mathrm", "mathbf",
                   "mathit", "operatorname", "boxed", "fbox"})) {
    // The argument stays, the braces go: \text{5 cm} -> " 5 cm ".
    size_t k = j;
    while (k < in.size() && IsSpace(in[k])) ++k;
    if (k < in.size() && in[k] == '{') {
      drop_close->push_back(true);
      *out += ' ';
      return k + 1;
    }
    return j;
  }
  if (OneOf(name, {"dfrac", "tfrac", "cfrac"})) {
    *out += "\\frac";
  } else if (OneOf(name, {"cdot", "times", "ast"})) {
    *out += '*';
  } else if (name == "div") {
    *out += '/';
  } else if (name == "in") {  // "x \in [1, 2]" is read as an assignment
    *out += '=';
  } else if (OneOf(name, {"circ", "degree"})) {
    DropDegree(out, drop_close);
  } else if (OneOf(name, {"quad", "qquad"})) {
    *out += ' ';
  } else if (name == "lbrace" || name == "rbrace") {
    *out += name == "lbrace" ? "\\{" : "\\}";
  } else if (!OneOf(name, {"displaystyle", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "limits",
                           "mathstrut"})) {
    *out += '\\' + name;
  }
  return j;
}

// A plain word: "and"/"or" separate answers, "percent"/"pct" is '%'.
std::string NormaliseWord(const std::string& word) {
  const std::string lower = Lower(word);
  if (lower == "and" || lower == "or") return " , ";
  if (lower == "percent" || lower == "pct") return "%";
  return word;
}

// "7,425,000" -> "7425000" outside brackets (inside them a comma separates
// elements: "(1,500)" is a pair), and "1 000" -> "1000" anywhere.
std::string MergeThousands(const std::string& s) {
  std::string out;
  int depth = 0;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    const bool escaped = i > 0 && s[i - 1] == '\\';
    if (c == '(' || c == '[' || (c == '{' && escaped)) ++depth;
    if (c == ')' || c == ']' || (c == '}' && escaped)) --depth;
    const bool starts_number =
        IsDigit(c) && (i == 0 || !(IsDigit(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == ','));
    if (!starts_number) {
      out += c;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    out.append(s, i, j - i);
    if (j - i <= 3 && c != '0') {
      for (char separator : {',', ' '}) {
        if (separator == ',' && depth > 0) continue;
        size_t k = j;
        std::string groups;
        while (k + 3 < s.size() && s[k] == separator && IsDigit(s[k + 1]) && IsDigit(s[k + 2]) &&
               IsDigit(s[k + 3]) && (k + 4 == s.size() || !IsDigit(s[k + 4]))) {
          groups.append(s, k + 1, 3);
          k += 4;
        }
        if (!groups.empty()) {
          out += groups;
          j = k;
          break;
        }
      }
    }
    i = j;
  }
  return out;
}

std::string Normalise(const std::string& in) {
  std::string out;
  std::vector<bool> drop_close;  // per open '{': whether its '}' goes (\text{...})
  for (size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (c == '\\') {
      i = NormaliseCommand(in, i, &out, &drop_close);
    } else if (IsLetter(c)) {
      size_t j = i;
      while (j < in.size() && IsLetter(in[j])) ++j;
      out += NormaliseWord(in.substr(i, j - i));
      i = j;
    } else if (c == '{' && in.compare(i, 3, "{,}") == 0) {  // "1{,}000"
      if (out.empty() || !IsDigit(out.back())) out += ',';
      i += 3;
    } else if (c == '{') {
      drop_close.push_back(false);
      out += '{';
      ++i;
    } else if (c == '}') {
      const bool drop = !drop_close.empty() && drop_close.back();
      if (!drop_close.empty()) drop_close.pop_back();
      out += drop ? ' ' : '}';
      ++i;
    } else if (c == '$') {
      ++i;
    } else if (IsSpace(c) || c == '~') {
      out += ' ';
      ++i;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      const size_t n = Utf8Symbol(in, i, &out);
      if (n == 0) out += c;
      i += n == 0 ? 1 : n;
    } else {
      out += c;
      ++i;
    }
  }
  // One space at most, none at the ends, no trailing period.
  std::string tidy;
  for (char c : out) {
    if (c == ' ' && (tidy.empty() || tidy.back() == ' ')) continue;
    tidy += c;
  }
  while (!tidy.empty() && (tidy.back() == ' ' || tidy.back() == '.')) tidy.pop_back();
  return MergeThousands(tidy);
}

// ---------------------------------------------------------------------------
// Expressions: trees in a pool shared by the two sides of a comparison, so
// that a variable has one number on both.

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

// Recursive descent over a normalised element:
//   sum     := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary | power)*      juxtaposition multiplies,
//                                                      unless a number follows
//   unary   := ('-' | '+') unary | power
//   power   := primary ('^' exponent)*
//   primary := number | group | letters | \command
// TeX arguments (\frac94, \sqrt3) are one token: a digit, a letter, a group
// or a command.
class Parser {
 public:
  Parser(const std::string& text, Pool* pool) : s_(text), pool_(pool) {}

  // The root, or -1 when the text is not one expression.
  int Parse() {
    const int root = ParseSum();
    SkipSpaces();
    return pos_ == s_.size() ? root : -1;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(int* d) : depth(d) { ++*depth; }
    ~DepthGuard() { --*depth; }
    int* depth;
  };

  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void SkipSpaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  int Leaf(Op op) {
    Expr e;
    e.op = op;
    return pool_->Add(std::move(e));
  }

  int ParseSum() {
    std::vector<int> terms{ParseProduct()};
    std::vector<bool> minus{false};
    for (SkipSpaces(); terms.back() >= 0 && (Peek() == '+' || Peek() == '-'); SkipSpaces()) {
      minus.push_back(s_[pos_++] == '-');
      terms.push_back(ParseProduct());
    }
    return terms.size() == 1 ? terms[0] : pool_->Add(Op::kSum, terms, minus);
  }

  int ParseProduct() {
    std::vector<int> factors{ParseUnary()};
    std::vector<bool> divided{false};
    while (factors.back() >= 0) {
      SkipSpaces();
      if (Peek() == '*' || Peek() == '/') {
        divided.push_back(s_[pos_++] == '/');
        factors.push_back(ParseUnary());
      } else if (StartsImplicitFactor()) {
        divided.push_back(false);
        factors.push_back(ParsePower());
      } else {
        break;
      }
    }
    return factors.size() == 1 ? factors[0] : pool_->Add(Op::kProduct, factors, divided);
  }

  // Juxtaposition: "2x", "2\sqrt{2}", "(x-2)(x+2)"; never before a number,
  // so "7 3/4" and "x2" are no expressions.
  bool StartsImplicitFactor() const {
    const char c = Peek();
    if (c == '(' || c == '[' || c == '{' || IsLetter(c)) return true;
    if (c != '\\') return false;
    size_t j = pos_ + 1;
    while (j < s_.size() && IsLetter(s_[j])) ++j;
    const std::string name = s_.substr(pos_ + 1, j - pos_ - 1);
    return OneOf(name, {"frac", "sqrt", "pi", "infty"}) || IsFunction(name) || IsGreek(name);
  }

  int ParseUnary() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return -1;
    SkipSpaces();
    if (Peek() == '-') {
      ++pos_;
      return pool_->Add(Op::kNegate, {ParseUnary()});
    }
    if (Peek() == '+') {
      ++pos_;
      return ParseUnary();
    }
    return ParsePower();
  }

  int ParsePower() {
    int base = ParsePrimary();
    for (SkipSpaces(); base >= 0 && Peek() == '^'; SkipSpaces()) {
      ++pos_;
      base = pool_->Add(Op::kPower, {base, ParseExponent()});
    }
    return base;
  }

  // After '^' (and a log's '_'): a TeX argument, but a whole digit run ("2^10").
  int ParseExponent() {
    SkipSpaces();
    bool negative = false;
    if (Peek() == '-' || Peek() == '+') {
      negative = s_[pos_++] == '-';
      SkipSpaces();
    }
    const int e = IsDigit(Peek()) ? ParseNumber(false) : ParseTexArg();
    return negative ? pool_->Add(Op::kNegate, {e}) : e;
  }

  int ParsePrimary() {
    DepthGuard guard(&depth_);
    if (depth_ > kMaxDepth) return -1;
    SkipSpaces();
    const char c = Peek();
    if (IsDigit(c) || c == '.') return ParseMixedNumber(ParseNumber(false));
    if (c == '(' || c == '[' || c == '{') return ParseGroup();
    if (IsLetter(c)) return ParseLetters();
    if (c == '\\') return ParseCommand();
    return -1;
  }

  int ParseNumber(bool one_digit) {
    const size_t start = pos_;
    if (one_digit) {
      ++pos_;
    } else {
      while (IsDigit(Peek())) ++pos_;
      if (Peek() == '.') {
        ++pos_;
        while (IsDigit(Peek())) ++pos_;
      }
    }
    const std::string literal = s_.substr(start, pos_ - start);
    if (literal == ".") return -1;
    Expr e;
    e.op = Op::kNumber;
    e.number = std::strtod(literal.c_str(), nullptr);
    if (literal.find('.') == std::string::npos) e.digits = literal;
    return pool_->Add(std::move(e));
  }

  // "2\frac{1}{4}" and "7 3/4" are mixed numbers, 2 + 1/4 (as latex2sympy and
  // PRM800K read them); `whole` is the number just read.
  int ParseMixedNumber(int whole) {
    const size_t start = pos_;
    if (whole < 0 || pool_->nodes[whole].digits.empty()) return whole;
    SkipSpaces();
    std::string numerator, denominator;
    bool mixed = false;
    const bool frac =
        s_.compare(pos_, 5, "\\frac") == 0 && !(pos_ + 5 < s_.size() && IsLetter(s_[pos_ + 5]));
    if (frac) {
      pos_ += 5;
      mixed = ReadIntegerArg(&numerator) && ReadIntegerArg(&denominator);
    } else if (pos_ > start && ReadDigits(&numerator) && Peek() == '/') {
      ++pos_;
      mixed = ReadDigits(&denominator);
    }
    if (!mixed) {
      pos_ = start;
      return whole;
    }
    const int fraction =
        pool_->Add(Op::kProduct, {Integer(numerator), Integer(denominator)}, {false, true});
    return pool_->Add(Op::kSum, {whole, fraction}, {false, false});
  }

  bool ReadDigits(std::string* digits) {
    const size_t start = pos_;
    while (IsDigit(Peek())) ++pos_;
    *digits = s_.substr(start, pos_ - start);
    return !digits->empty();
  }

  // A TeX argument that is an integer: "{12}" or one digit.
  bool ReadIntegerArg(std::string* digits) {
    SkipSpaces();
    if (IsDigit(Peek())) {
      *digits = std::string(1, s_[pos_++]);
      return true;
    }
    if (Peek() != '{') return false;
    ++pos_;
    SkipSpaces();
    if (!ReadDigits(digits)) return false;
    SkipSpaces();
    if (Peek() != '}') return false;
    ++pos_;
    return true;
  }

  int Integer(const std::string& digits) {
    Expr e;
    e.number = std::strtod(digits.c_str(), nullptr);
    e.digits = digits;
    return pool_->Add(std::move(e));
  }

  int ParseGroup() {
    const char open = s_[pos_++];
    const char close = open == '(' ? ')' : open == '[' ? ']' : '}';
    const int inner = ParseSum();
    SkipSpaces();
    if (inner < 0 || Peek() != close) return -1;
    ++pos_;
    return inner;
  }

  // "x_1", "a_{n}": the subscript is part of the variable's name.
  std::string ParseSubscript() {
    if (Peek() != '_') return "";
    const size_t start = pos_++;
    if (Peek() == '{') {
      for (int depth = 0; pos_ < s_.size();) {
        const char c = s_[pos_++];
        depth += c == '{' ? 1 : c == '}' ? -1 : 0;
        if (depth == 0) break;
      }
    } else if (pos_ < s_.size()) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  int Letter(char letter) {
    const std::string subscript = ParseSubscript();
    if (letter == 'e' && subscript.empty()) return Leaf(Op::kE);
    return pool_->Variable(std::string(1, letter) + subscript);
  }

  // Plain letters: a known name ("sin", "pi") or one variable per letter.
  int ParseLetters() {
    for (const char* name : kLetterNames) {
      const size_t n = std::strlen(name);
      if (s_.compare(pos_, n, name) == 0) {
        pos_ += n;
        if (std::strcmp(name, "pi") == 0) return Leaf(Op::kPi);
        if (std::strcmp(name, "sqrt") == 0) return ParseRoot();
        return ParseFunction(name);
      }
    }
    return Letter(s_[pos_++]);
  }

  int ParseCommand() {
    const size_t start = ++pos_;
    while (IsLetter(Peek())) ++pos_;
    const std::string name = s_.substr(start, pos_ - start);
    if (name == "frac") {
      const int numerator = ParseTexArg();
      const int denominator = ParseTexArg();
      return pool_->Add(Op::kProduct, {numerator, denominator}, {false, true});
    }
    if (name == "sqrt") return ParseRoot();
    if (name == "pi") return Leaf(Op::kPi);
    if (name == "infty") return Leaf(Op::kInfinity);
    if (IsFunction(name)) return ParseFunction(name);
    if (IsGreek(name)) return pool_->Variable("\\" + name + ParseSubscript());
    return -1;
  }

  // \sqrt x, \sqrt{x}, \sqrt[n]{x}.
  int ParseRoot() {
    SkipSpaces();
    int index = -1;
    if (Peek() == '[') {
      ++pos_;
      index = ParseSum();
      SkipSpaces();
      if (index < 0 || Peek() != ']') return -1;
      ++pos_;
    }
    const int radicand = ParseTexArg();
    if (index < 0) {
      Expr e;
      e.op = Op::kFunction;
      e.function = "sqrt";
      e.kids = {radicand};
      return pool_->Add(std::move(e));
    }
    const int reciprocal = pool_->Add(Op::kProduct, {Integer("1"), index}, {false, true});
    return pool_->Add(Op::kPower, {radicand, reciprocal});
  }

  // \sin x, \sin(x), \sin^2(x) = (\sin x)^2, \log_2 8.
  int ParseFunction(const std::string& name) {
    int power = -1, base = -1;
    for (int k = 0; k < 2; ++k) {
      SkipSpaces();
      if (Peek() == '^' && power < 0) {
        ++pos_;
        if ((power = ParseExponent()) < 0) return -1;
      } else if (Peek() == '_' && name == "log" && base < 0) {
        ++pos_;
        if ((base = ParseExponent()) < 0) return -1;
      }
    }
    SkipSpaces();
    Expr e;
    e.op = Op::kFunction;
    e.function = name;
    e.kids = {Peek() == '(' ? ParseGroup() : ParsePower()};
    if (base >= 0) e.kids.push_back(base);
    const int applied = pool_->Add(std::move(e));
    return power < 0 ? applied : pool_->Add(Op::kPower, {applied, power});
  }

  int ParseTexArg() {
    SkipSpaces();
    const char c = Peek();
    if (IsDigit(c)) return ParseNumber(true);
    if (IsLetter(c)) return Letter(s_[pos_++]);
    return ParsePrimary();
  }

  const std::string& s_;
  Pool* pool_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// Real powers, with odd roots of negative numbers: (-8)^(1/3) = -2.
double RealPower(double base, double exponent) {
  if (base < 0 && std::floor(exponent) != exponent) {
    const double root = std::round(1 / exponent);
    if (std::fabs(1 / exponent - root) < 1e-9 && std::fmod(root, 2) != 0) {
      return -std::pow(-base, exponent);
    }
  }
  return std::pow(base, exponent);
}

double ApplyFunction(const std::string& f, double x, double base) {
  if (f == "sin") return std::sin(x);
  if (f == "cos") return std::cos(x);
  if (f == "tan") return std::tan(x);
  if (f == "sec") return 1 / std::cos(x);
  if (f == "csc") return 1 / std::sin(x);
  if (f == "cot") return 1 / std::tan(x);
  if (f == "sqrt") return std::sqrt(x);
  if (f == "exp") return std::exp(x);
  if (f == "arcsin") return std::asin(x);
  if (f == "arccos") return std::acos(x);
  if (f == "arctan") return std::atan(x);
  if (f == "log" && !std::isnan(base)) return std::log(x) / std::log(base);
  return std::log(x);  // ln, and log without a base (natural, as in sympy)
}

double Evaluate(const Pool& pool, int id, const std::vector<double>& values) {
  const Expr& e = pool.nodes[id];
  switch (e.op) {
    case Op::kNumber:
      return e.number;
    case Op::kVariable:
      return values[e.variable];
    case Op::kPi:
      return std::acos(-1.0);
    case Op::kE:
      return std::exp(1.0);
    case Op::kInfinity:
      return HUGE_VAL;
    case Op::kNegate:
      return -Evaluate(pool, e.kids[0], values);
    case Op::kSum: {
      double sum = 0;
      for (size_t i = 0; i < e.kids.size(); ++i) {
        const double v = Evaluate(pool, e.kids[i], values);
        sum += e.inverted[i] ? -v : v;
      }
      return sum;
    }
    case Op::kProduct: {
      double product = 1;
      for (size_t i = 0; i < e.kids.size(); ++i) {
        const double v = Evaluate(pool, e.kids[i], values);
        product = e.inverted[i] ? product / v : product * v;
      }
      return product;
    }
    case Op::kPower:
      return RealPower(Evaluate(pool, e.kids[0], values), Evaluate(pool, e.kids[1], values));
    case Op::kFunction:
      return ApplyFunction(e.function, Evaluate(pool, e.kids[0], values),
                           e.kids.size() > 1 ? Evaluate(pool, e.kids[1], values) : NAN);
  }
  return NAN;
}

// The exact value of a tree of integers, + - * / and integer powers; none
// for anything else (decimals, roots, constants, variables) or past the size bound.
std::optional<Rational> EvaluateExact(const Pool& pool, int id) {
  const Expr& e = pool.nodes[id];
  switch (e.op) {
    case Op::kNumber:
      if (e.digits.empty()) return std::nullopt;
      return Checked({BigInt::FromDigits(e.digits), BigInt::FromInt(1)});
    case Op::kNegate: {
      auto r = EvaluateExact(pool, e.kids[0]);
      if (r) r->num = Negate(r->num);
      return r;
    }
    case Op::kSum:
    case Op::kProduct: {
      const bool sum = e.op == Op::kSum;
      std::optional<Rational> acc = Rational{BigInt::FromInt(sum ? 0 : 1), BigInt::FromInt(1)};
      for (size_t i = 0; i < e.kids.size() && acc; ++i) {
        auto v = EvaluateExact(pool, e.kids[i]);
        if (v && e.inverted[i]) v = sum ? Rational{Negate(v->num), v->den} : Inverse(*v);
        acc = !v ? std::nullopt : sum ? Add(*acc, *v) : Mul(*acc, *v);
      }
      return acc;
    }
    case Op::kPower: {
      const auto exponent = EvaluateExact(pool, e.kids[1]);
      if (!exponent) return std::nullopt;
      const double k = Evaluate(pool, e.kids[1], {});
      if (!(std::fabs(k) <= 1e6) || std::floor(k) != k) return std::nullopt;
      const auto n = static_cast<long long>(k);
      if (!(Mul(exponent->den, BigInt::FromInt(n)) == exponent->num)) return std::nullopt;
      const auto base = EvaluateExact(pool, e.kids[0]);
      return base ? Power(*base, n) : std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

bool HasInfinity(const Pool& pool, int id) {
  const Expr& e = pool.nodes[id];
  if (e.op == Op::kInfinity) return true;
  return std::any_of(e.kids.begin(), e.kids.end(), [&](int kid) { return HasInfinity(pool, kid); });
}

bool Close(double a, double b, double rel_tol) {
  if (std::isnan(a) || std::isnan(b)) return false;
  const double diff = std::fabs(a - b);
  return diff <= rel_tol * std::max(std::fabs(a), std::fabs(b)) || diff <= kAbsTol;
}

// Fixed pseudo-random values in [0.2, 5): positive, so roots and logs stay
// real; the same points every call, so verdicts are reproducible.
class Sampler {
 public:
  double Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return 0.2 + 4.8 * static_cast<double>(state_ >> 11) / 9007199254740992.0;
  }

 private:
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

bool SameConstant(const Pool& pool, int x, int y, double rel_tol) {
  const auto ex = EvaluateExact(pool, x), ey = EvaluateExact(pool, y);
  if (ex && ey) return Equal(*ex, *ey);
  const double u = Evaluate(pool, x, {}), v = Evaluate(pool, y, {});
  // \infty equals \infty; an overflow (2^{100000}) equals nothing.
  if (std::isinf(u) || std::isinf(v)) return u == v && HasInfinity(pool, x) && HasInfinity(pool, y);
  return Close(u, v, rel_tol);
}

// Whether y(p) = ratio * x(p) at the sample points for one ratio: 1 for
// expressions, any nonzero constant for the two sides of equations.
bool Proportional(const Pool& pool, int x, int y, double rel_tol, bool any_ratio) {
  Sampler sampler;
  std::vector<double> values(pool.variables.size());
  double ratio = any_ratio ? NAN : 1;
  int agreed = 0;
  for (int p = 0; p < kSamplePoints; ++p) {
    for (double& v : values) v = sampler.Next();
    const double u = Evaluate(pool, x, values), w = Evaluate(pool, y, values);
    if (!std::isfinite(u) || !std::isfinite(w)) continue;  // outside a domain
    if (std::isnan(ratio)) {
      if (std::fabs(u) <= kAbsTol || std::fabs(w) <= kAbsTol) {
        if (std::fabs(u) > kAbsTol || std::fabs(w) > kAbsTol) return false;
        continue;
      }
      ratio = w / u;
    }
    if (!Close(ratio * u, w, rel_tol)) return false;
    ++agreed;
  }
  return agreed >= 3;
}

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
  return Parser(s, &pool).Parse() >= 0 && pool.variables.empty();
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
  const int x = Parser(a, &pool).Parse();
  const int y = Parser(b, &pool).Parse();
  if (x < 0 || y < 0) return false;
  if (pool.variables.empty()) return SameConstant(pool, x, y, c.rel_tol);
  // Rounding in the evaluation needs some tolerance even when rel_tol is 0.
  return Proportional(pool, x, y, std::max(c.rel_tol, 1e-9), false);
}

// lhs - rhs of an equation, or -1.
int Difference(const Structure& equation, Pool* pool) {
  const int lhs = Parser(equation.text, pool).Parse();
  const int rhs = Parser(equation.rhs, pool).Parse();
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

// ---------------------------------------------------------------------------
// Extraction.

// The contents of the last complete \boxed{...} / \fbox{...}, one linear pass.
std::string LastBoxed(const std::string& text) {
  std::vector<std::pair<size_t, bool>> open;  // content start, opened by \boxed
  size_t begin = 0, end = 0;
  bool found = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      const size_t name = text.compare(i, 6, "\\boxed") == 0  ? 6
                          : text.compare(i, 5, "\\fbox") == 0 ? 5
                                                              : 0;
      size_t j = i + name;
      while (name > 0 && j < text.size() && IsSpace(text[j])) ++j;
      if (name > 0 && j < text.size() && text[j] == '{') {
        open.emplace_back(j + 1, true);
        i = j;
      } else if (name == 0 && i + 1 < text.size()) {
        ++i;  // \{ and \} are no braces
      }
    } else if (text[i] == '{') {
      open.emplace_back(i + 1, false);
    } else if (text[i] == '}' && !open.empty()) {
      if (open.back().second) {
        begin = open.back().first;
        end = i;
        found = true;
      }
      open.pop_back();
    }
  }
  return found ? Trim(text.substr(begin, end - begin)) : "";
}

// The rest of the line after the last "####", "answer:" or "final answer is".
std::string AnswerLine(const std::string& text) {
  const std::string lower = Lower(text);
  size_t after = std::string::npos, best = 0;
  for (const char* marker : {"####", "answer:", "final answer is"}) {
    const size_t at = lower.rfind(marker);
    if (at != std::string::npos && (after == std::string::npos || at >= best)) {
      best = at;
      after = at + std::strlen(marker);
    }
  }
  if (after == std::string::npos) return "";
  const size_t newline = text.find('\n', after);
  std::string line =
      Trim(text.substr(after, newline == std::string::npos ? newline : newline - after));
  while (!line.empty() && (line[0] == ':' || line[0] == '*' || IsSpace(line[0]))) line.erase(0, 1);
  if (!line.empty() && line[0] == '$') {  // "$5$. I hope it is correct."
    const size_t start = line.find_first_not_of('$');
    const size_t close = start == std::string::npos ? start : line.find('$', start);
    if (close != std::string::npos) return Trim(line.substr(start, close - start));
  }
  while (!line.empty() && (line.back() == '.' || line.back() == '*' || IsSpace(line.back()))) {
    line.pop_back();
  }
  return line;
}

// The last number ("-3", "1,000", "2.5", "3/4") not inside a word ("AZYUK2A").
std::string LastNumber(const std::string& text) {
  std::string last;
  for (size_t i = 0; i < text.size();) {
    const bool starts =
        IsDigit(text[i]) || (text[i] == '.' && i + 1 < text.size() && IsDigit(text[i + 1]));
    if (!starts) {
      ++i;
      continue;
    }
    size_t start = i, j = i;
    auto digits = [&] {
      while (j < text.size() && IsDigit(text[j])) ++j;
    };
    digits();
    while (j + 3 < text.size() && text[j] == ',' && IsDigit(text[j + 1]) && IsDigit(text[j + 2]) &&
           IsDigit(text[j + 3]) && (j + 4 == text.size() || !IsDigit(text[j + 4]))) {
      j += 4;
    }
    if (j + 1 < text.size() && text[j] == '.' && IsDigit(text[j + 1])) {
      ++j;
      digits();
    }
    if (j + 1 < text.size() && text[j] == '/' && IsDigit(text[j + 1])) {
      ++j;
      digits();
    }
    if (start > 0 && text[start - 1] == '-' &&
        (start == 1 ||
         !(IsLetter(text[start - 2]) || IsDigit(text[start - 2]) || text[start - 2] == ')'))) {
      --start;
    }
    const bool in_word =
        (start > 0 && IsLetter(text[start - 1])) || (j < text.size() && IsLetter(text[j]));
    if (!in_word) last = text.substr(start, j - start);
    i = j;
  }
  return last;
}

}  // namespace

std::string ExtractMathAnswer(const std::string& response, const MathExtractOptions& options) {
  const size_t think = response.rfind("</think>");
  const std::string text = think == std::string::npos ? response : response.substr(think + 8);
  std::string answer = LastBoxed(text);
  if (!answer.empty() || options.fallback == AnswerFallback::kNone) return answer;
  answer = AnswerLine(text);
  if (!answer.empty() || options.fallback == AnswerFallback::kAnswerLine) return answer;
  return options.fallback == AnswerFallback::kWhole ? Trim(text) : LastNumber(text);
}

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
