// reward.functions and reward.domains, weighted and summed, as the reward
// services, `crescent eval` and `crescent reward eval` score.
#include "reward/composed_reward.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace crescent;
using reward::Composed;
using reward::ComposedReward;
using Json = nlohmann::json;

namespace {

config::Config WithFunctions(const std::string& functions, const std::string& more = "") {
  return config::ParseConfig("reward:\n  functions: " + functions + "\n" + more, "rewards.yaml");
}

task::Prompt Prompt(std::map<std::string, std::string> metadata) {
  return {"12+7=", "12+7=", std::move(metadata)};
}

const std::map<std::string, std::string> kAnswer = {{"answer", "19"}};

}  // namespace

TEST_CASE("the configured reward functions are summed, correct when every one says so",
          "[reward]") {
  const ComposedReward both(WithFunctions("[math, format]", "  correct_reward: 3\n"));
  Composed o = both.Score(Prompt(kAnswer), "19");
  CHECK(o.reward == 4);  // 3 (math) + 1 (format)
  CHECK(o.correct);
  CHECK(o.error.empty());
  CHECK(o.failed.empty());
  o = both.Score(Prompt(kAnswer), "18");
  CHECK(o.reward == 1);  // a number, the wrong one
  CHECK_FALSE(o.correct);
  o = both.Score(Prompt(kAnswer), "nineteen");
  CHECK(o.reward == 0);
  CHECK_FALSE(o.correct);
  // A function that fails costs its part: failure_reward, with its error.
  const ComposedReward failing(
      WithFunctions("[math, \"" PLUGIN_REPORT_ERROR "\"]", "  failure_reward: -1\n"));
  o = failing.Score(Prompt(kAnswer), "19");
  CHECK(o.reward == 0);  // 1 (math) - 1 (the plug-in's failure)
  CHECK_FALSE(o.correct);
  CHECK_THAT(o.error, Catch::Contains("tests missing for 12+7="));
  CHECK(o.failed == std::vector<std::string>{PLUGIN_REPORT_ERROR});
  o = failing.Score(Prompt({}), "19");  // math: no answer either
  CHECK(o.reward == -2);
  CHECK_THAT(o.error, Catch::Contains("no \"answer\" metadata") && Catch::Contains("; ") &&
                          Catch::Contains("tests missing"));
  CHECK(o.failed.size() == 2);
}

TEST_CASE("weights scale each function and a fallback replaces a failed one's reward", "[reward]") {
  const ComposedReward weighted(WithFunctions(
      "[{fn: math, weight: 2.5, fallback: -4}, {fn: regex, pattern: '^[0-9]+$', weight: 0.5}, "
      "{fn: \"" PLUGIN_CRASH "\", weight: 3, fallback: 0.25}]"));
  Composed o = weighted.Score(Prompt(kAnswer), "19");
  CHECK(o.reward == Approx(2.5 + 0.5 + 3 * 0.25));
  CHECK_FALSE(o.correct);  // the crashed plug-in does not say it is correct
  o = weighted.Score(Prompt({}), "x");
  CHECK(o.reward == Approx(2.5 * -4 + 0 + 3 * 0.25));
  // Each function's details, by name: what it extracted, its reward, its error.
  const Json d = Json::parse(weighted.Score(Prompt(kAnswer), "so 19").details);
  CHECK(d["math"]["answer"] == "19");
  CHECK(d["math"]["reward"] == 1.0);
  CHECK(d["math"]["correct"] == true);
  CHECK(d["regex"]["correct"] == false);
  CHECK(d["regex"]["pattern"] == "^[0-9]+$");
  CHECK_THAT(d[PLUGIN_CRASH]["error"].get<std::string>(), Catch::Contains("crashed"));
  CHECK(d[PLUGIN_CRASH]["reward"] == 0.25);
}

TEST_CASE("a prompt's domain picks its own functions, others the default list", "[reward]") {
  const ComposedReward byDomain(WithFunctions(
      "[math]", "  domains:\n    chat: [{fn: exact, weight: 2}]\n    json: [json_format]\n"));
  auto with_domain = [](const std::string& domain) {
    auto m = kAnswer;
    if (!domain.empty()) m["domain"] = domain;
    return Prompt(m);
  };
  CHECK(byDomain.Score(with_domain("chat"), " 19 ").reward == 2);
  CHECK(byDomain.Score(with_domain("chat"), "so 19").reward == 0);
  CHECK(byDomain.Score(with_domain(""), "so 19").reward == 1);        // math
  CHECK(byDomain.Score(with_domain("poetry"), "so 19").reward == 1);  // not listed: math
  const Composed j = byDomain.Score(with_domain("json"), "```json\n{\"a\": [1, 2]}\n```");
  CHECK(j.reward == 1);
  CHECK(Json::parse(j.details).contains("json_format"));
}

TEST_CASE("functions named twice are told apart in the details", "[reward]") {
  const ComposedReward twice(WithFunctions("[{fn: regex, pattern: a}, {fn: regex, pattern: b}]"));
  const Json d = Json::parse(twice.Score(Prompt({}), "b").details);
  CHECK(d["regex"]["correct"] == false);
  CHECK(d["regex#2"]["correct"] == true);
}

TEST_CASE("a reward function entry that cannot be used is named with its key and line",
          "[reward]") {
  CHECK_THROWS_WITH(ComposedReward(WithFunctions("[math, maths]")),
                    Catch::Contains("reward.functions: ") && Catch::Contains("maths") &&
                        Catch::Contains("rewards.yaml:2"));
  CHECK_THROWS_WITH(ComposedReward(WithFunctions("[{fn: regex, pattern: 'a(b'}]")),
                    Catch::Contains("reward.functions: regex: pattern \"a(b\"") &&
                        Catch::Contains("rewards.yaml:2"));
  CHECK_THROWS_WITH(ComposedReward(WithFunctions("[math]", "  domains:\n    code: [exactly]\n")),
                    Catch::Contains("reward.domains: ") && Catch::Contains("exactly") &&
                        Catch::Contains("rewards.yaml:4"));
  // Mistakes in an entry's shape are the config parser's.
  CHECK_THROWS_WITH(WithFunctions("[{fn: math, wieght: 2}]"),
                    Catch::Contains("reward.functions: item 1: unknown key \"wieght\"") &&
                        Catch::Contains("rewards.yaml:2"));
  CHECK_THROWS_WITH(WithFunctions("[math, {fn: math, cmd: [python3]}]"),
                    Catch::Contains("item 2: expected exactly one of fn and cmd"));
  CHECK_THROWS_WITH(WithFunctions("[{fn: math, pattern: x}]"),
                    Catch::Contains("pattern is for fn: regex only"));
  CHECK_THROWS_WITH(WithFunctions("[regex]"), Catch::Contains("fn: regex needs a pattern"));
  CHECK_THROWS_WITH(WithFunctions("[{fn: math, weight: heavy}]"),
                    Catch::Contains("weight: expected a finite number, got \"heavy\""));
  CHECK_THROWS_WITH(WithFunctions("[math]", "  domains: [math]\n"),
                    Catch::Contains("reward.domains: expected a map of domains"));
}

TEST_CASE("reward function lists print back as they parse", "[reward]") {
  const config::Config c = WithFunctions(
      "[math, {fn: regex, pattern: '^a|b$', weight: 0.1}, {cmd: [python3, r.py], fallback: -1}]",
      "  domains:\n    code: [{cmd: [./score], weight: 2}]\n");
  const config::Config again = config::ParseConfig(config::ToYaml(c), "again.yaml");
  CHECK(config::Differences(c, again).empty());
  REQUIRE(again.reward.functions.size() == 3);
  CHECK(again.reward.functions[0].fn == "math");
  CHECK(again.reward.functions[1].pattern == "^a|b$");
  CHECK(again.reward.functions[1].weight == 0.1);
  CHECK(again.reward.functions[2].cmd == std::vector<std::string>{"python3", "r.py"});
  CHECK(again.reward.functions[2].fallback == -1.0);
  CHECK(again.reward.functions[2].Name() == "python3 r.py");
  CHECK(again.reward.domains.at("code").at(0).weight == 2);
  CHECK(config::ToYaml(again) == config::ToYaml(c));
}
