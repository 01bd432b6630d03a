#include "common/tokenizer/tokenizer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <sstream>

#include "tests/tokenizer/fixtures.hpp"

namespace crescent::tok {
namespace {

using testing::Fixture;
using testing::ReadJson;

TEST_CASE("BPE ids and decoded text equal Hugging Face's on the corpus", "[tokenizer]") {
  static const nlohmann::json vectors = ReadJson("encode_vectors.json");
  const auto& corpus = vectors["corpus"];
  for (const char* name : {"qwen3", "llama3"}) {
    const Tokenizer& tok = Fixture(name);
    const auto& expected = vectors["tokenizers"][name];
    for (size_t i = 0; i < corpus.size(); ++i) {
      std::string text = corpus[i].get<std::string>();
      INFO(name << " text #" << i << ": " << text);
      std::vector<TokenId> ids = tok.Encode(text);
      CHECK(ids == expected["ids"][i].get<std::vector<TokenId>>());
      // decode(encode(x)) is x after the tokenizer's own normalisation, which
      // Hugging Face's decode of its own ids shows.
      CHECK(tok.Decode(ids) == expected["decoded"][i].get<std::string>());
    }
  }
}

TEST_CASE("decode(encode(x)) is x without a normaliser, NFC with Qwen3's", "[tokenizer]") {
  std::string text = "e\xCC\x81 \xC3\xA9 tab\there 👨‍👩‍👧";
  CHECK(Fixture("llama3").Decode(Fixture("llama3").Encode(text)) == text);
  CHECK(Fixture("qwen3").Decode(Fixture("qwen3").Encode(text)) ==
        "\xC3\xA9 \xC3\xA9 tab\there 👨‍👩‍👧");
}

TEST_CASE("special tokens are looked up and matched in text", "[tokenizer]") {
  const Tokenizer& qwen = Fixture("qwen3");
  REQUIRE(qwen.IdOf("<|im_end|>").has_value());
  CHECK(*qwen.IdOf("<|im_end|>") == 151645);
  CHECK(qwen.Encode("<|im_end|>") == std::vector<TokenId>{151645});
  CHECK_FALSE(qwen.IdOf("<|no such token|>").has_value());
  CHECK(qwen.VocabSize() == 151669);
  const Tokenizer& llama = Fixture("llama3");
  CHECK(*llama.IdOf("<|eot_id|>") == 128009);
  CHECK(llama.VocabSize() == 128256);
}

TEST_CASE("long words merge in O(n log n) and round-trip", "[tokenizer]") {
  std::string word;
  for (int i = 0; i < 200000; ++i) word += static_cast<char>('a' + (i * 7) % 26);
  for (const char* name : {"qwen3", "llama3"}) {
    const Tokenizer& tokenizer = Fixture(name);  // loaded (seconds on a busy machine) untimed
    auto t0 = std::chrono::steady_clock::now();
    std::vector<TokenId> ids = tokenizer.Encode(word);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    CHECK(Fixture(name).Decode(ids) == word);
  }
}

TEST_CASE("invalid input is refused clearly", "[tokenizer]") {
  CHECK_THROWS_WITH(Fixture("qwen3").Encode("bad \xFF byte"), Catch::Contains("not valid UTF-8"));
  CHECK_THROWS_AS(Fixture("qwen3").Decode({-1}), std::out_of_range);
  CHECK_THROWS_WITH(LoadTokenizer("/nonexistent/tokenizer"), Catch::Contains("does not exist"));
}

TEST_CASE("decode of a split multi-byte character writes U+FFFD as Hugging Face does",
          "[tokenizer]") {
  const Tokenizer& llama = Fixture("llama3");
  std::vector<TokenId> ids = llama.Encode("😀");
  REQUIRE(ids.size() > 1);
  CHECK(llama.Decode({ids[0]}).find("\xEF\xBF\xBD") != std::string::npos);
}

TEST_CASE("character tokenizer: one id per UTF-8 character after the special tokens",
          "[tokenizer]") {
  auto tok = MakeCharTokenizer("ab+é", {"<bos>", "<eos>"});
  CHECK(tok->VocabSize() == 6);
  CHECK(tok->Encode("a+é<eos>") == std::vector<TokenId>{2, 4, 5, 1});
  CHECK(tok->Decode({0, 2, 3, 5, 1}) == "<bos>abé<eos>");
  CHECK(*tok->IdOf("<eos>") == 1);
  CHECK(*tok->IdOf("é") == 5);
  CHECK_THROWS_WITH(tok->Encode("abc"),
                    Catch::Contains("'c'") && Catch::Contains("not in the alphabet"));
  CHECK_THROWS_WITH(MakeCharTokenizer("aa"), Catch::Contains("repeats"));
}

// Hidden (run by hand): ./test_tokenizer "[bench]". Same text as
// scripts/tokenizer-vectors/make_vectors.js times with Hugging Face's library.
TEST_CASE("encoding throughput", "[.][bench]") {
  static const nlohmann::json vectors = ReadJson("encode_vectors.json");
  std::string joined;
  for (size_t i = 0; i < vectors["corpus"].size(); ++i) {
    if (i) joined += "\n";
    joined += vectors["corpus"][i].get<std::string>();
  }
  std::string bench;
  while (bench.size() < 1000000) bench += joined;
  for (const char* name : {"qwen3", "llama3"}) {
    const Tokenizer& tok = Fixture(name);
    tok.Encode(bench);
    auto t0 = std::chrono::steady_clock::now();
    size_t n = 0;
    const int reps = 3;
    for (int i = 0; i < reps; ++i) n += tok.Encode(bench).size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << name << ": crescent encode " << reps * bench.size() / 1e6 / s << " MB/s ("
              << n / reps << " tokens)\n";
    // The corpus texts one call each, ~1 MB in all.
    size_t bytes = 0;
    t0 = std::chrono::steady_clock::now();
    while (bytes < 1000000) {
      for (const auto& t : vectors["corpus"]) {
        const std::string& text = t.get_ref<const std::string&>();
        tok.Encode(text);
        bytes += text.size();
      }
    }
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << name << ": crescent encode, one call per text " << bytes / 1e6 / s << " MB/s\n";
  }
}

}  // namespace
}  // namespace crescent::tok
