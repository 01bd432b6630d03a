// Exact numbers (see math_number.hpp): big integer and rational arithmetic.
#include "reward/math_number.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace crescent::reward::math_internal {
namespace {

// A bound that keeps hostile input cheap (the others are in math_verify.cpp
// and math_expression.hpp).
constexpr size_t kMaxLimbs = 128;  // exact arithmetic up to ~1150 digits, then doubles

constexpr uint32_t kBase = 1000000000;

int CompareMagnitude(const BigInt& a, const BigInt& b) {
  if (a.limbs.size() != b.limbs.size()) return a.limbs.size() < b.limbs.size() ? -1 : 1;
  for (size_t i = a.limbs.size(); i-- > 0;) {
    if (a.limbs[i] != b.limbs[i]) return a.limbs[i] < b.limbs[i] ? -1 : 1;
  }
  return 0;
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

}  // namespace

BigInt Negate(BigInt a) {
  if (!a.IsZero()) a.negative = !a.negative;
  return a;
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

}  // namespace crescent::reward::math_internal
