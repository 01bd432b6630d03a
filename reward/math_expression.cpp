// Expressions read (see math_expression.hpp): the names the parser knows,
// and the Parser.
#include "reward/math_expression.hpp"

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "reward/math_normalise.hpp"

namespace crescent::reward::math_internal {
namespace {

bool IsFunction(const std::string& name) {
  return OneOf(name, {"sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "arcsin",
                      "arccos", "arctan"});
}

// Names read as one token in plain letters too ("sin x", "2pi"), longest first.
constexpr const char* kLetterNames[] = {"arcsin", "arccos", "arctan", "sqrt", "sin", "cos", "tan",
                                        "sec",    "csc",    "cot",    "log",  "exp", "ln",  "pi"};

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

}  // namespace

bool IsGreek(const std::string& name) {
  return OneOf(name, {"alpha",  "beta",  "gamma",    "delta",   "epsilon", "varepsilon", "zeta",
                      "eta",    "theta", "vartheta", "iota",    "kappa",   "lambda",     "mu",
                      "nu",     "xi",    "rho",      "sigma",   "tau",     "upsilon",    "phi",
                      "varphi", "chi",   "psi",      "omega",   "Gamma",   "Delta",      "Theta",
                      "Lambda", "Xi",    "Sigma",    "Upsilon", "Phi",     "Psi",        "Omega"});
}

bool IsKnownName(const std::string& word) {
  for (const char* name : kLetterNames) {
    if (word == name) return true;
  }
  return false;
}

int ParseExpression(const std::string& text, Pool* pool) { return Parser(text, pool).Parse(); }

}  // namespace crescent::reward::math_internal
