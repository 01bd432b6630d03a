// Prompts enter a run through the master's PromptEncoder: rendered with the
// policy's chat template (task.chat_template, task.enable_thinking) and
// encoded once; here with the real Qwen3 tokenizer and chat template.
#include "master/prompt_encoder.hpp"

#include <catch2/catch.hpp>

#include "tests/common/policy_fixtures.hpp"
#include "tests/common/process.hpp"

using namespace crescent;

namespace {

// A policy directory's text side: Qwen3's tokenizer files and a config.json
// whose embedding has Qwen3's 151,936 rows.
tok::PolicyTokenizer Qwen3Tokenizer() {
  static const std::string dir =
      testing::WriteTokenizerDir(testing::TempDir("crescent-prompt-encoder"), "qwen3", 151936);
  return tok::LoadPolicyTokenizer(dir);
}

proto::Prompt Chat() {
  proto::Prompt p;
  p.id = "c1";
  p.messages = {{"system", "Answer with a number."}, {"user", "What is 2+3?"}};
  p.metadata["answer"] = "5";
  return p;
}

proto::Prompt Text() {
  proto::Prompt p;
  p.id = "t1";
  p.text = "What is 2+3?";
  return p;
}

}  // namespace

TEST_CASE("task.chat_template: prompts are rendered with the policy's chat template, or refused",
          "[master]") {
  const tok::PolicyTokenizer tokenizer = Qwen3Tokenizer();
  config::TaskSection task;
  task.enable_thinking = true;
  SECTION("on (the default): a chat and a text prompt both get the template's generation prompt") {
    master::PromptEncoder prompts(task, tokenizer);
    const auto& chat = prompts.Encode(Chat());
    CHECK(chat.text ==
          "<|im_start|>system\nAnswer with a number.<|im_end|>\n"
          "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n");
    CHECK(chat.ids == tokenizer.Encode(chat.text));
    const auto& text = prompts.Encode(Text());
    CHECK(text.text == "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n");
    // The reward sees the rendered chat for a chat prompt, the text otherwise.
    CHECK(prompts.ForReward(Chat()).text == chat.text);
    CHECK(prompts.ForReward(Chat()).metadata.at("answer") == "5");
    CHECK(prompts.ForReward(Text()).text == "What is 2+3?");
    std::vector<proto::GenerationTask> tasks(2);
    tasks[0].prompt = Chat();
    tasks[1].prompt = Text();
    prompts.Fill(tasks);
    CHECK(tasks[0].prompt_tokens == chat.ids);
    CHECK(tasks[1].prompt_tokens == text.ids);
  }
  SECTION("off: a text prompt is given as it is, a chat prompt is refused by name") {
    task.chat_template = false;
    master::PromptEncoder prompts(task, tokenizer);
    const auto& text = prompts.Encode(Text());
    CHECK(text.text == "What is 2+3?");
    CHECK(text.ids == tokenizer.EncodePrompt("What is 2+3?"));
    CHECK_THROWS_WITH(prompts.Encode(Chat()),
                      "prompt \"c1\" is a chat (\"messages\") but task.chat_template is false");
  }
  SECTION("a policy without a chat template refuses chat prompts by name") {
    master::PromptEncoder prompts(task, tok::BuiltinPolicyTokenizer("0123456789+="));
    CHECK_THROWS_WITH(prompts.Encode(Chat()),
                      Catch::Contains("prompt \"c1\" is a chat") &&
                          Catch::Contains("the policy has no chat template"));
    proto::Prompt p;
    p.id = "2+3";
    p.text = "2+3=";
    CHECK(prompts.Encode(p).ids == std::vector<int32_t>{0, 4, 12, 5, 13});
  }
}

TEST_CASE("task.enable_thinking false: Qwen3's empty think block follows the generation prompt",
          "[master]") {
  config::TaskSection task;
  task.enable_thinking = false;
  master::PromptEncoder prompts(task, Qwen3Tokenizer());
  CHECK(prompts.Encode(Text()).text ==
        "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  task.enable_thinking = true;
  master::PromptEncoder thinking(task, Qwen3Tokenizer());
  CHECK(thinking.Encode(Text()).text.find("<think>") == std::string::npos);
}

TEST_CASE("prompts of two sets under one id are each encoded as they are", "[master]") {
  // JSONL ids default to line numbers: the training file's and
  // eval.data_file's first lines are both "1".
  master::PromptEncoder prompts(config::TaskSection{}, tok::BuiltinPolicyTokenizer("0123456789+="));
  const proto::Prompt training{"1", "2+3=", {}};
  const proto::Prompt eval{"1", "9+9=", {}};
  const std::vector<int32_t> training_ids = prompts.Encode(training).ids;
  CHECK(prompts.Encode(eval).text == "9+9=");
  CHECK(prompts.Encode(eval).ids != training_ids);
  CHECK(prompts.Encode(training).ids == training_ids);
  proto::Prompt chat = Chat();
  chat.id = "1";
  CHECK_THROWS_WITH(prompts.Encode(chat), Catch::Contains("is a chat"));
}
