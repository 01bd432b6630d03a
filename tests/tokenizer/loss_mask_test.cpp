// Rendering for training (ChatTemplate::RenderForTraining) and the loss mask
// over token ids (loss_mask.hpp), with the real Qwen3 and Llama 3 tokenizers.
#include "common/tokenizer/loss_mask.hpp"

#include <catch2/catch.hpp>

#include "tests/tokenizer/fixtures.hpp"

namespace crescent::tok {
namespace {

using testing::Fixture;
using testing::FixturePath;

// The decoded text of each run of masked tokens, in order.
std::vector<std::string> MaskedRuns(const Tokenizer& tokenizer, const MaskedTokens& t) {
  REQUIRE(t.ids.size() == t.loss_mask.size());
  std::vector<std::string> runs;
  std::vector<TokenId> run;
  for (size_t i = 0; i <= t.ids.size(); ++i) {
    if (i < t.ids.size() && t.loss_mask[i] == 1) {
      run.push_back(t.ids[i]);
    } else if (!run.empty()) {
      runs.push_back(tokenizer.Decode(run));
      run.clear();
    }
  }
  return runs;
}

std::vector<std::string> SpanTexts(const RenderedChat& chat) {
  std::vector<std::string> out;
  for (const TextSpan& s : chat.trained) out.push_back(chat.text.substr(s.begin, s.end - s.begin));
  return out;
}

TEST_CASE("Qwen3: the mask is on each assistant turn and its im_end, the ids as whole",
          "[tokenizer]") {
  const ChatTemplate t = ChatTemplate::Load(FixturePath("qwen3"));
  const Tokenizer& qwen3 = Fixture("qwen3");
  const std::vector<ChatMessage> chat = {
      {"system", "You are a careful tutor."},
      {"user", "Tom has 7 apples and buys 5 more. How many apples does he have now?"},
      {"assistant", "<think>\nold reasoning\n</think>\n\n7 + 5 = 12. The answer is \\boxed{12}."},
      {"user", "And if he eats 4?"},
      {"assistant", "<think>\n12 - 4\n</think>\n\n12 - 4 = 8. The answer is \\boxed{8}."}};
  const RenderedChat r = t.RenderForTraining(chat);
  CHECK(r.text == t.Render(chat, false));
  // The earlier turn's reasoning is dropped by the template; the last turn
  // keeps its think block, inside the span.
  const std::vector<std::string> expected = {
      "7 + 5 = 12. The answer is \\boxed{12}.<|im_end|>",
      "<think>\n12 - 4\n</think>\n\n12 - 4 = 8. The answer is \\boxed{8}.<|im_end|>"};
  CHECK(SpanTexts(r) == expected);
  const MaskedTokens m = EncodeForTraining(qwen3, r);
  CHECK(m.ids == qwen3.Encode(r.text));
  CHECK(qwen3.Decode(m.ids) == r.text);
  CHECK(MaskedRuns(qwen3, m) == expected);
  // The last assistant turn without reasoning gets the empty think block, trained.
  const RenderedChat plain = t.RenderForTraining({{"user", "2+2?"}, {"assistant", "4"}});
  CHECK(SpanTexts(plain) == std::vector<std::string>{"<think>\n\n</think>\n\n4<|im_end|>"});
  CHECK(EncodeForTraining(qwen3, plain).ids == qwen3.Encode(plain.text));
}

TEST_CASE("Llama 3: the mask is on each assistant turn and its eot_id, the ids as whole",
          "[tokenizer]") {
  const ChatTemplate t = ChatTemplate::Load(FixturePath("llama3"));
  const Tokenizer& llama3 = Fixture("llama3");
  const std::vector<ChatMessage> chat = {
      {"system", "Answer with a number."},
      {"user", "Ann has 3 pens and finds 9 more. How many pens does she have?"},
      {"assistant", "3 + 9 = 12.\nThe answer is \\boxed{12}.  "},
      {"user", "Half of them?"},
      {"assistant", "12 / 2 = 6. The answer is \\boxed{6}."}};
  const RenderedChat r = t.RenderForTraining(chat);
  CHECK(r.text == t.Render(chat, false));
  const std::vector<std::string> expected = {"3 + 9 = 12.\nThe answer is \\boxed{12}.<|eot_id|>",
                                             "12 / 2 = 6. The answer is \\boxed{6}.<|eot_id|>"};
  CHECK(SpanTexts(r) == expected);
  const MaskedTokens m = EncodeForTraining(llama3, r);
  CHECK(m.ids == llama3.Encode(r.text));
  CHECK(MaskedRuns(llama3, m) == expected);
  // The BOS token, headers, system and user turns are not trained.
  REQUIRE(!m.ids.empty());
  CHECK(m.ids[0] == *llama3.IdOf("<|begin_of_text|>"));
  CHECK(m.loss_mask[0] == 0);
  CHECK(m.loss_mask.back() == 0);  // the generation header Llama 3's first template appends
}

TEST_CASE("ChatML: the default system prompt is not trained", "[tokenizer]") {
  const ChatTemplate t = ChatTemplate::FromTemplateText(
      "<|im_start|>... You are a helpful assistant.<|im_end|>", "", "test");
  const Tokenizer& qwen3 = Fixture("qwen3");
  const RenderedChat r = t.RenderForTraining({{"user", "hi"}, {"assistant", "hello"}});
  CHECK(r.text ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>"
        "\n<|im_start|>assistant\nhello<|im_end|>\n");
  const MaskedTokens m = EncodeForTraining(qwen3, r);
  CHECK(m.ids == qwen3.Encode(r.text));
  CHECK(MaskedRuns(qwen3, m) == std::vector<std::string>{"hello<|im_end|>"});
}

TEST_CASE("rendering for training matches Hugging Face's renderings (committed vectors)",
          "[tokenizer]") {
  for (const auto& c : testing::ReadJson("chat_vectors.json")) {
    if (c["add_generation_prompt"].get<bool>()) continue;
    const std::string name = c["tokenizer"].get<std::string>();
    const ChatTemplate t = ChatTemplate::Load(FixturePath(name));
    std::vector<ChatMessage> chat;
    size_t assistants = 0;
    for (const auto& m : c["messages"]) {
      chat.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
      assistants += chat.back().role == "assistant";
    }
    INFO(c.dump());
    const RenderedChat r = t.RenderForTraining(chat, c["enable_thinking"].get<bool>());
    CHECK(r.text == c["text"].get<std::string>());
    REQUIRE(r.trained.size() == assistants);
    const std::string end = name == "llama3" ? "<|eot_id|>" : "<|im_end|>";
    for (const std::string& span : SpanTexts(r))
      CHECK(span.compare(span.size() - end.size(), end.size(), end) == 0);
    const Tokenizer& tokenizer = Fixture(name);
    const MaskedTokens m = EncodeForTraining(tokenizer, r);
    CHECK(m.ids == tokenizer.Encode(r.text));
    CHECK(MaskedRuns(tokenizer, m) == SpanTexts(r));
  }
}

TEST_CASE("a boundary off a special token still decodes to the text", "[tokenizer]") {
  // Content that begins with newlines: the whole text's encoding merges them
  // with the header's newline into one token; encoding at the boundary does
  // not. The mask is still exact and the ids still spell the text.
  const ChatTemplate t = ChatTemplate::FromTemplateText("<|im_start|> <|im_end|>", "", "test");
  const Tokenizer& qwen3 = Fixture("qwen3");
  const RenderedChat r = t.RenderForTraining({{"user", "hi"}, {"assistant", "\n\nhello"}});
  const MaskedTokens m = EncodeForTraining(qwen3, r);
  CHECK(m.ids != qwen3.Encode(r.text));
  CHECK(qwen3.Decode(m.ids) == r.text);
  CHECK(MaskedRuns(qwen3, m) == std::vector<std::string>{"\n\nhello<|im_end|>"});
}

TEST_CASE("a prompt/response pair: the mask is on the response and end of sequence",
          "[tokenizer]") {
  const Tokenizer& qwen3 = Fixture("qwen3");
  const TokenId eos = *qwen3.IdOf("<|endoftext|>");
  const std::string prompt = "Tom has 7 apples and buys 5 more. How many apples now?\n";
  const std::string response = "7 + 5 = 12. The answer is \\boxed{12}.";
  const MaskedTokens m = EncodePromptResponse(qwen3, prompt, response, eos);
  CHECK(m.ids.back() == eos);
  CHECK(qwen3.Decode(m.ids) == prompt + response + "<|endoftext|>");
  CHECK(MaskedRuns(qwen3, m) == std::vector<std::string>{response + "<|endoftext|>"});
  const std::vector<TokenId> whole = qwen3.Encode(prompt + response);
  CHECK(std::vector<TokenId>(m.ids.begin(), m.ids.end() - 1) == whole);

  auto chars = MakeCharTokenizer("0123456789+-*=");
  const MaskedTokens c = EncodePromptResponse(*chars, "12+7=", "19", 1);
  CHECK(c.ids == std::vector<TokenId>{3, 4, 12, 9, 15, 3, 11, 1});
  CHECK(c.loss_mask == std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1, 1});
}

TEST_CASE("spans out of order or outside the text are refused", "[tokenizer]") {
  auto chars = MakeCharTokenizer("0123456789+-*=");
  CHECK_THROWS_AS(EncodeWithMask(*chars, "1+1=2", {{2, 6}}), std::invalid_argument);
  CHECK_THROWS_AS(EncodeWithMask(*chars, "1+1=2", {{3, 4}, {1, 2}}), std::invalid_argument);
  CHECK_THROWS_AS(EncodeWithMask(*chars, "1+1=2", {{3, 2}}), std::invalid_argument);
  const MaskedTokens m = EncodeWithMask(*chars, "1+1=2", {{0, 0}, {4, 5}});
  CHECK(m.loss_mask == std::vector<uint8_t>{0, 0, 0, 0, 1});
}

}  // namespace
}  // namespace crescent::tok
