#include "common/tokenizer/chat_template.hpp"

#include <catch2/catch.hpp>

#include "tests/tokenizer/fixtures.hpp"

namespace crescent::tok {
namespace {

using testing::FixturePath;

std::vector<ChatMessage> Messages(const nlohmann::json& list) {
  std::vector<ChatMessage> out;
  for (const auto& m : list)
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  return out;
}

TEST_CASE("chat templates render as Hugging Face's (committed vectors)", "[tokenizer]") {
  nlohmann::json cases = testing::ReadJson("chat_vectors.json");
  REQUIRE(cases.size() > 0);
  for (const auto& c : cases) {
    ChatTemplate t = ChatTemplate::Load(FixturePath(c["tokenizer"].get<std::string>()));
    INFO(c.dump());
    CHECK(t.Render(Messages(c["messages"]), c["add_generation_prompt"].get<bool>(),
                   c["enable_thinking"].get<bool>()) == c["text"].get<std::string>());
  }
}

TEST_CASE("Qwen3 template: thinking switch and reasoning of the last turn", "[tokenizer]") {
  ChatTemplate t = ChatTemplate::Load(FixturePath("qwen3/tokenizer_config.json"));
  CHECK(t.format() == ChatFormat::kQwen3);
  std::vector<ChatMessage> m = {{"system", "Be brief."}, {"user", "2+2?"}};
  CHECK(t.Render(m, true, true) ==
        "<|im_start|>system\nBe "
        "brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
  CHECK(t.Render(m, true, false) ==
        "<|im_start|>system\nBe "
        "brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"
        "<think>\n\n</think>\n\n");
  std::vector<ChatMessage> turns = {{"user", "a"},
                                    {"assistant", "<think>\nold\n</think>\n\nA"},
                                    {"user", "b"},
                                    {"assistant", "<think>\nnew\n</think>\n\nB"}};
  // Earlier turns lose their reasoning; the turn after the last query keeps it.
  CHECK(t.Render(turns, false) ==
        "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nb<|"
        "im_end|>\n"
        "<|im_start|>assistant\n<think>\nnew\n</think>\n\nB<|im_end|>\n");
}

TEST_CASE("ChatML templates of Qwen2 and Qwen2.5 write their default system prompt",
          "[tokenizer]") {
  ChatTemplate qwen25 = ChatTemplate::FromTemplateText(
      "{%- if messages[0]['role'] == 'system' %}<|im_start|>... You are Qwen, created by Alibaba "
      "Cloud. You "
      "are a helpful assistant.<|im_end|>",
      "", "test");
  CHECK(qwen25.format() == ChatFormat::kChatMl);
  CHECK(qwen25.Render({{"user", "hi"}}, true) ==
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
        "assistant.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  CHECK(qwen25.Render({{"system", "S"}, {"user", "hi"}}, false) ==
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
}

TEST_CASE("unsupported chat templates are refused with a clear message", "[tokenizer]") {
  CHECK_THROWS_WITH(ChatTemplate::FromTemplateText("{{ messages }} [INST]", "", "x.json"),
                    Catch::Contains("x.json") && Catch::Contains("supported formats"));
  CHECK_THROWS_WITH(ChatTemplate::FromTemplateText(
                        "<|start_header_id|> Cutting Knowledge Date <|eot_id|>", "", "y.json"),
                    Catch::Contains("Llama 3.1"));
  ChatTemplate t = ChatTemplate::Load(FixturePath("llama3"));
  CHECK_THROWS_WITH(t.Render({{"tool", "x"}}, true), Catch::Contains("role \"tool\""));
  CHECK_THROWS_AS(t.Render({}, true), std::invalid_argument);
}

}  // namespace
}  // namespace crescent::tok
