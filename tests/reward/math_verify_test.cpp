// reward/math_verify: the table of answer pairs in math_pairs.jsonl (where
// each pair comes from, which pairs of the graders' suites were left out and
// why: math_pairs.md), then ExtractMathAnswer, the tolerance option and
// hostile input.
#include "reward/math_verify.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "tests/common/json_lines.hpp"

using namespace crescent::reward;

namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A side of the table is an answer or, when it holds a \boxed (a whole
// solution, as in the graders' suites), the answer extracted from it.
std::string Side(const std::string& text) {
  if (text.find("\\boxed") == std::string::npos && text.find("\\fbox") == std::string::npos) {
    return text;
  }
  return ExtractMathAnswer(text, {AnswerFallback::kNone});
}

double SecondsOf(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("MathEquivalent agrees with the pairs table both ways round", "[reward][math]") {
  const auto pairs = crescent::testing::ParseJsonLines(
      ReadText(std::string(CRESCENT_SOURCE_DIR) + "/tests/reward/math_pairs.jsonl"));
  REQUIRE(pairs.size() >= 60);
  int equivalent = 0, cited = 0;
  for (const auto& pair : pairs) {
    const std::string gold = pair.at("gold"), answer = pair.at("answer");
    const bool expected = pair.at("equivalent");
    MathOptions options;
    if (pair.contains("rel_tol")) options.rel_tol = pair.at("rel_tol");
    INFO("source: " << pair.at("source").get<std::string>());
    INFO("gold: " << gold << "  ->  " << Side(gold));
    INFO("answer: " << answer << "  ->  " << Side(answer));
    CHECK(MathEquivalent(Side(gold), Side(answer), options) == expected);
    CHECK(MathEquivalent(Side(answer), Side(gold), options) == expected);
    equivalent += expected;
    cited += pair.at("source") != "crescent (own)";
  }
  CHECK(equivalent >= 20);
  CHECK(pairs.size() - equivalent >= 20);
  CHECK(cited >= 20);
}

TEST_CASE("ExtractMathAnswer finds the final answer", "[reward][math]") {
  // Only the text after the last </think> counts.
  CHECK(ExtractMathAnswer("<think>maybe \\boxed{3}</think> so \\boxed{4}") == "4");
  CHECK(ExtractMathAnswer("<think>\\boxed{3}</think> no box, the answer is 12.") == "12");
  CHECK(ExtractMathAnswer("<think>it is 7</think>").empty());
  // The last complete box, nested braces kept; \fbox too.
  CHECK(ExtractMathAnswer("\\boxed{1} then \\boxed{\\frac{1}{\\sqrt{2}}}.") ==
        "\\frac{1}{\\sqrt{2}}");
  CHECK(ExtractMathAnswer("\\boxed{\\{1, 2\\}}") == "\\{1, 2\\}");
  CHECK(ExtractMathAnswer("\\fbox{ 9 }") == "9");
  CHECK(ExtractMathAnswer("\\boxed{5} and \\boxed{6") == "5");
  // Answer lines: "answer:", "final answer is", "####"; the last one wins.
  CHECK(ExtractMathAnswer("Work.\nAnswer: 42\n") == "42");
  CHECK(ExtractMathAnswer("**Answer:** 3/4.") == "3/4");
  CHECK(ExtractMathAnswer(
            "Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.") ==
        "\\frac{1}{2}");
  CHECK(ExtractMathAnswer("answer: 1\n12 + 7 = 19\n#### 19") == "19");
  // The last number, not one inside a word; negative, thousands, decimals.
  CHECK(ExtractMathAnswer("so x = -3 at last") == "-3");
  CHECK(ExtractMathAnswer("She pays 1,250 dollars, and 5-2 is 3.") == "3");
  CHECK(ExtractMathAnswer("She pays 1,250.50 in total") == "1,250.50");
  CHECK(ExtractMathAnswer("AZYUK2A").empty());
  CHECK(ExtractMathAnswer("no numbers here").empty());
  CHECK(ExtractMathAnswer("").empty());
  // Fallbacks are configurable.
  CHECK(ExtractMathAnswer("Answer: 42", {AnswerFallback::kNone}).empty());
  CHECK(ExtractMathAnswer("it is 42", {AnswerFallback::kAnswerLine}).empty());
  CHECK(ExtractMathAnswer("Answer: 42", {AnswerFallback::kAnswerLine}) == "42");
}

TEST_CASE("MathEquivalent has a configurable relative tolerance", "[reward][math]") {
  CHECK_FALSE(MathEquivalent("\\frac{1}{3}", "0.3333"));
  CHECK(MathEquivalent("\\frac{1}{3}", "0.3333", {5e-4}));
  CHECK_FALSE(MathEquivalent("\\frac{1}{3}", "0.333", {5e-4}));
  CHECK(MathEquivalent("100", "100.00001", {1e-6}));
  CHECK_FALSE(MathEquivalent("100", "100.001", {1e-6}));
  CHECK(MathEquivalent("100", "100.001", {1e-4}));
  // Integers and fractions stay exact whatever the tolerance.
  CHECK_FALSE(MathEquivalent("1000000", "1000001", {1e-3}));
  CHECK_FALSE(MathEquivalent("\\frac{1000}{1001}", "\\frac{1001}{1002}", {1e-3}));
  CHECK(MathEquivalent("\\frac{1000}{1001}", "\\frac{2000}{2002}", {0}));
}

TEST_CASE("MathEquivalent survives garbage and deep nesting and huge numbers", "[reward][math]") {
  const std::string deep_parens = std::string(100000, '(') + "1" + std::string(100000, ')');
  const std::string deep_braces = std::string(5000, '{') + "1" + std::string(5000, '}');
  const std::string nested_frac = [] {
    std::string s = "1";
    for (int i = 0; i < 1000; ++i) s = "\\frac{1}{1+" + s + "}";
    return s;
  }();
  const std::string long_sum = [] {
    std::string s = "1";
    for (int i = 0; i < 3000; ++i) s += "+x";
    return s;
  }();
  const std::string many_items = [] {
    std::string s = "\\{";
    for (int i = 0; i < 3000; ++i) s += std::to_string(i) + ",";
    return s + "0\\}";
  }();
  const double seconds = SecondsOf([&] {
    for (const std::string& garbage : {std::string("\\frac{"),
                                       std::string("}}}{{{"),
                                       std::string("\\sqrt["),
                                       std::string("((]"),
                                       std::string("\\left( \\right"),
                                       std::string("^^^"),
                                       std::string("1/0"),
                                       std::string("0/0"),
                                       std::string("\\boxed{"),
                                       std::string("$$"),
                                       std::string("\\text{"),
                                       std::string(",,,"),
                                       std::string("\\{\\}"),
                                       std::string("_"),
                                       std::string("\\\\\\"),
                                       std::string("\xff\xfe"),
                                       std::string(1, '\0'),
                                       std::string("x^{x^{x^{x}}}"),
                                       std::string("\\log_0 0"),
                                       deep_parens.substr(0, 500)}) {
      INFO(garbage);
      CHECK_FALSE(MathEquivalent("1", garbage));
      CHECK_FALSE(MathEquivalent(garbage, "2"));
    }
    CHECK_FALSE(MathEquivalent("1", ""));
    CHECK_FALSE(MathEquivalent("", ""));
    CHECK_FALSE(MathEquivalent(deep_parens, "1"));  // past the length bound
    CHECK_FALSE(MathEquivalent(deep_braces, "1"));  // past the depth bound
    CHECK_FALSE(MathEquivalent(nested_frac, "1"));
    CHECK_FALSE(MathEquivalent(long_sum, "1"));
    CHECK(MathEquivalent(long_sum, long_sum));
    CHECK_FALSE(MathEquivalent(many_items, "\\{1\\}"));
    // Huge exponents and numbers: exact work stops at a size bound.
    CHECK_FALSE(MathEquivalent("2^{100000}", "3"));
    CHECK_FALSE(MathEquivalent("2^{100000}", "2^{99999} \\cdot 3"));
    CHECK_FALSE(MathEquivalent("10^{10^{10}}", "10^{10^{10}} + 1"));
    CHECK_FALSE(MathEquivalent("(-1)^{10^{18}}", "-1"));
    CHECK(MathEquivalent("(-1)^{1000001}", "-1"));
    CHECK(MathEquivalent(std::string(5000, '7'), std::string(5000, '7')));
    CHECK_FALSE(MathEquivalent(std::string(5000, '7'), std::string(4999, '7') + "8"));
    CHECK(MathEquivalent("0" + std::string(5000, '7'), std::string(5000, '7')));
    CHECK(ExtractMathAnswer(std::string(100000, '{') + "\\boxed{" + std::string(100000, '{'))
              .empty());
  });
  CHECK(seconds < 5.0);
}
