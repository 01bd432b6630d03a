// `crescent reward eval`: the real program on a file mixing math, format,
// plug-in and chat samples with malformed lines; its lines and exit codes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/common/process.hpp"

namespace crescent::testing {
namespace {

using nlohmann::json;

struct Result {
  int exit_code;
  std::vector<json> lines;
  std::string output;  // stdout and stderr
};

// Runs `crescent reward eval CONFIG --input INPUT ARGS...` in `dir`.
Result RewardEval(const std::string& dir, const std::string& input,
                  std::vector<std::string> args = {}) {
  std::vector<std::string> argv = {CRESCENT_BINARY,       "reward",  "eval",
                                   dir + "/rewards.yaml", "--input", input};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv, dir + "/out.log");
  Result r;
  r.exit_code = p.Wait(std::chrono::seconds(60));
  r.output = p.Output();
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '{') r.lines.push_back(json::parse(line));
  }
  return r;
}

std::string Setup() {
  const std::string dir = TempDir("crescent-reward-eval");
  WriteFile(dir + "/rewards.yaml",
            "reward:\n"
            "  math_answer: last_number\n"
            "  functions: [math, {fn: \"" PLUGIN_EXAMPLE
            "\", weight: 0.5, fallback: -1}]\n"
            "  domains:\n"
            "    numbers: [format]\n"
            "    think: [think_format, {fn: regex, pattern: 'yes|no', weight: 2}]\n"
            "    code: [{cmd: [python3, \"" CRESCENT_SOURCE_DIR
            "/reward/examples/format_compile_test.py\", --crescent, \"" CRESCENT_BINARY
            "\"]}]\n"
            "  timeout_s: 60\n");
  return dir;
}

}  // namespace

TEST_CASE("reward eval scores each line as a run would and names the lines it cannot", "[cli]") {
  const std::string dir = Setup();
  WriteFile(
      dir + "/in.jsonl",
      "{\"prompt\": \"12+7=\", \"response\": \"19\", \"answer\": \"19\"}\n"
      "{\"prompt\": \"12+7=\", \"response\": \"it is 18\", \"answer\": 19}\n"
      "\n"
      "{\"prompt\": \"2+2=\", \"response\": \"4\", \"domain\": \"numbers\"}\n"
      "not json at all\n"
      "{\"prompt\": \"12+7=\", \"answer\": \"19\"}\n"
      "{\"prompt\": \"q\", \"response\": \"<think>hm</think>yes\", \"domain\": \"think\"}\n"
      "{\"prompt\": \"12+7=\", \"response\": \"19\"}\n"
      "{\"prompt\": \"Add.\", \"domain\": \"code\", \"tests\": [{\"input\": \"1 2\", "
      "\"output\": \"3\"}], \"response\": \"```cpp\\n#include <cstdio>\\nint main() { int a, b; "
      "scanf(\\\"%d %d\\\", &a, &b); printf(\\\"%d\\\\n\\\", a + b); }\\n```\"}\n");
  const Result r = RewardEval(dir, dir + "/in.jsonl");
  INFO(r.output);
  CHECK(r.exit_code == 1);       // two lines could not be scored
  REQUIRE(r.lines.size() == 8);  // one per non-blank input line, in order

  // math 1 + 0.5 * (0.2 digits + 1.0 equal) from the C plug-in.
  CHECK(r.lines[0]["reward"].get<double>() == Approx(1.6));
  CHECK(r.lines[0]["correct"] == true);
  CHECK(r.lines[0]["error"].is_null());
  CHECK(r.lines[0]["details"]["math"]["answer"] == "19");
  CHECK(r.lines[0]["details"][PLUGIN_EXAMPLE]["reward"].get<double>() == Approx(1.2));

  // A number answer: metadata keeps its JSON type, math still compares it.
  CHECK(r.lines[1]["reward"].get<double>() == Approx(0.0));
  CHECK(r.lines[1]["correct"] == false);
  CHECK(r.lines[1]["details"]["math"]["answer"] == "18");

  // The domain's own list.
  CHECK(r.lines[2]["reward"] == 1.0);
  CHECK(r.lines[2]["details"].contains("format"));
  CHECK_FALSE(r.lines[2]["details"].contains("math"));

  for (int i : {3, 4}) {
    CHECK(r.lines[i]["reward"].is_null());
    CHECK(r.lines[i]["correct"].is_null());
  }
  CHECK_THAT(r.lines[3]["error"].get<std::string>(), Catch::Contains("in.jsonl:5: "));
  CHECK_THAT(r.lines[4]["error"].get<std::string>(),
             Catch::Contains("in.jsonl:6: ") && Catch::Contains("no \"response\""));

  CHECK(r.lines[5]["reward"] == 3.0);  // think_format 1 + regex 2 * 1
  CHECK(r.lines[5]["details"]["regex"]["match"] == "yes");

  // Scored, with errors: math and the plug-in have no answer (fallbacks 0 and -1).
  CHECK(r.lines[6]["reward"].get<double>() == Approx(-0.5));
  CHECK(r.lines[6]["correct"] == false);
  CHECK_THAT(
      r.lines[6]["error"].get<std::string>(),
      Catch::Contains("math: the prompt has no \"answer\"") && Catch::Contains("reward plug-in"));
}

TEST_CASE("reward eval exits 0 when every line is scored and 2 for a bad config", "[cli]") {
  const std::string dir = Setup();
  WriteFile(dir + "/ok.jsonl", "{\"prompt\": \"1+1=\", \"response\": \"2\", \"answer\": \"2\"}\n");
  const Result ok = RewardEval(dir, dir + "/ok.jsonl");
  CHECK(ok.exit_code == 0);
  REQUIRE(ok.lines.size() == 1);
  CHECK(ok.lines[0]["correct"] == true);

  const Result bad = RewardEval(dir, dir + "/ok.jsonl", {"--set", "reward.functions=[maths]"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("reward.functions") && Catch::Contains("maths"));
  CHECK(bad.lines.empty());
}

}  // namespace crescent::testing
