// scripts/make-chat-math.py: its files read back as prompts and SFT data, the
// held-out problems out of training, the SFT answers scored correct.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>

#include "common/task/prompt_source.hpp"
#include "common/task/sft_data.hpp"
#include "reward/reward_function.hpp"
#include "tests/common/process.hpp"

using namespace crescent::task;
using crescent::testing::ReadFile;

namespace {

// configs/chat-math.yaml's reward.math_answer: only a boxed answer counts.
crescent::reward::RewardOptions BoxedOnly() {
  crescent::reward::RewardOptions options;
  options.math_extract.fallback = crescent::reward::AnswerFallback::kNone;
  return options;
}

std::string MakeChatMath(const std::string& name, const std::string& flags = "") {
  const std::string out = crescent::testing::TempDir(name);
  const std::string command = std::string(CRESCENT_PYTHON3) + " " + CRESCENT_SOURCE_DIR +
                              "/scripts/make-chat-math.py --out " + out + " " + flags + " > " +
                              out + "/log.txt 2>&1";
  const int status = std::system(command.c_str());
  INFO(ReadFile(out + "/log.txt"));
  REQUIRE(status == 0);
  return out;
}

std::string Question(const Prompt& p) {
  REQUIRE(p.messages.size() == 1);
  CHECK(p.messages[0].role == "user");
  return p.messages[0].content;
}

}  // namespace

TEST_CASE("make-chat-math writes training, held-out and SFT files that read back", "[task]") {
  const std::string dir = MakeChatMath("crescent-chat-math");
  auto train = MakeJsonlSource(dir + "/train.jsonl");
  auto heldout = MakeJsonlSource(dir + "/heldout.jsonl");
  const std::vector<Conversation> sft = ReadSftData(dir + "/sft.jsonl");
  REQUIRE(train->Training().size() == 4000);
  REQUIRE(heldout->Training().size() == 200);
  REQUIRE(sft.size() == 4000);

  std::set<std::string> train_questions;
  std::set<int> levels;
  for (const Prompt& p : train->Training()) {
    train_questions.insert(Question(p));
    CHECK(p.metadata.at("domain") == "math");
    const std::string& answer = p.metadata.at("answer");
    CHECK(answer.find_first_not_of("0123456789") == std::string::npos);
    levels.insert(std::stoi(p.metadata.at("difficulty")));
  }
  CHECK(train_questions.size() == 4000);
  CHECK(levels == std::set<int>{1, 2, 3, 4, 5});
  for (const Prompt& p : heldout->Training()) CHECK(train_questions.count(Question(p)) == 0);

  // SFT: the training problems, answered in a form the math reward scores correct.
  auto math = crescent::reward::MakeRewardFunction("math", BoxedOnly());
  const auto& prompts = train->Training();
  for (size_t i = 0; i < sft.size(); ++i) {
    REQUIRE(sft[i].messages.size() == 2);
    CHECK(sft[i].messages[0].content == Question(prompts[i]));
    const std::string& solution = sft[i].messages[1].content;
    CHECK(solution.find("The answer is \\boxed{") != std::string::npos);
    CHECK(math->Score(Question(prompts[i]), solution, prompts[i].metadata).correct);
  }
}

TEST_CASE("make-chat-math is deterministic for a seed", "[task]") {
  const std::string a = MakeChatMath("crescent-chat-math-a", "--train 300 --heldout 50");
  const std::string b = MakeChatMath("crescent-chat-math-b", "--train 300 --heldout 50");
  const std::string c = MakeChatMath("crescent-chat-math-c", "--train 300 --heldout 50 --seed 2");
  for (const char* file : {"/train.jsonl", "/heldout.jsonl", "/sft.jsonl"}) {
    CHECK(ReadFile(a + file) == ReadFile(b + file));
    CHECK(ReadFile(a + file) != ReadFile(c + file));
  }
  CHECK(MakeJsonlSource(a + "/heldout.jsonl")->Training().size() == 50);
}

TEST_CASE(
    "make-chat-math --levels keeps those levels and --teacher-error leaves that share unboxed",
    "[task]") {
  const std::string dir = MakeChatMath(
      "crescent-chat-math-teacher", "--train 1000 --heldout 60 --levels 1,4 --teacher-error 0.7");
  auto train = MakeJsonlSource(dir + "/train.jsonl");
  auto heldout = MakeJsonlSource(dir + "/heldout.jsonl");
  const std::vector<Conversation> sft = ReadSftData(dir + "/sft.jsonl");
  REQUIRE(sft.size() == 1000);
  std::set<int> levels;
  for (const auto* source : {train.get(), heldout.get()})
    for (const Prompt& p : source->Training())
      levels.insert(std::stoi(p.metadata.at("difficulty")));
  CHECK(levels == std::set<int>{1, 4});

  // The unboxed solutions say the right number, but the math reward, which
  // reads a boxed answer, scores them wrong.
  auto math = crescent::reward::MakeRewardFunction("math", BoxedOnly());
  const auto& prompts = train->Training();
  size_t unboxed = 0;
  for (size_t i = 0; i < sft.size(); ++i) {
    const std::string& solution = sft[i].messages[1].content;
    const std::string& answer = prompts[i].metadata.at("answer");
    const bool boxed = solution.find("\\boxed{") != std::string::npos;
    if (boxed) {
      CHECK(math->Score(Question(prompts[i]), solution, prompts[i].metadata).correct);
    } else {
      ++unboxed;
      CHECK(solution.size() > answer.size() + 2);
      CHECK(solution.substr(solution.size() - answer.size() - 2) == " " + answer + ".");
      CHECK_FALSE(math->Score(Question(prompts[i]), solution, prompts[i].metadata).correct);
    }
  }
  CHECK(unboxed > 640);
  CHECK(unboxed < 760);
}

TEST_CASE("make-chat-math refuses levels it does not have and shares outside [0, 1]", "[task]") {
  const std::string out = crescent::testing::TempDir("crescent-chat-math-bad");
  for (const std::string flags : {"--levels 2,7", "--levels one", "--teacher-error 1.5"}) {
    const std::string command = std::string(CRESCENT_PYTHON3) + " " + CRESCENT_SOURCE_DIR +
                                "/scripts/make-chat-math.py --out " + out + " " + flags + " > " +
                                out + "/log.txt 2>&1";
    CHECK(std::system(command.c_str()) != 0);
    const std::string log = ReadFile(out + "/log.txt");
    CHECK(log.find(flags.substr(0, flags.find(' '))) != std::string::npos);
  }
}
