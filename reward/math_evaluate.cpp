// Expressions evaluated (see math_expression.hpp): exactly, in big rationals,
// when they are rational, else in doubles, at sample points when they have
// variables.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reward/math_expression.hpp"
#include "reward/math_number.hpp"

namespace crescent::reward::math_internal {
namespace {

constexpr int kSamplePoints = 8;
constexpr double kAbsTol = 1e-12;  // rounding error of values that should be 0

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

}  // namespace

bool SameConstant(const Pool& pool, int x, int y, double rel_tol) {
  const auto ex = EvaluateExact(pool, x), ey = EvaluateExact(pool, y);
  if (ex && ey) return Equal(*ex, *ey);
  const double u = Evaluate(pool, x, {}), v = Evaluate(pool, y, {});
  // \infty equals \infty; an overflow (2^{100000}) equals nothing.
  if (std::isinf(u) || std::isinf(v)) return u == v && HasInfinity(pool, x) && HasInfinity(pool, y);
  return Close(u, v, rel_tol);
}

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

}  // namespace crescent::reward::math_internal
