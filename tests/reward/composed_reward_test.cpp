// reward.functions summed, as the reward services and `crescent eval` score.
#include "reward/composed_reward.hpp"

#include <catch2/catch.hpp>

using namespace crescent;
using reward::ComposedReward;
using reward::Outcome;

namespace {

config::Config WithFunctions(const std::string& functions, const std::string& more = "") {
  return config::ParseConfig("reward:\n  functions: " + functions + "\n" + more, "rewards.yaml");
}

}  // namespace

TEST_CASE("the configured reward functions are summed, correct when every one says so",
          "[reward]") {
  const ComposedReward both(WithFunctions("[math, format]", "  correct_reward: 3\n"));
  const std::map<std::string, std::string> meta = {{"answer", "19"}};
  Outcome o = both.Score("12+7=", "19", meta);
  CHECK(o.reward == 4);  // 3 (math) + 1 (format)
  CHECK(o.correct);
  CHECK(o.error.empty());
  o = both.Score("12+7=", "18", meta);
  CHECK(o.reward == 1);  // a number, the wrong one
  CHECK_FALSE(o.correct);
  o = both.Score("12+7=", "nineteen", meta);
  CHECK(o.reward == 0);
  CHECK_FALSE(o.correct);
  // A function that fails costs its part: failure_reward, with its error.
  const ComposedReward failing(
      WithFunctions("[math, \"" PLUGIN_REPORT_ERROR "\"]", "  failure_reward: -1\n"));
  o = failing.Score("12+7=", "19", meta);
  CHECK(o.reward == 0);  // 1 (math) - 1 (the plug-in's failure)
  CHECK_FALSE(o.correct);
  CHECK_THAT(o.error, Catch::Contains("tests missing for 12+7="));
  o = failing.Score("12+7=", "19", {});  // math: no answer either
  CHECK(o.reward == -2);
  CHECK_THAT(o.error, Catch::Contains("no \"answer\" metadata") && Catch::Contains("; ") &&
                          Catch::Contains("tests missing"));
}

TEST_CASE("an unknown reward function is named with reward.functions and its line", "[reward]") {
  CHECK_THROWS_WITH(ComposedReward(WithFunctions("[math, maths]")),
                    Catch::Contains("reward.functions: ") && Catch::Contains("maths") &&
                        Catch::Contains("rewards.yaml:2"));
}
