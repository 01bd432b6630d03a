// Command reward plug-ins (reward/command_reward.hpp): one long-lived process
// per function, restarted after each kind of failure, each failure costing
// one sample only. The plug-in under test is plugins/command_plugin.py,
// driven by the response text.
#include "reward/command_reward.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "reward/composed_reward.hpp"

using namespace crescent;
using namespace crescent::reward;
using Json = nlohmann::json;

namespace {

const std::string kPlugin = CMD_PLUGIN_DIR "/command_plugin.py";
const std::string kName = "python3 " + kPlugin;  // how errors name it

RewardOptions Options(double timeout_s = 5) {
  RewardOptions o;
  o.plugin_timeout_s = timeout_s;
  return o;
}

std::unique_ptr<RewardFunction> Plugin(double timeout_s = 5, std::vector<std::string> extra = {}) {
  std::vector<std::string> command = {"python3", kPlugin};
  command.insert(command.end(), extra.begin(), extra.end());
  return MakeCommandReward(command, Options(timeout_s));
}

task::Prompt Plain(std::map<std::string, std::string> metadata = {{"answer", "ok"}}) {
  return {"p1", "Say ok.", std::move(metadata)};
}

Json Details(const Outcome& o) {
  REQUIRE_FALSE(o.details.empty());
  return Json::parse(o.details);
}

// A good reply; returns the plug-in's pid and its count of requests read.
std::pair<int, int> Good(const RewardFunction& f) {
  const Outcome o = f.Score(Plain(), "ok");
  INFO(o.error);
  REQUIRE(o.error.empty());
  CHECK(o.reward == 2);
  CHECK(o.correct);
  CHECK(o.judged);
  const Json d = Details(o);
  return {d["pid"].get<int>(), d["calls"].get<int>()};
}

// A failed sample: reward 0, not correct, the function and `reason` named.
void Failed(const Outcome& o, const std::string& reason, const std::string& name = kName) {
  INFO(o.error);
  CHECK(o.reward == 0);
  CHECK_FALSE(o.correct);
  CHECK(o.details.empty());
  CHECK_THAT(o.error,
             Catch::StartsWith("reward command " + name + ": ") && Catch::Contains(reason));
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Whether `pid` is gone or a zombie (killed, not yet reaped by its new parent).
bool Dead(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return true;
  return state == "Z" || state == "X";
}

bool HaveGxx() { return std::system("command -v g++ >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("a command plug-in is one process kept running across calls", "[reward]") {
  auto f = Plugin();
  const auto [pid, first] = Good(*f);
  CHECK(first == 1);
  for (int i = 2; i <= 20; ++i) {
    const auto [again, calls] = Good(*f);
    CHECK(again == pid);
    CHECK(calls == i);
  }
  const Outcome wrong = f->Score(Plain(), "no");
  CHECK(wrong.error.empty());
  CHECK(wrong.reward == 2);
  CHECK_FALSE(wrong.correct);
  CHECK(wrong.judged);
  CHECK(Details(wrong)["pid"] == pid);
}

TEST_CASE("a command plug-in gets the prompt and metadata with their JSON types", "[reward]") {
  auto f = Plugin();
  task::Prompt prompt{"p7", "Add them.", {{"answer", "12"}, {"tests", "[1,2]"}, {"n", "3"}}};
  prompt.json_metadata = {"tests", "n"};
  const Outcome o = f->Score(prompt, "ok");
  INFO(o.error);
  REQUIRE(o.error.empty());
  const Json d = Details(o);
  CHECK(d["prompt"] == "Add them.");
  CHECK(d["types"] == Json({{"answer", "str"}, {"tests", "list"}, {"n", "int"}}));
  CHECK(d["metadata"]["answer"] == "12");
  CHECK(d["metadata"]["tests"] == Json::array({1, 2}));
  CHECK(d["metadata"]["n"] == 3);
  // Bytes that are not UTF-8 (a response cut mid-character) still reach it.
  const Outcome cut = f->Score(prompt, "ok\xe2\x82");
  INFO(cut.error);
  CHECK(cut.error.empty());
  CHECK(cut.reward == 3);  // "ok" and one U+FFFD
}

TEST_CASE("a reply without correct is not judged and its details are kept", "[reward]") {
  auto f = Plugin();
  const Outcome o = f->Score(Plain(), "no-correct");
  INFO(o.error);
  REQUIRE(o.error.empty());
  CHECK(o.reward == 10);
  CHECK_FALSE(o.correct);
  CHECK_FALSE(o.judged);
  CHECK(Details(o)["metadata"]["answer"] == "ok");
}

TEST_CASE("a command plug-in that exits or crashes mid-request is restarted", "[reward]") {
  auto f = Plugin();
  const int pid = Good(*f).first;
  Failed(f->Score(Plain(), "exit"), "exited with status 3 before replying");
  const auto [restarted, calls] = Good(*f);
  CHECK(restarted != pid);
  CHECK(calls == 1);
  Failed(f->Score(Plain(), "segv"), "killed by signal 11 (Segmentation fault) before replying");
  CHECK(Good(*f).first != restarted);
}

TEST_CASE("a command plug-in that hangs is killed at the timeout with its group", "[reward]") {
  auto f = Plugin(0.5);
  const int pid = Good(*f).first;
  auto t0 = std::chrono::steady_clock::now();
  Failed(f->Score(Plain(), "hang"), "timed out after 0.5 s");
  CHECK(Seconds(t0) >= 0.25);
  CHECK(Seconds(t0) < 3.0);
  CHECK(Dead(pid));
  CHECK(Good(*f).first != pid);

  // What it started dies with it.
  char path[] = "/tmp/crescent-command-test-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  Failed(f->Score(Plain(), std::string("hang-with-child:") + path), "timed out");
  int grandchild = 0;
  std::ifstream(path) >> grandchild;
  std::remove(path);
  REQUIRE(grandchild > 0);
  t0 = std::chrono::steady_clock::now();
  while (!Dead(grandchild) && Seconds(t0) < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(Dead(grandchild));
  Good(*f);
}

TEST_CASE("a command plug-in that closes its stdout is restarted", "[reward]") {
  auto f = Plugin(0.5);
  const int pid = Good(*f).first;
  Failed(f->Score(Plain(), "close-stdout"), "closed its stdout before replying");
  CHECK(Good(*f).first != pid);
}

TEST_CASE("bad replies fail their sample and restart the plug-in", "[reward]") {
  auto f = Plugin();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "wrote a line that is not JSON: this is not JSON"},
      {"not-object", "wrote a line that is not a JSON object: ["},
      {"wrong-id", "expected "},
      {"no-id", "reply has no \"id\""},
      {"nan", "reward is not a finite number (NaN)"},
      {"inf", "reward is not a finite number (-Infinity)"},
      {"no-reward", "reply has no \"reward\""},
      {"string-reward", "reward is not a number: \"1\""},
      {"bad-correct", "\"correct\" is not a boolean: \"yes\""},
      {"bad-details", "\"details\" is not an object: [1,2]"},
  };
  int pid = Good(*f).first;
  for (const auto& [response, reason] : cases) {
    INFO(response);
    Failed(f->Score(Plain(), response), reason);
    const int restarted = Good(*f).first;
    CHECK(restarted != pid);
    pid = restarted;
  }
  // The request's id and the one it sent, both named.
  const Outcome o = f->Score(Plain(), "wrong-id");
  CHECK_THAT(o.error, Catch::Matches(".*: reply id ([0-9]+), expected ([0-9]+)"));
}

TEST_CASE("a line longer than 16 MiB fails its sample", "[reward]") {
  auto f = Plugin();
  const int pid = Good(*f).first;
  Failed(f->Score(Plain(), "huge"), "wrote a line longer than 16 MiB");
  CHECK(Good(*f).first != pid);
}

TEST_CASE("an error the plug-in reports fails its sample and keeps the process", "[reward]") {
  auto f = Plugin();
  const int pid = Good(*f).first;
  Failed(f->Score(Plain(), "error"), "reported: no tests for this prompt");
  CHECK(Good(*f).first == pid);
}

TEST_CASE("a plug-in that exits between requests is started again silently", "[reward]") {
  auto f = Plugin();
  const Outcome last = f->Score(Plain(), "exit-after-reply");
  REQUIRE(last.error.empty());
  const int pid = Details(last)["pid"].get<int>();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // it has exited by now
  CHECK(Good(*f).first != pid);
}

TEST_CASE("a plug-in that exits at start costs each sample and never the caller", "[reward]") {
  // A request far larger than a pipe's buffer: writing it to a process that
  // is gone raises SIGPIPE, which must not end this process.
  auto f = Plugin(5, {"--exit-at-start"});
  const std::string big(4 << 20, 'x');
  for (int i = 0; i < 3; ++i) {
    Failed(f->Score(Plain(), big), "exited with status 2 before replying",
           kName + " --exit-at-start");
  }
}

TEST_CASE("a command whose program is missing is refused at construction", "[reward]") {
  try {
    MakeCommandReward({"crescent-no-such-program", "x"}, Options());
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK_THAT(e.what(), Catch::Equals("reward command crescent-no-such-program x: "
                                       "crescent-no-such-program not found on PATH"));
  }
  // A path must be an executable file: the test plug-in is not executable.
  CHECK_THROWS_WITH(MakeCommandReward({kPlugin}, Options()),
                    Catch::Contains(kPlugin + " is not an executable file"));
  CHECK_THROWS_WITH(MakeCommandReward({"/nonexistent/reward"}, Options()),
                    Catch::Contains("is not an executable file"));
  CHECK_THROWS_AS(MakeCommandReward({}, Options()), std::invalid_argument);
  CHECK_THROWS_WITH(MakeCommandReward({"python3"}, Options(0)), Catch::Contains("timeout"));
}

TEST_CASE("the destructor ends the plug-in promptly", "[reward]") {
  auto f = Plugin();
  const int pid = Good(*f).first;
  auto other = Plugin();  // its process must not hold the first one's stdin open
  Good(*other);
  const auto t0 = std::chrono::steady_clock::now();
  f.reset();
  CHECK(Seconds(t0) < 0.9);  // it saw EOF on stdin and exited; no SIGKILL wait
  CHECK(Dead(pid));
}

TEST_CASE("a cmd entry of reward.functions scores its fallback when it fails", "[reward]") {
  const config::Config config =
      config::ParseConfig("reward:\n  functions: [{cmd: [python3, \"" + kPlugin +
                              "\"], fallback: -1, weight: 2}, format]\n  timeout_s: 5\n",
                          "rewards.yaml");
  const ComposedReward composed(config);
  Composed o = composed.Score(Plain(), "ok");
  INFO(o.error);
  CHECK(o.reward == 4);  // 2 * 2 + 0 (not a number)
  CHECK(o.failed.empty());
  Json d = Json::parse(o.details);
  CHECK(d[kName]["reward"] == 2.0);
  CHECK(d[kName]["correct"] == true);
  CHECK(d[kName]["calls"] == 1);

  o = composed.Score(Plain(), "exit");
  CHECK(o.reward == -2);  // 2 * the fallback
  CHECK_FALSE(o.correct);
  CHECK(o.failed == std::vector<std::string>{kName});
  CHECK_THAT(o.error,
             Catch::Contains("reward command " + kName + ": exited with status 3 before replying"));
  d = Json::parse(o.details);
  CHECK(d[kName]["reward"] == -1.0);
  CHECK_THAT(d[kName]["error"].get<std::string>(), Catch::Contains("exited with status 3"));

  o = composed.Score(Plain(), "12");
  CHECK(o.reward == 2 * 2 + 1);
  CHECK(o.failed.empty());

  try {
    ComposedReward missing(config::ParseConfig(
        "reward:\n  functions: [{cmd: [crescent-no-such-program]}]\n", "rewards.yaml"));
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("reward.functions") &&
                             Catch::Contains("crescent-no-such-program not found on PATH"));
  }
}

TEST_CASE("the format-compile-test example scores 35 15 5 and 0 in the sandbox", "[reward]") {
  if (!HaveGxx()) {
    WARN("g++ is not on PATH: the example's compile cases are not run");
    return;
  }
  auto f = MakeCommandReward({"python3", CMD_EXAMPLE, "--crescent", CRESCENT_BINARY}, Options(60));
  task::Prompt prompt{"sum",
                      "Read two integers and print their sum.",
                      {{"tests", R"([{"input": "1 2\n", "output": "3\n"},
                                     {"input": "40 2", "output": "42"}])"}}};
  prompt.json_metadata = {"tests"};
  const std::string sum =
      "Here it is:\n```cpp\n#include <cstdio>\nint main() { long a, b; "
      "if (scanf(\"%ld %ld\", &a, &b) != 2) return 1; printf(\"%ld  \\n\", a + b); }\n```\n";
  Outcome o = f->Score(prompt, "<think>```cpp\nnot this one\n```</think>" + sum);
  INFO(o.error);
  CHECK(o.error.empty());
  CHECK(o.reward == 35);
  CHECK(o.correct);
  Json d = Details(o);
  CHECK(d["tests_passed"] == 2);

  o = f->Score(prompt, "```c++\nint main() { return missing; }\n```");
  CHECK(o.reward == 5);
  CHECK_FALSE(o.correct);
  d = Details(o);
  CHECK(d["format"] == true);
  CHECK(d["compiled"] == false);
  CHECK_THAT(d["compiler_error"].get<std::string>(), Catch::Contains("missing"));

  o = f->Score(prompt,
               "```\n#include <cstdio>\nint main() { long a, b; scanf(\"%ld %ld\", &a, &b); "
               "printf(\"%ld\\n\", a * b); }\n```");
  CHECK(o.reward == 15);
  CHECK_FALSE(o.correct);
  d = Details(o);
  CHECK(d["compiled"] == true);
  CHECK(d["failed_test"] == 0);
  CHECK(d["reason"] == "wrong output");
  CHECK(d["got"] == "2\n");

  o = f->Score(prompt, "The sum is a + b.");
  CHECK(o.reward == 0);
  CHECK_FALSE(o.correct);
  CHECK(Details(o)["format"] == false);

  o = f->Score(Plain({}), sum);
  CHECK_THAT(o.error, Catch::Contains("reported: ValueError: the prompt has no \"tests\""));
}
