// `crescent sft` on a data file, without LibTorch: documents written as the
// policy's prompts are (the real Qwen3 tokenizer and chat template), their
// loss masks, the held-out split, the batches sft.token_budget makes, and the
// errors that name the file and line.
#include "trainer/sft_documents.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "common/tokenizer/loss_mask.hpp"
#include "tests/common/policy_fixtures.hpp"
#include "tests/common/process.hpp"

namespace crescent::trainer {
namespace {

// Qwen3's tokenizer and chat template in a policy directory (weights left out).
const tok::PolicyTokenizer& Qwen3() {
  static const tok::PolicyTokenizer tokenizer = tok::LoadPolicyTokenizer(
      testing::WriteTokenizerDir(testing::TempDir("crescent-sft-docs-qwen3"), "qwen3", 151936));
  return tokenizer;
}

// The same without a chat template in tokenizer_config.json.
const tok::PolicyTokenizer& Qwen3WithoutTemplate(std::string* dir_out = nullptr) {
  static const std::string dir = [] {
    const std::string d = testing::WriteTokenizerDir(
        testing::TempDir("crescent-sft-docs-no-template"), "qwen3", 151936);
    testing::WriteFile(d + "/tokenizer_config.json", R"({"eos_token": "<|endoftext|>"})");
    return d;
  }();
  static const tok::PolicyTokenizer tokenizer = tok::LoadPolicyTokenizer(dir);
  if (dir_out) *dir_out = dir;
  return tokenizer;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

task::Conversation Chat(std::vector<task::Message> messages) {
  task::Conversation c;
  c.messages = std::move(messages);
  c.line = 7;
  return c;
}

task::Conversation Pair(const std::string& prompt, const std::string& response) {
  task::Conversation c;
  c.prompt = prompt;
  c.response = response;
  c.line = 3;
  return c;
}

SftEncoding Encoding() {
  SftEncoding e;
  e.file = "data.jsonl";
  e.policy = "/models/qwen3";
  return e;
}

// The trained tokens of a document, decoded.
std::string Trained(const SftDocument& d) {
  std::vector<tok::TokenId> ids;
  for (size_t t = 0; t < d.ids.size(); ++t)
    if (d.loss_mask[t]) ids.push_back(d.ids[t]);
  return Qwen3().Decode(ids);
}

// A data file of `n` arithmetic chats.
std::string ChatFile(const std::string& name, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += R"({"messages": [{"role": "user", "content": "What is )" + std::to_string(i) + "+" +
            std::to_string(i + 1) + R"(?"}, {"role": "assistant", "content": ")" +
            std::to_string(2 * i + 1) + "\"}]}\n";
  }
  const std::string path = testing::TempDir("crescent-sft-docs-" + name) + "/data.jsonl";
  testing::WriteFile(path, text);
  return path;
}

config::Config Config(std::vector<std::string> settings) {
  return config::ParseConfig("", "<test>", settings);
}

}  // namespace

TEST_CASE("SFT documents: the loss is on the assistant turns and their end-of-turn tokens only",
          "[trainer]") {
  const std::vector<task::Message> chat = {{"system", "Answer with a number."},
                                           {"user", "What is 2+2?"},
                                           {"assistant", "4"},
                                           {"user", "And 3+3?"},
                                           {"assistant", "6"}};
  const SftDocument d = EncodeSftDocument(Chat(chat), Qwen3(), Encoding());
  // The whole text as the template renders it, and only the assistant turns
  // trained: the last with its (empty) think block, as the model writes it
  // after the generation prompt.
  CHECK(Qwen3().Decode(d.ids) ==
        "<|im_start|>system\nAnswer with a number.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
        "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n6<|im_end|>\n");
  CHECK(Trained(d) == "4<|im_end|><think>\n\n</think>\n\n6<|im_end|>");
  CHECK(d.line == 7);

  // Other text in the system and user turns: the same trained tokens.
  std::vector<task::Message> other = chat;
  other[0].content = "You are a careful calculator; reply with digits only.";
  other[1].content = "Compute two plus two, please.";
  other[3].content = "Now three plus three.";
  const SftDocument e = EncodeSftDocument(Chat(other), Qwen3(), Encoding());
  std::vector<tok::TokenId> trained_d, trained_e;
  for (size_t t = 0; t < d.ids.size(); ++t)
    if (d.loss_mask[t]) trained_d.push_back(d.ids[t]);
  for (size_t t = 0; t < e.ids.size(); ++t)
    if (e.loss_mask[t]) trained_e.push_back(e.ids[t]);
  CHECK(trained_e == trained_d);

  // A pair, with the template in use: a user turn and an assistant turn.
  const SftDocument pair = EncodeSftDocument(Pair("What is 2+2?", "4"), Qwen3(), Encoding());
  const SftDocument as_chat =
      EncodeSftDocument(Chat({{"user", "What is 2+2?"}, {"assistant", "4"}}), Qwen3(), Encoding());
  CHECK(pair.ids == as_chat.ids);
  CHECK(pair.loss_mask == as_chat.loss_mask);
  CHECK(Trained(pair) == "<think>\n\n</think>\n\n4<|im_end|>");
}

TEST_CASE("SFT documents: pairs without a chat template are prompt, response and stop id",
          "[trainer]") {
  SECTION("task.chat_template false") {
    SftEncoding e = Encoding();
    e.chat_template = false;
    const SftDocument d = EncodeSftDocument(Pair("2+2=", "4"), Qwen3(), e);
    const tok::MaskedTokens expected =
        tok::EncodePromptResponse(Qwen3(), "2+2=", "4", Qwen3().stop_ids().front());
    CHECK(d.ids == expected.ids);
    CHECK(d.loss_mask == expected.loss_mask);
    CHECK(Qwen3().Decode(d.ids) == "2+2=4<|im_end|>");
  }
  SECTION("a policy without a chat template") {
    const SftDocument d = EncodeSftDocument(Pair("2+2=", "4"), Qwen3WithoutTemplate(), Encoding());
    const tok::MaskedTokens expected = tok::EncodePromptResponse(
        Qwen3WithoutTemplate(), "2+2=", "4", Qwen3WithoutTemplate().stop_ids().front());
    CHECK(d.ids == expected.ids);
    CHECK(d.loss_mask == expected.loss_mask);
  }
  SECTION("the built-in tokenizer: its <bos> first, untrained") {
    const tok::PolicyTokenizer builtin = tok::BuiltinPolicyTokenizer("0123456789+-*=");
    const SftDocument d = EncodeSftDocument(Pair("2+2=", "4"), builtin, Encoding());
    CHECK(d.ids == std::vector<tok::TokenId>{0, 4, 12, 4, 15, 6, 1});
    CHECK(d.loss_mask == std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1});
  }
}

TEST_CASE("sft.token_budget bounds the tokens of every step's documents", "[trainer]") {
  const std::vector<int64_t> lengths = {5, 17, 3, 40, 8, 12, 25, 1};
  SftBatchSampler sampler(lengths, 50, 1, 3);
  std::vector<size_t> previous;
  std::multiset<size_t> seen;
  for (int step = 0; step < 200; ++step) {
    const std::vector<size_t> batch = sampler.Next();
    REQUIRE(!batch.empty());
    int64_t tokens = 0;
    for (size_t i : batch) tokens += lengths.at(i);
    CHECK(tokens <= 50);
    // The batch before was full: this one's first document did not fit it.
    if (!previous.empty()) {
      int64_t before = 0;
      for (size_t i : previous) before += lengths[i];
      CHECK(before + lengths[batch.front()] > 50);
    }
    seen.insert(batch.begin(), batch.end());
    previous = batch;
  }
  for (size_t i = 0; i < lengths.size(); ++i) CHECK(seen.count(i) > 0);
  // The same seed draws the same batches; token_budget 0: batch_size documents.
  SftBatchSampler a(lengths, 50, 1, 9), b(lengths, 50, 1, 9);
  for (int step = 0; step < 20; ++step) CHECK(a.Next() == b.Next());
  SftBatchSampler rows(lengths, 0, 6, 9);
  for (int step = 0; step < 20; ++step) CHECK(rows.Next().size() == 6);
  // Held-out batches: every document once, in order, within the budget.
  const auto in_order = InOrderBatches(lengths, 50, 1);
  std::vector<size_t> all;
  for (const auto& batch : in_order) {
    int64_t tokens = 0;
    for (size_t i : batch) tokens += lengths[i];
    CHECK(tokens <= 50);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  std::vector<size_t> expected(lengths.size());
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(all == expected);
  CHECK(InOrderBatches(lengths, 0, 3).size() == 3);

  // A document over the budget is refused before training, naming its line.
  const std::string file = ChatFile("budget", 4);
  const config::Config c = Config({"sft.data_file=" + file, "sft.token_budget=10"});
  CHECK_THAT(ErrorOf([&] { LoadSftDocuments(c, Qwen3(), 0, "/models/qwen3"); }),
             Catch::Contains(file + ":1: ") && Catch::Contains("sft.token_budget 10"));
}

TEST_CASE("sft.heldout_fraction holds documents out, sft.examples keeps the first training ones",
          "[trainer]") {
  const std::string file = ChatFile("split", 40);
  const auto split = [&](const std::vector<std::string>& more) {
    std::vector<std::string> settings = {"sft.data_file=" + file};
    settings.insert(settings.end(), more.begin(), more.end());
    return LoadSftDocuments(Config(settings), Qwen3(), 0, "/models/qwen3");
  };
  const SftDocuments by_default = split({});  // 0.05 of 40
  CHECK(by_default.heldout.size() == 2);
  CHECK(by_default.training.size() == 38);
  const SftDocuments quarter = split({"sft.heldout_fraction=0.25"});
  CHECK(quarter.heldout.size() == 10);
  REQUIRE(quarter.training.size() == 30);
  std::set<int> lines;
  for (const auto& d : quarter.training) lines.insert(d.line);
  for (const auto& d : quarter.heldout) CHECK(lines.insert(d.line).second);  // never both
  CHECK(lines.size() == 40);
  CHECK(split({"sft.heldout_fraction=0"}).heldout.empty());
  // Another seed, another split.
  const SftDocuments other = split({"sft.heldout_fraction=0.25", "sft.seed=2"});
  std::set<int> a, b;
  for (const auto& d : quarter.heldout) a.insert(d.line);
  for (const auto& d : other.heldout) b.insert(d.line);
  CHECK(a != b);
  // sft.examples: the first N training documents.
  const SftDocuments few = split({"sft.heldout_fraction=0.25", "sft.examples=5"});
  REQUIRE(few.training.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(few.training[i].line == quarter.training[i].line);
  CHECK(few.heldout.size() == 10);
}

TEST_CASE("SFT data errors name the file and line, or the key, before training", "[trainer]") {
  const std::string dir = testing::TempDir("crescent-sft-docs-errors");
  const std::string file = dir + "/data.jsonl";
  auto load = [&](const std::string& text, std::vector<std::string> settings,
                  const tok::PolicyTokenizer& tokenizer, int64_t max_tokens = 0) {
    testing::WriteFile(file, text);
    settings.push_back("sft.data_file=" + file);
    settings.push_back("sft.heldout_fraction=0");
    return ErrorOf([&] { LoadSftDocuments(Config(settings), tokenizer, max_tokens, "/m/q3"); });
  };
  const std::string pair = R"({"prompt": "1+1=", "response": "2"})";
  const std::string chat =
      R"({"messages": [{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "2"}]})";
  CHECK_THAT(load(pair + "\n\n{\"prompt\": 3}\n", {}, Qwen3()), Catch::Contains(file + ":3: "));
  CHECK_THAT(load(pair + "\n" + chat + "\n", {}, Qwen3WithoutTemplate()),
             Catch::Contains(file + ":2: ") && Catch::Contains("no chat template") &&
                 Catch::Contains("/m/q3"));
  CHECK_THAT(load(chat + "\n", {"task.chat_template=false"}, Qwen3()),
             Catch::Contains(file + ":1: ") && Catch::Contains("task.chat_template is false"));
  const std::string long_chat =
      R"({"messages": [{"role": "user", "content": "What is one plus one? Please write the answer in digits only."}, )"
      R"({"role": "assistant", "content": "2"}]})";
  CHECK_THAT(load(pair + "\n" + chat + "\n" + long_chat + "\n", {}, Qwen3(), 24),
             Catch::Contains(file + ":3: ") && Catch::Contains("more than the 24 positions") &&
                 Catch::Contains("/m/q3"));
  CHECK_THAT(load("", {}, Qwen3()), Catch::Contains(file) && Catch::Contains("no SFT"));
  CHECK_THAT(ErrorOf([&] {
               LoadSftDocuments(Config({"sft.data_file=" + dir + "/missing.jsonl"}), Qwen3(), 0,
                                "/m/q3");
             }),
             Catch::Contains(dir + "/missing.jsonl") && Catch::Contains("cannot open"));
  testing::WriteFile(file, pair + "\n");
  CHECK_THAT(
      ErrorOf([&] { LoadSftDocuments(Config({"sft.data_file=" + file}), Qwen3(), 0, "/m/q3"); }),
      Catch::Contains(file) && Catch::Contains("sft.heldout_fraction"));
  CHECK_THROWS_WITH(Config({"sft.heldout_fraction=1"}),
                    Catch::Contains("sft.heldout_fraction") && Catch::Contains("< 1"));
}

}  // namespace crescent::trainer
