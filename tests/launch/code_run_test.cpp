// The code reward through a whole run: a random tiny Qwen3 with the real
// Qwen3 tokenizer, SFT on "Print N." answered by a Python code block, then
// `crescent run` with reward.functions [code], whose reward services execute
// each response's program against its test in the sandbox.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/common/json_lines.hpp"
#include "tests/common/process.hpp"
#include "tests/launch/tiny_model_runs.hpp"

namespace {

using crescent::testing::InitTinyModel;
using crescent::testing::Succeed;
using crescent::testing::TinyRunCommand;
using nlohmann::json;

// "Print N." -> a Python block printing N; its test expects N on stdout.
void WriteData(const std::string& root) {
  std::ofstream sft(root + "/sft.jsonl"), train(root + "/train.jsonl");
  for (int n = 0; n < 64; ++n) {
    const std::string q = "Print " + std::to_string(n) + ".";
    const json user = {{"role", "user"}, {"content", q}};
    sft << json({{"messages",
                  {user,
                   {{"role", "assistant"},
                    {"content", "```python\nprint(" + std::to_string(n) + ")\n```"}}}}})
               .dump()
        << "\n";
    if (n % 8 == 3) {
      train << json({{"id", "print" + std::to_string(n)},
                     {"messages", {user}},
                     {"language", "python"},
                     {"tests", {{{"input", ""}, {"output", std::to_string(n)}}}}})
                   .dump()
            << "\n";
    }
  }
}

}  // namespace

TEST_CASE("a run with the code reward scores responses by running their programs", "[launch]") {
  const std::string root = crescent::testing::TempDir("crescent-code-run");
  const std::string model = root + "/model", run = root + "/run";
  WriteData(root);
  InitTinyModel("qwen3", model, {"--kv-heads", "2", "--max-positions", "256", "--arch", "qwen3"});
  for (const char* verb : {"sft", "run"}) {
    Succeed(TinyRunCommand(verb, root, model, run,
                           {"run.iterations=2", "sft.steps=80", "rollout.temperature=0.5",
                            "reward.functions=[code]", "reward.sandboxes=2"}),
            root + "/" + verb + ".log");
  }
  // Every scored trajectory says what the code reward did with it; after
  // this SFT most responses are code blocks whose programs ran and printed a
  // number (rarely the right one: the tiny model copies the template, not
  // the number), each scored by its test's outcome.
  size_t scored = 0, executed = 0, compared = 0;
  for (const json& line :
       crescent::testing::ParseJsonLines(crescent::testing::ReadFile(run + "/ledger.jsonl"))) {
    if (!line.contains("reward_details")) continue;
    const json& code = line["reward_details"]["code"];
    INFO(line.dump());
    CHECK_FALSE(code.contains("error"));
    ++scored;
    if (code.contains("cases")) {
      ++executed;
      CHECK(code["cases"] == 1);
      CHECK(line["reward"] == code["passed"].get<double>());
      const bool wrong =
          code.contains("failed") &&
          code["failed"][0]["reason"].get<std::string>().rfind("wrong answer: ", 0) == 0;
      compared += code["passed"] == 1 || wrong;
    }
  }
  CHECK(scored >= 16);
  CHECK(executed * 2 >= scored);
  CHECK(compared * 2 >= scored);
}
