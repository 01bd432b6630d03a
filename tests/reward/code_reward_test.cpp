// The `code` reward: code blocks, output comparison, and programs run
// against their tests in the real sandbox (bubblewrap).
#include "reward/code_reward.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/config/config.hpp"
#include "reward/composed_reward.hpp"

namespace crescent::reward {
namespace {

using Json = nlohmann::json;

const char* const kAddTests =
    R"([{"input": "1 2\n", "output": "3\n"}, {"input": "10 -4\n", "output": "6"},
        {"input": "7 8", "output": "15\n\n"}])";

task::Prompt CodePrompt(const std::string& tests, std::map<std::string, std::string> more = {}) {
  task::Prompt p{"add", "Add two integers read from stdin.", std::move(more)};
  p.metadata["tests"] = tests;
  p.json_metadata.insert("tests");
  return p;
}

std::string Fenced(const std::string& tag, const std::string& code) {
  return "Here it is:\n```" + tag + "\n" + code + "\n```\n";
}

const std::string kPythonAdd = "a, b = map(int, input().split())\nprint(a + b)";
const std::string kCppAdd =
    "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << "
    "std::endl; }";

RewardOptions Options(bool partial_credit = false) {
  RewardOptions o;
  o.partial_credit = partial_credit;
  o.sandboxes = 2;
  o.code_limits.wall_s = 5;
  return o;
}

Json Details(const Outcome& o) { return Json::parse(o.details); }

}  // namespace

TEST_CASE("the code block is the last fenced one or the last in the sample's language",
          "[reward]") {
  const std::string text =
      "<think>```python\nprint('draft')\n```</think>\n```python\nprint(1)\n```\nor in C++:\n"
      "```c++\nint main() {}\n```\n```\nuntagged\n```\n```cpp\nunclosed";
  auto any = ExtractCode(text, "");
  REQUIRE(any);
  CHECK(any->language.empty());
  CHECK(any->code == "untagged\n");
  auto cpp = ExtractCode("```c++\nint main() {}\n```\n```python\nprint(1)\n```", "cpp");
  REQUIRE(cpp);
  CHECK(cpp->language == "cpp");
  CHECK(cpp->code == "int main() {}\n");
  auto python = ExtractCode("```py\nprint(1)\n```\n```c++\nint main() {}\n```", "python");
  REQUIRE(python);
  CHECK(python->code == "print(1)\n");
  CHECK_FALSE(ExtractCode("no code here", ""));
  CHECK_FALSE(ExtractCode("```python\nprint(1)", ""));                   // never closed
  CHECK_FALSE(ExtractCode("```python\nprint(1)\n```</think>done", ""));  // only in thinking
}

TEST_CASE("outputs compare but for trailing whitespace", "[reward]") {
  CHECK(SameOutput("3\n", "3"));
  CHECK(SameOutput("1 2\n3\n", "1 2  \n3\n\n\n"));
  CHECK_FALSE(SameOutput("1 2", "1  2"));
  CHECK_FALSE(SameOutput("3", " 3"));
  CHECK_FALSE(SameOutput("1\n2", "1\n\n2"));
}

TEST_CASE("python and C++ answers run against stdin and stdout cases in the sandbox",
          "[reward][sandbox]") {
  auto code = MakeRewardFunction("code", Options());
  const Outcome python = code->Score(CodePrompt(kAddTests), Fenced("python", kPythonAdd));
  INFO(python.details << python.error);
  CHECK(python.error.empty());
  CHECK(python.correct);
  CHECK(python.reward == 1);
  CHECK(Details(python)["passed"] == 3);
  CHECK(Details(python)["language"] == "python");

  const Outcome cpp = code->Score(CodePrompt(kAddTests), Fenced("cpp", kCppAdd));
  INFO(cpp.details << cpp.error);
  CHECK(cpp.correct);
  CHECK(Details(cpp)["language"] == "cpp");

  // The sample's language picks the block.
  const Outcome picked = code->Score(CodePrompt(kAddTests, {{"language", "cpp"}}),
                                     Fenced("cpp", kCppAdd) + Fenced("python", "print(0)"));
  CHECK(picked.correct);

  const Outcome compile = code->Score(CodePrompt(kAddTests), Fenced("cpp", "int main() { x }"));
  CHECK_FALSE(compile.correct);
  CHECK(compile.reward == 0);
  CHECK_THAT(Details(compile)["compile_error"].get<std::string>(), Catch::Contains("error"));

  const Outcome none = code->Score(CodePrompt(kAddTests), "a + b");
  CHECK_FALSE(none.correct);
  CHECK(Details(none)["problem"] == "no code block");
}

TEST_CASE("a failing case is named with how it failed and partial_credit pays the fraction",
          "[reward][sandbox]") {
  // Right for the first two cases only; the third crashes.
  const std::string program =
      "a, b = map(int, input().split())\nif a == 7: raise SystemExit('seven')\nprint(a + b)";
  const Outcome all = MakeRewardFunction("code", Options())
                          ->Score(CodePrompt(kAddTests), Fenced("python", program));
  CHECK(all.reward == 0);
  CHECK_FALSE(all.correct);
  const Json d = Details(all);
  CHECK(d["passed"] == 2);
  CHECK(d["failed"][0]["case"] == 2);
  CHECK_THAT(d["failed"][0]["reason"].get<std::string>(),
             Catch::Contains("exit status 1") && Catch::Contains("seven"));

  const Outcome partial = MakeRewardFunction("code", Options(true))
                              ->Score(CodePrompt(kAddTests), Fenced("python", program));
  CHECK(partial.reward == Approx(2.0 / 3));
  CHECK_FALSE(partial.correct);

  const Outcome wrong = MakeRewardFunction("code", Options())
                            ->Score(CodePrompt(kAddTests), Fenced("python", "print(3)"));
  CHECK_THAT(Details(wrong)["failed"][0]["reason"].get<std::string>(),
             Catch::Contains("wrong answer: line 1: expected \"6\", got \"3\""));

  RewardOptions quick = Options();
  quick.code_limits.wall_s = 1;
  const Outcome slow =
      MakeRewardFunction("code", quick)
          ->Score(CodePrompt(kAddTests), Fenced("python", "import time\ntime.sleep(30)"));
  CHECK_THAT(Details(slow)["failed"][0]["reason"].get<std::string>(),
             Catch::Contains("time limit"));
}

TEST_CASE("a test script passes when it exits 0", "[reward][sandbox]") {
  const std::string script = R"({"script": "from solution import add\nassert add(2, 3) == 5\n",
                                 "language": "python"})";
  auto code = MakeRewardFunction("code", Options());
  CHECK(code->Score(CodePrompt(script), Fenced("python", "def add(a, b):\n    return a + b"))
            .correct);
  const Outcome wrong =
      code->Score(CodePrompt(script), Fenced("python", "def add(a, b):\n    return a - b"));
  CHECK_FALSE(wrong.correct);
  CHECK_THAT(Details(wrong)["stderr"].get<std::string>(), Catch::Contains("AssertionError"));
}

TEST_CASE("a prompt without usable tests scores its fallback with the reason", "[reward]") {
  auto code = MakeRewardFunction("code", Options());
  task::Prompt none{"p", "q", {}};
  CHECK_THAT(code->Score(none, Fenced("python", "print(1)")).error,
             Catch::Contains("code: the prompt has no \"tests\" metadata"));
  CHECK_THAT(code->Score(CodePrompt("[{\"input\": 1}]"), Fenced("python", "print(1)")).error,
             Catch::Contains("metadata \"tests\": case 0 is not"));
  CHECK_THAT(code->Score(CodePrompt(kAddTests, {{"language", "java"}}), "x").error,
             Catch::Contains("\"language\" is \"java\""));
}

TEST_CASE("code_filter_tests keeps the cases most reference solutions pass", "[reward][sandbox]") {
  // The third case's expected output is wrong: both solutions fail it.
  const char* tests = R"([{"input": "1 2", "output": "3"}, {"input": "2 2", "output": "4"},
                          {"input": "5 5", "output": "11"}])";
  const Json solutions = {kPythonAdd, Fenced("python", kPythonAdd)};
  task::Prompt p = CodePrompt(tests, {{"solutions", solutions.dump()}});
  p.json_metadata.insert("solutions");
  RewardOptions o = Options();
  CHECK_FALSE(MakeRewardFunction("code", o)->Score(p, Fenced("python", kPythonAdd)).correct);
  o.filter_tests = true;
  const Outcome filtered = MakeRewardFunction("code", o)->Score(p, Fenced("python", kPythonAdd));
  INFO(filtered.details << filtered.error);
  CHECK(filtered.correct);
  CHECK(Details(filtered)["cases"] == 2);
}

TEST_CASE("a batch's code samples run at once up to reward.sandboxes", "[reward][sandbox]") {
  const config::Config c = config::ParseConfig(
      "reward:\n  functions: [code]\n  sandboxes: 4\n  code_wall_s: 10\n", "code.yaml");
  const ComposedReward composed(c);
  const task::Prompt p = CodePrompt(R"([{"input": "", "output": "done"}])");
  const std::string response = Fenced("python", "import time\ntime.sleep(1.5)\nprint('done')");
  std::vector<ComposedReward::Sample> samples(4, {&p, &response});
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Composed> scored = composed.ScoreBatch(samples, 4);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const Composed& s : scored) CHECK(s.correct);
  // One at a time would take 6 s of sleeping.
  CHECK(seconds < 4.5);
}

TEST_CASE("the code keys set each case's CPU time wall time and memory", "[reward][sandbox]") {
  const config::Config c = config::ParseConfig(
      "reward:\n  functions: [code]\n  code_cpu_s: 1\n  code_wall_s: 3\n  code_memory_mb: 64\n",
      "code.yaml");
  const ComposedReward composed(c);
  auto reason = [&](const std::string& program) {
    const task::Prompt p = CodePrompt(R"([{"input": "", "output": "x"}])");
    const Json d = Json::parse(composed.Score(p, Fenced("python", program)).details);
    INFO(d.dump());
    return d["code"]["failed"][0]["reason"].get<std::string>();
  };
  CHECK_THAT(reason("while True: pass"), Catch::Contains("CPU time limit (1 s)"));
  CHECK_THAT(reason("import time\ntime.sleep(60)"), Catch::Contains("time limit (3 s wall)"));
  CHECK_THAT(reason("x = bytearray(200 << 20)"), Catch::Contains("memory limit (64 MiB)"));
}

TEST_CASE("hostile programs in a batch score as failures with their reasons beside a good one",
          "[reward][sandbox]") {
  const config::Config c = config::ParseConfig(
      "reward:\n  functions: [code]\n  sandboxes: 4\n  code_wall_s: 3\n", "code.yaml");
  const ComposedReward composed(c);
  const task::Prompt p = CodePrompt(kAddTests);
  const std::vector<std::string> responses = {
      Fenced("python", "import os\nwhile True:\n    os.fork()"),
      Fenced("python", "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)"),
      Fenced("python", "print(open('/etc/shadow').read())"),
      Fenced("python",
             "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, "
             "signal.SIGKILL)\nprint(3)"),
      Fenced("python", "while True:\n    print('x' * 65536)"),
      Fenced("python", kPythonAdd)};
  std::vector<ComposedReward::Sample> samples;
  for (const std::string& r : responses) samples.push_back({&p, &r});
  const std::vector<Composed> scored = composed.ScoreBatch(samples, 4);
  // Each is stopped: a fork fails past the process limit, there is no
  // network, /etc/shadow is not the sandbox user's, the parent cannot be
  // signalled, the output is cut.
  const std::vector<std::string> reasons = {"Resource temporarily unavailable",
                                            "Network is unreachable", "Permission denied",
                                            "ProcessLookupError", "output limit"};
  for (size_t i = 0; i < reasons.size(); ++i) {
    INFO(scored[i].details);
    CHECK_FALSE(scored[i].correct);
    CHECK(scored[i].reward == 0);
    CHECK(scored[i].error.empty());  // the program's failure, not the function's
    CHECK_THAT(Json::parse(scored[i].details)["code"]["failed"][0]["reason"].get<std::string>(),
               Catch::Contains(reasons[i]));
  }
  CHECK(scored.back().correct);
}

}  // namespace crescent::reward
