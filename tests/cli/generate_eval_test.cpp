// `crescent generate` and `crescent eval`, called in-process: a tiny random
// Qwen3 checkpoint with the real tokenizer and chat template, and the
// built-in model.
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "common/model/policy.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "tests/common/json_lines.hpp"
#include "tests/common/process.hpp"
#include "tests/common/tiny_checkpoint.hpp"

namespace crescent::cli {
namespace {

using nlohmann::json;

// A random Qwen3 with 2 small layers, Qwen3's tokenizer and chat template.
const std::string& TinyQwen3() {
  static const std::string dir = [] {
    model::LlamaConfig c = testing::TinyQwen3();
    c.max_positions = 128;
    return testing::WriteTinyCheckpoint(testing::TempDir("crescent-generate-qwen3"), c, "qwen3");
  }();
  return dir;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

const char* kChatJsonl =
    R"({"id": "c1", "messages": [{"role": "system", "content": "Answer with a number."}, )"
    R"({"role": "user", "content": "What is 2+3?"}], "answer": "5"})"
    "\n\n"
    R"({"id": "t1", "prompt": "What is 2+3?"})"
    "\n";

TEST_CASE("generate writes one JSON line per prompt and sample, with the decoded response",
          "[cli]") {
  const std::string dir = testing::TempDir("crescent-generate");
  const std::string input = dir + "/chat.jsonl";
  testing::WriteFile(input, kChatJsonl);
  std::ostringstream out;
  REQUIRE(GenerateCommand({"--model", TinyQwen3(), "--input", input, "--max-tokens", "5"}, out) ==
          0);
  const std::vector<json> lines = testing::ParseJsonLines(out.str());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["id"] == "c1");
  CHECK(lines[0]["sample"] == 0);
  CHECK(lines[0]["prompt"] ==
        "<|im_start|>system\nAnswer with a number.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n");
  CHECK(lines[0]["metadata"]["answer"] == "5");
  CHECK(lines[1]["id"] == "t1");
  CHECK(lines[1]["prompt"] == "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n");
  const model::Policy policy = model::LoadPolicy(TinyQwen3());
  for (const json& l : lines) {
    INFO(l.dump());
    CHECK(l["prompt_tokens"] == policy.tokenizer.Encode(l["prompt"].get<std::string>()).size());
    const int64_t n = l["response_tokens"];
    CHECK(n >= 1);
    CHECK(n <= 5);
    CHECK((l["finish_reason"] == "stop" || l["finish_reason"] == "length"));
    if (l["finish_reason"] == "length") CHECK(n == 5);
    CHECK(!l["response"].get<std::string>().empty());
  }

  SECTION("greedy by default: the same again; --output writes the same lines to a file") {
    std::ostringstream again;
    REQUIRE(GenerateCommand({"--model", TinyQwen3(), "--input", input, "--max-tokens=5", "--output",
                             dir + "/out.jsonl"},
                            again) == 0);
    CHECK(again.str().empty());
    CHECK(testing::ReadFile(dir + "/out.jsonl") == out.str());
  }
  SECTION("--samples N: N lines a prompt, sampled with --temperature and --seed") {
    std::ostringstream sampled, same;
    const std::vector<std::string> args = {"--model",   TinyQwen3(), "--input",       input,
                                           "--samples", "3",         "--temperature", "1",
                                           "--seed",    "5",         "--max-tokens",  "6"};
    REQUIRE(GenerateCommand(args, sampled) == 0);
    REQUIRE(GenerateCommand(args, same) == 0);
    CHECK(sampled.str() == same.str());
    const std::vector<json> s = testing::ParseJsonLines(sampled.str());
    REQUIRE(s.size() == 6);
    for (size_t i = 0; i < s.size(); ++i) {
      CHECK(s[i]["id"] == (i < 3 ? "c1" : "t1"));
      CHECK(s[i]["sample"] == i % 3);
    }
  }
  SECTION("--enable-thinking false and --chat-template false change the prompt as a run's keys") {
    std::ostringstream plain;
    testing::WriteFile(dir + "/text.jsonl", "{\"prompt\": \"What is 2+3?\"}\n");
    REQUIRE(GenerateCommand({"--model", TinyQwen3(), "--input", dir + "/text.jsonl", "--max-tokens",
                             "2", "--chat-template", "false"},
                            plain) == 0);
    CHECK(testing::ParseJsonLines(plain.str())[0]["prompt"] == "What is 2+3?");
    CHECK(testing::ParseJsonLines(plain.str())[0]["id"] == "1");
    std::ostringstream no_think;
    REQUIRE(GenerateCommand({"--model", TinyQwen3(), "--input", dir + "/text.jsonl", "--max-tokens",
                             "2", "--enable-thinking", "false"},
                            no_think) == 0);
    CHECK(testing::ParseJsonLines(no_think.str())[0]["prompt"] ==
          "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
          "<think>\n\n</think>\n\n");
  }
}

TEST_CASE("generate names the input line, the prompt or the policy directory at fault", "[cli]") {
  const std::string dir = testing::TempDir("crescent-generate-errors");
  const std::string input = dir + "/chat.jsonl";
  testing::WriteFile(input, kChatJsonl);
  testing::WriteFile(dir + "/bad.jsonl", "{\"prompt\": \"a\"}\n{\"prompt\": 3}\n");
  std::ostringstream out;
  CHECK_THAT(ErrorOf([&] {
               GenerateCommand({"--model", TinyQwen3(), "--input", dir + "/bad.jsonl"}, out);
             }),
             Catch::Contains(dir + "/bad.jsonl:2: \"prompt\" is not a string"));
  CHECK_THAT(ErrorOf([&] {
               GenerateCommand(
                   {"--model", TinyQwen3(), "--input", input, "--chat-template", "false"}, out);
             }),
             Catch::Contains(input + ": prompt \"c1\" is a chat"));
  CHECK_THAT(ErrorOf([&] {
               GenerateCommand({"--model", dir + "/none", "--input", input}, out);
             }),
             Catch::Contains("policy directory " + dir + "/none"));
  CHECK_THAT(ErrorOf([&] {
               GenerateCommand({"--model", TinyQwen3()}, out);
             }),
             Catch::Contains("usage: crescent generate"));
  CHECK_THAT(
      ErrorOf([&] {
        GenerateCommand({"--model", TinyQwen3(), "--input", input, "--max-tokens", "x"}, out);
      }),
      Catch::Contains("--max-tokens: \"x\" is not an integer"));
  CHECK_THAT(ErrorOf([&] {
               GenerateCommand({"--model", TinyQwen3(), "--input", input, "--bogus", "1"}, out);
             }),
             Catch::Contains("unknown argument \"--bogus\""));
  CHECK(out.str().empty());
}

// The built-in model, freshly initialised, saved as a policy directory.
const std::string& BuiltinModel() {
  static const std::string dir = [] {
    const std::string d = testing::TempDir("crescent-eval-builtin");
    model::Policy policy = model::NewBuiltinPolicy(
        config::ParseConfig(config::EmbeddedDefaultConfig(), "<embedded quickstart>"));
    model::SavePolicy(policy, d + "/model");
    return d + "/model";
  }();
  return dir;
}

// The JSON object on the last line of `text`.
json LastLine(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return json::parse(last);
}

TEST_CASE("eval: greedy accuracy, mean@N and pass@k on a set whose answers are known", "[cli]") {
  // The greedy responses (8 tokens, the quickstart's max_response_tokens)
  // are the answers of the first two prompts and not of the last two (no
  // response of the built-in alphabet is "x"): greedy accuracy 0.5.
  const std::string dir = testing::TempDir("crescent-eval");
  testing::WriteFile(dir + "/prompts.jsonl",
                     "{\"prompt\": \"1+2=\"}\n{\"prompt\": \"3+4=\"}\n{\"prompt\": \"5+5=\"}\n"
                     "{\"prompt\": \"7+1=\"}\n");
  std::ostringstream generated;
  REQUIRE(GenerateCommand(
              {"--model", BuiltinModel(), "--input", dir + "/prompts.jsonl", "--max-tokens", "8"},
              generated) == 0);
  const std::vector<json> responses = testing::ParseJsonLines(generated.str());
  REQUIRE(responses.size() == 4);
  std::string data;
  for (size_t i = 0; i < 4; ++i) {
    json line = {{"prompt", responses[i]["prompt"]},
                 {"answer", i < 2 ? responses[i]["response"].get<std::string>() : "x"}};
    data += line.dump() + "\n";
  }
  testing::WriteFile(dir + "/data.jsonl", data);
  const std::vector<std::string> base = {"--data", dir + "/data.jsonl", "--model", BuiltinModel()};

  std::ostringstream greedy;
  REQUIRE(EvalCommand(base, greedy) == 0);
  INFO(greedy.str());
  json j = LastLine(greedy.str());
  CHECK(j["prompts"] == 4);
  CHECK(j["greedy_accuracy"] == 0.5);
  CHECK(j["greedy_mean_reward"] == 0.5);
  CHECK(j["samples"] == 1);
  CHECK_FALSE(j.contains("pass@1"));
  CHECK(j["policy"] == BuiltinModel());
  CHECK(greedy.str().find("greedy: accuracy 0.5 (2 of 4), mean reward 0.5") != std::string::npos);

  SECTION("--samples with rollout.top_k 1: every sample is the greedy one") {
    std::vector<std::string> args = base;
    args.insert(args.end(),
                {"--samples", "4", "--set", "rollout.top_k=1", "--set", "reward.correct_reward=3"});
    std::ostringstream out;
    REQUIRE(EvalCommand(args, out) == 0);
    INFO(out.str());
    j = LastLine(out.str());
    CHECK(j["greedy_accuracy"] == 0.5);
    CHECK(j["greedy_mean_reward"] == 1.5);  // math's correct_reward 3, incorrect 0
    CHECK(j["mean@4"] == 0.5);
    CHECK(j["mean_reward@4"] == 1.5);
    for (const char* k : {"pass@1", "pass@2", "pass@4"}) CHECK(j[k] == 0.5);
    CHECK_FALSE(j.contains("pass@3"));
  }
  SECTION("--samples at temperature 1: pass@1 is mean@N, pass@k grows with k") {
    std::vector<std::string> args = base;
    args.insert(args.end(), {"--samples", "3"});
    std::ostringstream out;
    REQUIRE(EvalCommand(args, out) == 0);
    INFO(out.str());
    j = LastLine(out.str());
    CHECK(j["pass@1"].get<double>() == Approx(j["mean@3"].get<double>()));
    CHECK(j["pass@2"].get<double>() >= j["pass@1"].get<double>());
    CHECK(j["pass@3"].get<double>() >= j["pass@2"].get<double>());
    CHECK(j["pass@3"].get<double>() <= 1.0);
    CHECK(out.str().find("sampled (3 per prompt, temperature 1") != std::string::npos);
  }
}

TEST_CASE("eval names the data line, the config key or the policy at fault", "[cli]") {
  const std::string dir = testing::TempDir("crescent-eval-errors");
  testing::WriteFile(dir + "/bad.jsonl", "{\"prompt\": \"1+2=\"}\nnot json\n");
  testing::WriteFile(dir + "/ok.jsonl", "{\"prompt\": \"1+2=\", \"answer\": \"3\"}\n");
  std::ostringstream out;
  auto eval = [&](std::vector<std::string> args) {
    return ErrorOf([&] { EvalCommand(args, out); });
  };
  CHECK_THAT(eval({"--data", dir + "/bad.jsonl", "--model", BuiltinModel()}),
             Catch::Contains(dir + "/bad.jsonl:2: "));
  CHECK_THAT(eval({"--data", dir + "/missing.jsonl"}),
             Catch::Contains(dir + "/missing.jsonl: cannot open"));
  CHECK_THAT(eval({"--data", dir + "/ok.jsonl", "--model", dir + "/nothing"}),
             Catch::Contains("policy directory " + dir + "/nothing"));
  CHECK_THAT(eval({"--data", dir + "/ok.jsonl", "--set", "reward.functions=[nope]"}),
             Catch::Contains("reward.functions: ") && Catch::Contains("nope"));
  CHECK_THAT(eval({"--data", dir + "/ok.jsonl", "--samples", "0"}),
             Catch::Contains("--samples: expected >= 1"));
  CHECK_THAT(eval({dir + "/ok.jsonl"}), Catch::Contains("usage: crescent eval"));
}

}  // namespace
}  // namespace crescent::cli
