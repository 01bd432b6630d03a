// Math answer checking for the "math" reward: the final answer of a response
// (ExtractMathAnswer) and whether it is mathematically equivalent to a gold
// answer (MathEquivalent). Plain string and number work: no LibTorch, no CAS.
//
// Policies (tests/reward/math_pairs.md has the pairs behind each):
// - Numbers: integers compare exactly at any size; fractions and other rational
//   arithmetic ("2/4", "2^{64}+1") exactly; anything written with a decimal
//   point, and irrational values, within MathOptions::rel_tol.
// - Percent: "p%" (also "\%", "percent", "pct") equals both p/100 and p.
// - Commas: "7,425,000" outside brackets and "1 000" anywhere are thousands
//   separators; otherwise a comma separates elements, never decimals.
// - Lists: a bare list ("3, 1, 2", "1 and 2", "1; 2") is a set (order and
//   repeats do not matter), as is \{...\}; against a parenthesised tuple it is
//   compared in order. Tuples keep their order; intervals need the same
//   brackets; unions of intervals (\cup) match in any order. "\pm a" is the
//   list "+a, -a".
// - Equations: "x = 5" (a variable, a tuple of variables or f(x) on the left,
//   or a chain a = b = c) equals its right side; two equations are equal
//   when one side's lhs - rhs is a constant multiple of the other's.
// - Juxtaposition multiplies ("2x", "2\sqrt{2}", "x y"), but an integer
//   before \frac of integers, or before a space and "a/b", is a mixed number:
//   "2\frac{1}{4}" is 9/4 and "7 3/4" is 31/4. Other juxtaposed numbers
//   ("2 3") are no expression.
// - Expressions with variables are compared at several fixed pseudo-random
//   points; trailing words of two or more letters after a constant are units
//   ("125 miles", "10 \text{ units}").
#pragma once

#include <string>

namespace crescent::reward {

// Where ExtractMathAnswer looks once the response has no \boxed{...}.
enum class AnswerFallback {
  kNone,        // \boxed{...} / \fbox{...} only
  kAnswerLine,  // then the rest of the line after the last "####", "answer:" or
                // "final answer is" (any case; a $...$ there is taken whole)
  kLastNumber,  // then also the last number in the text (not one inside a word)
  kWhole,       // the answer line, else the whole text (trimmed)
};

struct MathExtractOptions {
  AnswerFallback fallback = AnswerFallback::kLastNumber;
};

struct MathOptions {
  // Relative tolerance for numbers of which one is written with a decimal point
  // or is irrational (|a - b| <= rel_tol * max(|a|, |b|)), and for expressions
  // evaluated at sample points. Integers and fractions compare exactly.
  double rel_tol = 1e-6;
};

// The final answer of a response: only the text after the last "</think>"
// (when there is one) is looked at; the contents of the last complete
// \boxed{...} or \fbox{...} (balanced braces), else the fallbacks in order.
// Empty when none is found.
std::string ExtractMathAnswer(const std::string& response, const MathExtractOptions& options = {});

// Whether `answer` is mathematically equivalent to `gold`, both already
// extracted answers, possibly in $...$, \(...\) or \boxed{...}. Symmetric.
// Never throws: text that is no mathematics equals only the same text, and
// over-long (> 20000 characters), too deeply nested or too large input
// equals nothing.
bool MathEquivalent(const std::string& gold, const std::string& answer,
                    const MathOptions& options = {});

}  // namespace crescent::reward
