// A policy directory's tokenizer, chat template and stop ids, read without
// LibTorch (tok::LoadPolicyTokenizer), and the errors that name the file.
#include "common/tokenizer/policy_tokenizer.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "tests/common/policy_fixtures.hpp"
#include "tests/tokenizer/fixtures.hpp"

using namespace crescent::tok;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("crescent-policy-tok-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A directory as a Hugging Face checkpoint holds it, weights left out.
std::string HfDir(const std::string& name, const std::string& fixture, int64_t vocab_size,
                  const json& extra_config = json::object()) {
  return crescent::testing::WriteTokenizerDir(TempDir(name), fixture, vocab_size,
                                              extra_config.dump());
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Qwen3 directory: stop ids from generation_config.json, chat template, no BOS",
          "[tokenizer]") {
  const std::string dir = HfDir("qwen3", "qwen3", 151936, {{"eos_token_id", 151643}});
  Write(dir + "/generation_config.json", R"({"eos_token_id": [151645, 151643]})");
  PolicyTokenizer t = LoadPolicyTokenizer(dir);
  CHECK(t.VocabSize() == 151669);
  REQUIRE(t.chat_template());
  CHECK(t.chat_template()->format() == ChatFormat::kQwen3);
  CHECK(t.stop_ids() == std::vector<TokenId>{151645, 151643});
  CHECK(t.prompt_prefix().empty());
  CHECK(t.EncodePrompt("Hello") == t.Encode("Hello"));
  std::vector<TokenId> response = t.Encode("42");
  const std::string text = t.Decode(response);
  response.push_back(151645);
  CHECK(t.DecodeResponse(response) == text);
  CHECK(t.Decode(response) == text + "<|im_end|>");
  std::vector<std::string> names;
  for (const PolicyFile& f : t.files()) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"tokenizer.json", "tokenizer_config.json",
                                          "generation_config.json"});
  fs::remove_all(dir);
}

TEST_CASE("stop ids fall back to config.json, then tokenizer_config.json's eos_token",
          "[tokenizer]") {
  std::string dir = HfDir("config-eos", "qwen3", 151936, {{"eos_token_id", 151643}});
  CHECK(LoadPolicyTokenizer(dir).stop_ids() == std::vector<TokenId>{151643});
  fs::remove_all(dir);
  dir = HfDir("tc-eos", "qwen3", 151936);
  CHECK(LoadPolicyTokenizer(dir).stop_ids() == std::vector<TokenId>{151645});  // <|im_end|>
  fs::remove_all(dir);
  dir = HfDir("llama3", "llama3", 128256, {{"model_type", "llama"}, {"eos_token_id", 128001}});
  PolicyTokenizer t = LoadPolicyTokenizer(dir);
  CHECK(t.stop_ids() == std::vector<TokenId>{128001});
  REQUIRE(t.chat_template());
  CHECK(t.chat_template()->format() == ChatFormat::kLlama3);
  fs::remove_all(dir);
}

TEST_CASE("BOS before a raw prompt when tokenizer_config.json's add_bos_token says so",
          "[tokenizer]") {
  const std::string dir = HfDir("bos", "llama3", 128256, {{"model_type", "llama"}});
  json tc = testing::ReadJson("llama3/tokenizer_config.json");
  tc["add_bos_token"] = true;
  Write(dir + "/tokenizer_config.json", tc.dump());
  PolicyTokenizer t = LoadPolicyTokenizer(dir);
  CHECK(t.prompt_prefix() == std::vector<TokenId>{128000});  // <|begin_of_text|>
  CHECK(t.EncodePrompt("hi").front() == 128000);
  fs::remove_all(dir);
}

TEST_CASE("a directory without a chat template loads, and chat is unavailable", "[tokenizer]") {
  const std::string dir = HfDir("no-chat", "qwen3", 151936, {{"eos_token_id", 151643}});
  json tc = testing::ReadJson("qwen3/tokenizer_config.json");
  tc.erase("chat_template");
  Write(dir + "/tokenizer_config.json", tc.dump());
  CHECK_FALSE(LoadPolicyTokenizer(dir).chat_template());
  fs::remove_all(dir);
}

TEST_CASE("the built-in model's directory: alphabet.txt, <bos> before prompts, <eos> stops",
          "[tokenizer]") {
  const std::string dir = TempDir("builtin");
  Write(dir + "/config.json", R"({"model_type": "llama", "vocab_size": 16})");
  Write(dir + "/alphabet.txt", "0123456789+-*=\n");
  PolicyTokenizer t = LoadPolicyTokenizer(dir);
  CHECK(t.VocabSize() == 16);
  CHECK(t.stop_ids() == std::vector<TokenId>{1});
  CHECK(t.EncodePrompt("1+2=") == std::vector<TokenId>{0, 3, 12, 4, 15});
  CHECK(t.DecodeResponse({5, 1}) == "3");
  CHECK_FALSE(t.chat_template());
  REQUIRE(t.files().size() == 1);
  CHECK(t.files()[0].name == "alphabet.txt");
  CHECK(t.files()[0].bytes == "0123456789+-*=\n");
  fs::remove_all(dir);
}

TEST_CASE("policy directories the tokenizer cannot serve are refused, naming the file",
          "[tokenizer]") {
  SECTION("no config.json") {
    const std::string dir = TempDir("no-config");
    CHECK_THAT(ErrorOf([&] { LoadPolicyTokenizer(dir); }),
               Catch::Contains(dir) && Catch::Contains("config.json is missing"));
    fs::remove_all(dir);
  }
  SECTION("no tokenizer") {
    const std::string dir = TempDir("no-tokenizer");
    Write(dir + "/config.json", R"({"model_type": "qwen3", "vocab_size": 151936})");
    CHECK_THAT(ErrorOf([&] { LoadPolicyTokenizer(dir); }),
               Catch::Contains(dir) && Catch::Contains("neither tokenizer.json nor alphabet.txt"));
    fs::remove_all(dir);
  }
  SECTION("a tokenizer with more entries than the embedding has rows") {
    const std::string dir = HfDir("too-big", "qwen3", 1000);
    CHECK_THAT(ErrorOf([&] { LoadPolicyTokenizer(dir); }),
               Catch::Contains(dir + "/tokenizer.json") && Catch::Contains("151669 entries") &&
                   Catch::Contains("1000 rows"));
    fs::remove_all(dir);
  }
  SECTION("an unsupported chat template") {
    const std::string dir = HfDir("bad-chat", "qwen3", 151936);
    json tc = testing::ReadJson("qwen3/tokenizer_config.json");
    tc["chat_template"] = "{{ messages | tojson }}";
    Write(dir + "/tokenizer_config.json", tc.dump());
    CHECK_THAT(
        ErrorOf([&] { LoadPolicyTokenizer(dir); }),
        Catch::Contains(dir + "/tokenizer_config.json") && Catch::Contains("not recognised"));
    fs::remove_all(dir);
  }
  SECTION("a stop id outside the tokenizer") {
    const std::string dir = HfDir("bad-stop", "qwen3", 200000);
    Write(dir + "/generation_config.json", R"({"eos_token_id": 199999})");
    CHECK_THAT(
        ErrorOf([&] { LoadPolicyTokenizer(dir); }),
        Catch::Contains(dir + "/generation_config.json") && Catch::Contains("stop id 199999"));
    fs::remove_all(dir);
  }
}
