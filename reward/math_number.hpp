// Internal to crescent_reward (the math_*.cpp files behind math_verify.hpp):
// exact numbers (math_number.cpp): integers of any size (sign and base-1e9
// limbs, least significant first) and rationals of them, so that integer
// answers and fractions are never compared through double.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crescent::reward::math_internal {

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

BigInt Negate(BigInt a);
BigInt Mul(const BigInt& a, const BigInt& b);

// num/den with den > 0, not reduced: compared by cross-multiplying.
struct Rational {
  BigInt num, den;
};

// r, or none when it is past the size bound of exact arithmetic.
std::optional<Rational> Checked(Rational r);
std::optional<Rational> Add(const Rational& a, const Rational& b);
std::optional<Rational> Mul(const Rational& a, const Rational& b);
std::optional<Rational> Inverse(const Rational& a);
std::optional<Rational> Power(Rational base, long long exponent);
bool Equal(const Rational& a, const Rational& b);

}  // namespace crescent::reward::math_internal
