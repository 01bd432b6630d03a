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
    CHECK(std::string(e.what()).find("math, format, exact, regex, think_format, json_format") !=
          std::string::npos);
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

TEST_CASE("exact: the answer after thinking equals the answer metadata after trimming",
          "[reward]") {
  auto exact = MakeRewardFunction("exact");
  const std::map<std::string, std::string> meta = {{"answer", " Paris "}};
  CHECK(exact->Score("q", "Paris", meta).correct);
  CHECK(exact->Score("q", "<think>Lyon? no</think>\n Paris\n", meta).reward == 1);
  CHECK_FALSE(exact->Score("q", "paris", meta).correct);
  CHECK_FALSE(exact->Score("q", "Paris.", meta).correct);
  CHECK(exact->Score("q", "Lyon", meta).reward == 0);
  const Outcome missing = exact->Score("q", "Paris", {});
  CHECK_THAT(missing.error, Catch::Contains("exact: the prompt has no \"answer\" metadata"));
}

TEST_CASE("regex: the pattern matches the text after thinking", "[reward]") {
  RewardOptions options;
  options.pattern = "^Answer: [0-9]+$";
  auto regex = MakeRewardFunction("regex", options);
  CHECK(regex->Score("q", "Answer: 42", {}).correct);
  CHECK(regex->Score("q", "<think>Answer: x</think>Answer: 7", {}).reward == 1);
  CHECK_FALSE(regex->Score("q", "Answer: 7</think>Answer: x", {}).correct);
  CHECK_FALSE(regex->Score("q", "answer: 42", {}).correct);
  CHECK_THAT(regex->Score("q", "Answer: 42", {}).details,
             Catch::Contains("\"match\":\"Answer: 42\""));
  options.pattern = "([a-z]";
  CHECK_THROWS_WITH(MakeRewardFunction("regex", options),
                    Catch::Contains("regex: pattern \"([a-z]\""));
}

TEST_CASE("think_format: one think block first and an answer after it", "[reward]") {
  auto think = MakeRewardFunction("think_format");
  CHECK(think->Score("q", "<think>a</think>b", {}).correct);
  CHECK(think->Score("q", "  <think>\nsteps\n</think>\n\nThe answer is 4.\n", {}).reward == 1);
  const std::map<std::string, const char*> problems = {
      {"the answer", "does not start with <think>"},
      {"so <think>a</think>b", "does not start with <think>"},
      {"<think>a b c", "no </think>"},
      {"<think>a</think>", "no answer after </think>"},
      {"<think>a</think>  \n", "no answer after </think>"},
      {"<think>a</think>b<think>c</think>d", "more than one <think> block"},
      {"<think>a</think>b</think>", "more than one <think> block"}};
  for (const auto& [response, problem] : problems) {
    INFO(response);
    const Outcome o = think->Score("q", response, {});
    CHECK_FALSE(o.correct);
    CHECK(o.reward == 0);
    CHECK_THAT(o.details, Catch::Contains(problem));
  }
}

TEST_CASE("json_format: the answer parses as JSON bare or fenced", "[reward]") {
  auto json = MakeRewardFunction("json_format");
  for (const char* good : {"{\"a\": [1, 2]}", "<think>{</think> [1, 2] ",
                           "```json\n{\"a\": 1}\n```", "```\n\"text\"\n```", "42"}) {
    INFO(good);
    CHECK(json->Score("q", good, {}).correct);
  }
  for (const char* bad : {"{\"a\": 1", "{'a': 1}", "The JSON: {\"a\": 1}", "```json\n{\"a\":}\n```",
                          "", "{\"a\": 1} {\"b\": 2}"}) {
    INFO(bad);
    CHECK_FALSE(json->Score("q", bad, {}).correct);
  }
}
