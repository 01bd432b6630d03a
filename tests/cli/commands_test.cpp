// The tool subcommands of cli/commands.hpp, called in-process.
#include "cli/commands.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "replay/buffer.hpp"
#include "tests/common/process.hpp"
#include "tests/tokenizer/fixtures.hpp"

namespace crescent::cli {
namespace {

using nlohmann::json;
using namespace replay;

const std::string kTinyLlama = std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tiny-llama";

json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST_CASE("replay stats and dump read a buffer that a job holds", "[cli]") {
  const std::string run = testing::TempDir("crescent-inspect");
  ReplayBuffer buffer(Env::Posix(), run + "/replay", JournalOptions{});
  AddSegment a;
  a.trajectory_id = 2;
  a.segment = {SegmentSource::kPolicy, {7, 8, 9}, {-1, -2, -3}, 0, 1};
  a.finish = FinishReason::kBudget;
  AddSegment b = a;
  b.trajectory_id = 1;
  b.finish = FinishReason::kRepeat;
  buffer.Commit({StartGroup{1, {"p", "1+1=", {}}, 1, {1, 2}}, a, b});
  std::ostringstream stats, dump;
  REQUIRE(ReplayCommand({"stats", run}, stats) == 0);
  auto j = json::parse(stats.str());
  CHECK(j["groups_by_state"]["collecting"] == 1);
  CHECK(j["trajectories_by_finish"]["unfinished"] == 1);
  CHECK(j["trajectories_by_finish"]["repeat"] == 1);
  CHECK(j["unfinished_response_tokens"] == 3);
  REQUIRE(ReplayCommand({"dump", run}, dump) == 0);
  std::istringstream lines(dump.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto t = json::parse(line);
    CHECK(t["segments"][0]["token_ids"] == std::vector<int>{7, 8, 9});
    ++n;
  }
  CHECK(n == 2);
  std::ostringstream usage;
  CHECK(ReplayCommand({"stats"}, usage) == 2);
}

TEST_CASE("tokenize command encodes JSON strings and decodes JSON arrays", "[cli]") {
  std::string path = tok::testing::FixturePath("llama3");
  std::istringstream in("\"Hello, world!\"\n\"<|eot_id|>\"\n");
  std::ostringstream out;
  CHECK(TokenizeCommand({"--tokenizer", path}, in, out) == 0);
  CHECK(out.str() == "[9906,11,1917,0]\n[128009]\n");
  std::istringstream back("[9906,11,1917,0]\n");
  std::ostringstream text;
  CHECK(TokenizeCommand({"--tokenizer", path, "--decode"}, back, text) == 0);
  CHECK(text.str() == "\"Hello, world!\"\n");
  std::istringstream none;
  CHECK_THROWS_WITH(TokenizeCommand({"--bogus"}, none, text), Catch::Contains("usage"));
}

TEST_CASE("model logits prints the fixture's reference logits, one row a position", "[cli]") {
  const json tokens = ReadJsonFile(kTinyLlama + "/tokens.json");
  const json expect = ReadJsonFile(kTinyLlama + "/logits.json");
  std::istringstream in(tokens.dump());
  std::ostringstream out;
  REQUIRE(ModelLogitsCommand({"--model", kTinyLlama + "/hf"}, in, out) == 0);
  std::istringstream lines(out.str());
  size_t row = 0;
  for (std::string line; std::getline(lines, line); ++row) {
    json r = json::parse(line);
    REQUIRE(r.size() == 97);
    CHECK(r[5].get<double>() == Approx(expect[row][5].get<double>()).margin(1e-4));
  }
  CHECK(row == 24);
  std::istringstream bad("[1, 2, 500]");
  CHECK(ModelLogitsCommand({"--model", kTinyLlama + "/hf"}, bad, out) == 1);
  CHECK(ModelLogitsCommand({}, bad, out) == 2);
}

}  // namespace
}  // namespace crescent::cli
