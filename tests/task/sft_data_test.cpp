#include "common/task/sft_data.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "tests/common/process.hpp"

using namespace crescent::task;

namespace {

std::string WriteData(const std::string& content) {
  const std::string path = crescent::testing::TempDir("crescent-sft-data") + "/sft.jsonl";
  std::ofstream(path) << content;
  return path;
}

std::string ReadError(const std::string& content, std::string* path) {
  *path = WriteData(content);
  try {
    ReadSftData(*path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

std::string Key(const Conversation& c) {
  std::string k = c.prompt + "\x1f" + c.response;
  for (const Message& m : c.messages) k += "\x1f" + m.role + "\x1e" + m.content;
  return k;
}

std::vector<Conversation> Pairs(int n) {
  std::vector<Conversation> out;
  for (int i = 0; i < n; ++i) {
    Conversation c;
    c.prompt = std::to_string(i) + "+1=";
    c.response = std::to_string(i + 1);
    out.push_back(c);
  }
  return out;
}

}  // namespace

TEST_CASE("SFT data: prompt/response pairs and chats, in file order", "[task]") {
  const std::string path = WriteData(
      "{\"prompt\": \"2+2=\", \"response\": \"4\", \"id\": \"ignored\"}\n"
      "\n"
      "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
      "{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": "
      "\"hello\"}, "
      "{\"role\": \"user\", \"content\": \"3+3?\"}, {\"role\": \"assistant\", \"content\": "
      "\"6\"}]}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", "
      "\"content\": \"a\"}, {\"role\": \"user\", \"content\": \"trailing\"}]}\n");
  const std::vector<Conversation> data = ReadSftData(path);
  REQUIRE(data.size() == 3);
  CHECK(data[0].prompt == "2+2=");
  CHECK(data[0].response == "4");
  CHECK(data[0].messages.empty());
  CHECK(data[0].line == 1);
  REQUIRE(data[1].messages.size() == 5);
  CHECK(data[1].prompt.empty());
  CHECK(data[1].messages[0].role == "system");
  CHECK(data[1].messages[4].role == "assistant");
  CHECK(data[1].messages[4].content == "6");
  CHECK(data[1].line == 3);
  CHECK(data[2].messages.size() == 3);
}

TEST_CASE("SFT data errors name the file and the line", "[task]") {
  const std::string ok = "{\"prompt\": \"p\", \"response\": \"r\"}\n";
  const std::string user = "{\"role\": \"user\", \"content\": \"q\"}";
  const std::string assistant = "{\"role\": \"assistant\", \"content\": \"a\"}";
  const std::string system = "{\"role\": \"system\", \"content\": \"s\"}";
  struct Case {
    std::string line;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"{\"id\": \"x\"}", "neither a \"prompt\"/\"response\" pair nor \"messages\""},
      {"{\"prompt\": \"p\", \"response\": \"r\", \"messages\": [" + user + ", " + assistant + "]}",
       "both"},
      {"{\"prompt\": \"p\"}", "a pair without \"response\""},
      {"{\"response\": \"r\"}", "a pair without \"prompt\""},
      {"{\"prompt\": \"p\", \"response\": 4}", "\"response\" is not a string"},
      {"{\"prompt\": [], \"response\": \"r\"}", "\"prompt\" is not a string"},
      {"[1]", "not a JSON object"},
      {"{\"messages\": oops}", "parse"},
      {"{\"messages\": {}}", "\"messages\" is not an array"},
      {"{\"messages\": []}", "\"messages\" is empty"},
      {"{\"messages\": [\"hi\"]}", "messages[0] is not an object"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": null}]}", "string \"content\""},
      {"{\"messages\": [" + user + ", {\"role\": \"bot\", \"content\": \"a\"}]}",
       "messages[1]: unknown role \"bot\""},
      {"{\"messages\": [" + user + ", " + assistant + ", " + system + "]}",
       "messages[2]: a system turn is allowed only as the first turn"},
      {"{\"messages\": [" + system + ", " + assistant + "]}", "no user turn"},
      {"{\"messages\": [" + system + ", " + user + "]}", "no assistant turn"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    std::string path;
    const std::string e = ReadError(ok + ok + c.line + "\n" + ok, &path);
    CHECK_THAT(e, Catch::Contains(path + ":3: ") && Catch::Contains(c.says));
  }
  std::string path;
  CHECK_THAT(ReadError("\n\n", &path), Catch::Contains(path) && Catch::Contains("no SFT"));
  CHECK_THROWS_WITH(ReadSftData("/nonexistent/sft.jsonl"),
                    Catch::Contains("/nonexistent/sft.jsonl") && Catch::Contains("cannot open"));
}

TEST_CASE("the SFT held-out split is deterministic and disjoint", "[task]") {
  std::vector<Conversation> data = Pairs(1000);
  const SftSplit a = SplitHeldout(data, 0.1, 7);
  CHECK(a.heldout.size() == 100);
  CHECK(a.training.size() == 900);
  std::set<std::string> heldout;
  for (const Conversation& c : a.heldout) heldout.insert(Key(c));
  for (const Conversation& c : a.training) CHECK(heldout.count(Key(c)) == 0);
  // The same seed gives the same split, in any line order; another seed another.
  std::vector<Conversation> reversed(data.rbegin(), data.rend());
  const SftSplit b = SplitHeldout(reversed, 0.1, 7);
  std::set<std::string> heldout_b;
  for (const Conversation& c : b.heldout) heldout_b.insert(Key(c));
  CHECK(heldout_b == heldout);
  std::set<std::string> heldout_c;
  for (const Conversation& c : SplitHeldout(data, 0.1, 8).heldout) heldout_c.insert(Key(c));
  CHECK(heldout_c != heldout);
  // Both sides keep the file's order.
  CHECK(std::is_sorted(a.training.begin(), a.training.end(),
                       [](const Conversation& x, const Conversation& y) {
                         return std::stoi(x.prompt) < std::stoi(y.prompt);
                       }));
}

TEST_CASE("copies of one document are all held out or all trained on", "[task]") {
  std::vector<Conversation> data = Pairs(50);
  Conversation chat;
  chat.messages = {{"user", "q"}, {"assistant", "a"}};
  for (int copy = 0; copy < 20; ++copy) {
    data.push_back(data[copy]);
    data.push_back(chat);
  }
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const SftSplit s = SplitHeldout(data, 0.3, seed);
    CHECK(s.heldout.size() + s.training.size() == data.size());
    std::set<std::string> heldout;
    for (const Conversation& c : s.heldout) heldout.insert(Key(c));
    for (const Conversation& c : s.training) CHECK(heldout.count(Key(c)) == 0);
  }
}

TEST_CASE("the SFT held-out fraction is checked", "[task]") {
  const std::vector<Conversation> data = Pairs(3);
  CHECK(SplitHeldout(data, 0, 1).training.size() == 3);
  CHECK(SplitHeldout(data, 0, 1).heldout.empty());
  CHECK(SplitHeldout(data, 0.01, 1).heldout.size() == 1);   // at least one
  CHECK(SplitHeldout(data, 0.99, 1).training.size() == 1);  // at least one left to train
  CHECK_THROWS_AS(SplitHeldout(data, 1.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(SplitHeldout(data, -0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(SplitHeldout(Pairs(1), 0.5, 1), std::invalid_argument);
}
