#include <catch2/catch.hpp>

#include "reward/length_penalty.hpp"
#include "reward/reward_function.hpp"

using namespace crescent::reward;

TEST_CASE("NormaliseAnswer canonicalises numbers", "[reward]") {
  CHECK(NormaliseAnswer(" 19 ") == "19");
  CHECK(NormaliseAnswer("+19") == "19");
  CHECK(NormaliseAnswer("007") == "7");
  CHECK(NormaliseAnswer("0") == "0");
  CHECK(NormaliseAnswer("000") == "0");
  CHECK(NormaliseAnswer("-0") == "0");
  CHECK(NormaliseAnswer("-007") == "-7");
  CHECK(NormaliseAnswer("4.0") == "4");
  CHECK(NormaliseAnswer("4.") == "4");
  CHECK(NormaliseAnswer("2.50") == "2.5");
  CHECK(NormaliseAnswer("38/2") == "19");
  CHECK(NormaliseAnswer("-38/2") == "-19");
  CHECK(NormaliseAnswer("3/2") == "3/2");
  CHECK(NormaliseAnswer("1/0") == "1/0");
  CHECK(NormaliseAnswer(" x + 1 ") == "x + 1");
  CHECK(NormaliseAnswer("100") == "100");  // trailing zeros of an integer stay
}

TEST_CASE("ExtractFinalAnswer finds boxed and #### answers", "[reward]") {
  CHECK(ExtractFinalAnswer(" 19\n") == "19");
  CHECK(ExtractFinalAnswer("so \\boxed{1} then \\boxed{ {19} }") == "{19}");
  CHECK(ExtractFinalAnswer("work #### 12 #### 19") == "19");
}

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

TEST_CASE("math reward compares final answers after normalisation", "[reward]") {
  auto math = MakeRewardFunction("math");
  const std::map<std::string, std::string> meta = {{"answer", "19"}};
  for (const char* good : {"19", " 19", "+19", "019", "19.0", "38/2", "#### 19", "\\boxed{19}"}) {
    INFO(good);
    Outcome o = math->Score("12+7=", good, meta);
    CHECK(o.correct);
    CHECK(o.reward == 1.0);
    CHECK(o.error.empty());
  }
  for (const char* bad : {"18", "", "1 9", "19 20", "-19", "190"}) {
    INFO(bad);
    Outcome o = math->Score("12+7=", bad, meta);
    CHECK_FALSE(o.correct);
    CHECK(o.reward == 0.0);
  }
  Outcome missing = math->Score("12+7=", "19", {});
  CHECK_FALSE(missing.correct);
  CHECK(missing.error.find("answer") != std::string::npos);

  RewardOptions options;
  options.correct_reward = 2;
  options.incorrect_reward = -1;
  auto scaled = MakeRewardFunction("math", options);
  CHECK(scaled->Score("", "19", meta).reward == 2);
  CHECK(scaled->Score("", "20", meta).reward == -1);
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
  section.failure_reward = -2;
  section.timeout_s = 1.5;
  const RewardOptions options = RewardOptionsOf(section);
  CHECK(options.plugin_timeout_s == 1.5);
  const std::map<std::string, std::string> meta = {{"answer", "19"}};
  auto math = MakeRewardFunction("math", options);
  CHECK(math->Score("", "19", meta).reward == 3);
  CHECK(math->Score("", "18", meta).reward == -0.5);
  // A prompt without the metadata math needs is a failure, not a wrong answer.
  const Outcome missing = math->Score("", "19", {});
  CHECK(missing.reward == -2);
  CHECK_FALSE(missing.error.empty());
  auto format = MakeRewardFunction("format", options);
  CHECK(format->Score("", "42", {}).reward == 0.25);
  CHECK(format->Score("", "4 2", {}).reward == 0);
}
