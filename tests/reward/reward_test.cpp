#include <catch2/catch.hpp>

#include "reward/length_penalty.hpp"
#include "reward/reward_function.hpp"

using namespace crescent::reward;
namespace config = crescent::config;

TEST_CASE("IsWellFormedNumber", "[reward]") {
  CHECK(IsWellFormedNumber("19"));
  CHECK(IsWellFormedNumber(" -3.25 "));
  CHECK(IsWellFormedNumber("38/2"));
  CHECK_FALSE(IsWellFormedNumber(""));
  CHECK_FALSE(IsWellFormedNumber("1 9"));
  CHECK_FALSE(IsWellFormedNumber("19="));
  CHECK_FALSE(IsWellFormedNumber("1.5/2"));
  CHECK_FALSE(IsWellFormedNumber("-"));
}

TEST_CASE("math reward: the final answer where reward.math_answer says, equivalent to the answer",
          "[reward]") {
  const std::map<std::string, std::string> meta = {{"answer", "19"}};
  auto score = [&](const std::string& response, AnswerFallback fallback) {
    RewardOptions options;
    options.math_extract.fallback = fallback;
    return MakeRewardFunction("math", options)->Score("12+7=", response, meta);
  };
  // whole (the built-in task's): the whole response must be the number.
  for (const char* good : {"19", " 19", "+19", "019", "19.0", "38/2", "#### 19", "\\boxed{19}"}) {
    INFO(good);
    const Outcome o = score(good, AnswerFallback::kWhole);
    CHECK(o.correct);
    CHECK(o.reward == 1.0);
    CHECK(o.error.empty());
  }
  for (const char* bad :
       {"18", "", "1 9", "19 20", "-19", "190", "18 19", "12+7", "\\boxed{12+7}"}) {
    INFO(bad);
    const Outcome o = score(bad, AnswerFallback::kWhole);
    CHECK_FALSE(o.correct);
    CHECK(o.reward == 0.0);
  }
  // last_number (the default): the last number of the text after </think>.
  CHECK(score("<think>maybe 18</think>12 + 7 = 19.", AnswerFallback::kLastNumber).correct);
  CHECK_FALSE(score("<think>19</think>so it is 18", AnswerFallback::kLastNumber).correct);
  CHECK(score("Answer: 19\nthen 20", AnswerFallback::kLastNumber).correct);
  // boxed: a box or nothing.
  CHECK_FALSE(score("The answer is 19.", AnswerFallback::kNone).correct);
  CHECK(score("The answer is \\boxed{\\frac{38}{2}}.", AnswerFallback::kNone).correct);
  // Elsewhere an unevaluated expression equal to the answer counts, as in Math-Verify.
  CHECK(score("\\boxed{12+7}", AnswerFallback::kNone).correct);

  const Outcome missing = MakeRewardFunction("math")->Score("12+7=", "19", {});
  CHECK_FALSE(missing.correct);
  CHECK(missing.error.find("answer") != std::string::npos);

  RewardOptions options;
  options.correct_reward = 2;
  options.incorrect_reward = -1;
  auto scaled = MakeRewardFunction("math", options);
  CHECK(scaled->Score("", "19", meta).reward == 2);
  CHECK(scaled->Score("", "20", meta).reward == -1);
}

TEST_CASE("reward.math_answer and reward.math_tolerance reach the math reward", "[reward]") {
  config::RewardSection section;
  section.math_answer = config::MathAnswer::kBoxed;
  section.math_tolerance = 1e-2;
  auto math = MakeRewardFunction("math", RewardOptionsOf(section));
  CHECK_FALSE(math->Score("", "3.14", {{"answer", "3.14159"}}).correct);  // not boxed
  CHECK(math->Score("", "\\boxed{3.14}", {{"answer", "3.14159"}}).correct);
  section.math_tolerance = 1e-6;
  CHECK_FALSE(MakeRewardFunction("math", RewardOptionsOf(section))
                  ->Score("", "\\boxed{3.14}", {{"answer", "3.14159"}})
                  .correct);
}

TEST_CASE("format reward rewards a single number", "[reward]") {
  RewardOptions options;
  options.format_reward = 0.5;
  auto format = MakeRewardFunction("format", options);
  CHECK(format->Score("1+1=", "2", {}).reward == 0.5);
  CHECK(format->Score("1+1=", "2", {}).correct);
  CHECK(format->Score("1+1=", "two", {}).reward == 0);
  CHECK_FALSE(format->Score("1+1=", "2=2", {}).correct);
}

TEST_CASE("MakeRewardFunction rejects unknown names clearly", "[reward]") {
  try {
    MakeRewardFunction("maths");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("\"maths\"") != std::string::npos);
    CHECK(std::string(e.what()).find("math, format") != std::string::npos);
  }
}

TEST_CASE("length penalty follows the k1.5 formula", "[reward]") {
  // lengths 10, 20, 30: lambda = 0.5, 0, -0.5.
  auto all_correct = LengthPenalty({10, 20, 30}, {true, true, true});
  REQUIRE(all_correct.size() == 3);
  CHECK(all_correct[0] == Approx(0.5));
  CHECK(all_correct[1] == Approx(0.0));
  CHECK(all_correct[2] == Approx(-0.5));

  // Incorrect responses get min(0, lambda): no bonus for being short.
  auto mixed = LengthPenalty({10, 15, 30, 20}, {false, true, false, true});
  CHECK(mixed[0] == Approx(0.0));
  CHECK(mixed[1] == Approx(0.25));
  CHECK(mixed[2] == Approx(-0.5));
  CHECK(mixed[3] == Approx(0.0));

  // Equal lengths: 0 for all.
  for (double v : LengthPenalty({7, 7, 7}, {true, false, true})) CHECK(v == 0.0);
  CHECK(LengthPenalty({}, {}).empty());
  CHECK_THROWS_AS(LengthPenalty({1, 2}, {true}), std::invalid_argument);
}

TEST_CASE("the reward keys of the config set the rewards scored", "[reward]") {
  crescent::config::RewardSection section;
  section.correct_reward = 3;
  section.incorrect_reward = -0.5;
  section.format_reward = 0.25;
  section.timeout_s = 1.5;
  const RewardOptions options = RewardOptionsOf(section);
  CHECK(options.plugin_timeout_s == 1.5);
  const std::map<std::string, std::string> meta = {{"answer", "19"}};
  auto math = MakeRewardFunction("math", options);
  CHECK(math->Score("", "19", meta).reward == 3);
  CHECK(math->Score("", "18", meta).reward == -0.5);
  // A prompt without the metadata math needs is a failure, not a wrong answer
  // (ComposedReward gives it the fallback).
  const Outcome missing = math->Score("", "19", {});
  CHECK_FALSE(missing.correct);
  CHECK_FALSE(missing.error.empty());
  auto format = MakeRewardFunction("format", options);
  CHECK(format->Score("", "42", {}).reward == 0.25);
  CHECK(format->Score("", "4 2", {}).reward == 0);
}
