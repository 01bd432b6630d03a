#include "common/task/prompt_source.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <set>

#include "common/task/arithmetic.hpp"
#include "tests/common/process.hpp"

using namespace crescent::task;

namespace {

std::string WriteTemp(const std::string& content) {
  char name[] = "/tmp/crescent_prompts_XXXXXX";
  int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(name) << content;
  return name;
}

std::string LoadError(const std::string& content, std::string* path) {
  *path = WriteTemp(content);
  try {
    MakeJsonlSource(*path);
  } catch (const std::runtime_error& e) {
    std::remove(path->c_str());
    return e.what();
  }
  std::remove(path->c_str());
  return "";
}

}  // namespace

TEST_CASE("the arithmetic source keeps held-out prompts out of training", "[task]") {
  ArithmeticSourceOptions o;
  o.seed = 4;
  o.heldout_size = 200;
  o.training_size = 2000;
  auto source = MakeArithmeticSource(o);
  REQUIRE(source->Heldout().size() == 200);
  REQUIRE(source->Training().size() == 2000);
  std::set<std::string> heldout;
  for (const Prompt& p : source->Heldout()) heldout.insert(p.text);
  for (const Prompt& p : source->Training()) {
    CHECK(heldout.count(p.text) == 0);
    CHECK(p.metadata.count("answer") == 1);
    CHECK(p.metadata.count("difficulty") == 1);
  }
  auto again = MakeArithmeticSource(o);
  CHECK(again->Training()[123].text == source->Training()[123].text);
  o.min_level = 0;
  CHECK_THROWS_AS(MakeArithmeticSource(o), std::invalid_argument);
}

TEST_CASE("JSONL prompts: id, prompt, metadata", "[task]") {
  const std::string path = WriteTemp(
      "{\"id\": \"a\", \"prompt\": \"2+2=\", \"answer\": \"4\", \"difficulty\": 1}\n"
      "\n"
      "{\"prompt\": \"what?\", \"tests\": [\"t1\", \"t2\"], \"domain\": \"code\"}\n"
      "{\"id\": 7, \"prompt\": \"x\"}\n"
      "{\"id\": \"h\", \"prompt\": \"held\", \"answer\": \"1\"}\n");
  auto source = MakeJsonlSource(path, {"h"});
  std::remove(path.c_str());
  const auto& t = source->Training();
  REQUIRE(t.size() == 3);
  CHECK(t[0].id == "a");
  CHECK(t[0].text == "2+2=");
  CHECK(t[0].metadata.at("answer") == "4");
  CHECK(t[0].metadata.at("difficulty") == "1");
  CHECK(t[0].metadata.count("prompt") == 0);
  CHECK(t[1].id == "3");  // line number
  CHECK(t[1].metadata.at("tests") == "[\"t1\",\"t2\"]");
  CHECK(t[1].metadata.at("domain") == "code");
  CHECK(t[2].id == "7");
  REQUIRE(source->Heldout().size() == 1);
  CHECK(source->Heldout()[0].id == "h");
}

TEST_CASE("JSONL errors name the file and the line", "[task]") {
  std::string path;
  std::string e = LoadError("{\"prompt\": \"ok\"}\n{\"prompt\": oops}\n", &path);
  CHECK(e.find(path + ":2:") != std::string::npos);
  e = LoadError("{\"prompt\": \"ok\"}\n\n{\"answer\": \"1\"}\n", &path);
  CHECK(e.find(path + ":3:") != std::string::npos);
  CHECK(e.find("prompt") != std::string::npos);
  e = LoadError("[1, 2]\n", &path);
  CHECK(e.find(path + ":1:") != std::string::npos);
  e = LoadError("{\"id\": \"a\", \"prompt\": \"x\"}\n{\"id\": \"a\", \"prompt\": \"y\"}\n", &path);
  CHECK(e.find(path + ":2: duplicate id") != std::string::npos);
  e = LoadError("\n", &path);
  CHECK(e.find("no training prompts") != std::string::npos);
  CHECK_THROWS_WITH(MakeJsonlSource("/nonexistent/p.jsonl"),
                    Catch::Contains("/nonexistent/p.jsonl"));
}

TEST_CASE("task.name jsonl makes the task source read task.prompts_file", "[task]") {
  const std::string path = crescent::testing::TempDir("crescent-task-source") + "/prompts.jsonl";
  std::ofstream(path) << "{\"id\": \"q1\", \"prompt\": \"2+2=\", \"answer\": \"4\"}\n"
                         "{\"id\": \"q2\", \"prompt\": \"what is 3+3?\"}\n";
  using crescent::config::ParseConfig;
  auto jsonl =
      MakeTaskSource(ParseConfig("", "<test>", {"task.name=jsonl", "task.prompts_file=" + path}));
  REQUIRE(jsonl->Training().size() == 2);
  CHECK(jsonl->Training()[0].id == "q1");
  CHECK(jsonl->Training()[0].metadata.at("answer") == "4");
  CHECK(jsonl->Training()[1].text == "what is 3+3?");
  CHECK(jsonl->Heldout().empty());
  // The same file under task.name arithmetic: the built-in task, file unread.
  auto builtin = MakeTaskSource(ParseConfig("", "<test>", {"task.prompts_file=" + path}));
  CHECK(builtin->Training().size() > 2);
  CHECK(builtin->Training()[0].metadata.at("domain") == "math");
  CHECK_FALSE(builtin->Heldout().empty());
}

TEST_CASE("JSONL chat prompts: messages in order, other keys to metadata", "[task]") {
  const std::string path = WriteTemp(
      "{\"id\": \"c1\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
      "{\"role\": \"user\", \"content\": \"2+2?\"}], \"answer\": \"4\", \"difficulty\": 2}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", "
      "\"content\": \"hello\"}, {\"role\": \"user\", \"content\": \"3+3?\"}], \"domain\": "
      "\"math\"}\n"
      "{\"id\": \"p\", \"prompt\": \"5+5=\"}\n");
  auto source = MakeJsonlSource(path);
  std::remove(path.c_str());
  const auto& t = source->Training();
  REQUIRE(t.size() == 3);
  CHECK(t[0].id == "c1");
  CHECK(t[0].text.empty());
  REQUIRE(t[0].messages.size() == 2);
  CHECK(t[0].messages[0].role == "system");
  CHECK(t[0].messages[0].content == "Be brief.");
  CHECK(t[0].messages[1].role == "user");
  CHECK(t[0].messages[1].content == "2+2?");
  CHECK(t[0].metadata.at("answer") == "4");
  CHECK(t[0].metadata.at("difficulty") == "2");
  CHECK(t[0].metadata.count("messages") == 0);
  CHECK(t[1].id == "2");
  REQUIRE(t[1].messages.size() == 3);
  CHECK(t[1].messages[1].role == "assistant");
  CHECK(t[1].messages[2].content == "3+3?");
  CHECK(t[1].metadata.at("domain") == "math");
  CHECK(t[2].text == "5+5=");
  CHECK(t[2].messages.empty());
}

TEST_CASE("JSONL chat prompt errors name the file and the line", "[task]") {
  const std::string ok = "{\"prompt\": \"ok\"}\n";
  const std::string user = "{\"role\": \"user\", \"content\": \"q\"}";
  const std::string assistant = "{\"role\": \"assistant\", \"content\": \"a\"}";
  const std::string system = "{\"role\": \"system\", \"content\": \"s\"}";
  struct Case {
    std::string line;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"{\"id\": \"x\"}", "neither \"prompt\" nor \"messages\""},
      {"{\"prompt\": \"p\", \"messages\": [" + user + "]}", "both \"prompt\" and \"messages\""},
      {"{\"prompt\": 3}", "\"prompt\" is not a string"},
      {"{\"messages\": \"hello\"}", "\"messages\" is not an array"},
      {"{\"messages\": []}", "\"messages\" is empty"},
      {"{\"messages\": [" + user + ", 7]}", "messages[1] is not an object"},
      {"{\"messages\": [{\"role\": \"user\"}]}", "messages[0] is not an object with a string"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "string \"content\""},
      {"{\"messages\": [{\"role\": 1, \"content\": \"q\"}]}", "string \"role\""},
      {"{\"messages\": [{\"role\": \"tool\", \"content\": \"q\"}]}", "unknown role \"tool\""},
      {"{\"messages\": [" + user + ", " + system + ", " + user + "]}",
       "messages[1]: a system turn is allowed only as the first turn"},
      {"{\"messages\": [" + system + "]}", "no user turn"},
      {"{\"messages\": [" + system + ", " + assistant + "]}", "no user turn"},
      {"{\"messages\": [" + user + ", " + assistant + "]}", "ends with an assistant turn"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    std::string path;
    const std::string e = LoadError(ok + "\n" + c.line + "\n", &path);
    CHECK_THAT(e, Catch::Contains(path + ":3: ") && Catch::Contains(c.says));
  }
}
