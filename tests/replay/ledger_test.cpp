// The ledger (replay/buffer.hpp) under a crash at every step of an append and
// of its acknowledgement in the buffer: after recovery and the resumed run's
// first Flush, every trajectory that left the buffer has exactly one whole
// line.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "replay/buffer.hpp"
#include "tests/common/fault_env.hpp"
#include "tests/common/process.hpp"

namespace crescent::replay {
namespace {

using env::testing::FaultInjectionEnv;
using Unsynced = FaultInjectionEnv::Unsynced;

// Group `group` of trajectories first, first + 1, finished and scored.
std::vector<Change> FinishedGroup(uint64_t group, uint64_t first) {
  std::vector<Change> changes = {
      StartGroup{group, {"p" + std::to_string(group), "2+2=", {}}, 1, {first, first + 1}}};
  for (uint64_t t : {first, first + 1}) {
    AddSegment a;
    a.trajectory_id = t;
    a.segment = {SegmentSource::kPolicy, {4, 5, int32_t(t)}, {-0.1f, -0.2f, -0.3f}, 0, 1};
    a.finish = FinishReason::kStop;
    a.text = "four";
    changes.push_back(a);
    changes.push_back(ScoreTrajectory{t, 1.0, true, R"({"math":{"answer":"4"}})"});
  }
  return changes;
}

// Trajectory ids in the ledger file; fails on a torn, unreadable or
// repeated line.
std::set<uint64_t> LedgerIds(env::Env* env, const std::string& path) {
  std::set<uint64_t> ids;
  if (!env->FileExists(path)) return ids;
  const std::string text = env->ReadFile(path);
  if (!text.empty()) CHECK(text.back() == '\n');
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    INFO("ledger line: " << line);
    nlohmann::json j;
    REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
    const uint64_t id = j.at("trajectory").get<uint64_t>();
    CHECK(ids.insert(id).second);  // never twice
  }
  return ids;
}

TEST_CASE("a ledger append crashed at any step is whole and written once after resume",
          "[replay]") {
  // The crashed life: group 2 dropped, flushed; group 3 trained and
  // committed, flushed; each flush appends and acknowledges in the journal.
  auto scenario = [](FaultInjectionEnv& env, const std::string& run) {
    ReplayBuffer buffer(&env, run + "/replay", JournalOptions{});
    Ledger ledger(&env, run + "/ledger.jsonl", 4);
    buffer.Commit({DropGroup{2, "end of run", 2}});
    ledger.Flush(buffer);
    std::vector<Change> changes = FinishedGroup(3, 6);
    changes.push_back(TrainGroups{{3}, 3, 2});
    changes.push_back(CommitTraining{2});
    buffer.Commit(changes);
    ledger.Flush(buffer);
  };
  // A first life, not crashed: group 1 trained (trajectories 1, 2) and in the
  // ledger; group 2 (3, 4) collecting, 3 restarted as 5 (3 in the ledger).
  auto first_life = [](FaultInjectionEnv& env, const std::string& run) {
    ReplayBuffer buffer(&env, run + "/replay", JournalOptions{});
    std::vector<Change> changes = FinishedGroup(1, 1);
    changes.push_back(TrainGroups{{1}, 1, 1});
    changes.push_back(CommitTraining{1});
    changes.push_back(StartGroup{2, {"p2", "3+3=", {}}, 1, {3, 4}});
    changes.push_back(RestartTrajectory{3, 5, "stale: test", 2});
    buffer.Commit(changes);
    Ledger ledger(&env, run + "/ledger.jsonl", 4);
    REQUIRE(ledger.Flush(buffer) == 3);
  };
  long total;
  {
    const std::string run = crescent::testing::TempDir("crescent-ledger");
    FaultInjectionEnv env;
    first_life(env, run);
    const long before = env.ops();
    scenario(env, run);
    total = env.ops() - before;
    CHECK(LedgerIds(&env, run + "/ledger.jsonl") == std::set<uint64_t>{1, 2, 3, 4, 5, 6, 7});
  }
  REQUIRE(total > 8);
  for (Unsynced unsynced : {Unsynced::kLost, Unsynced::kTorn}) {
    for (long k = 0; k <= total; ++k) {
      const std::string run = crescent::testing::TempDir("crescent-ledger");
      FaultInjectionEnv env;
      first_life(env, run);
      env.CrashAfter(env.ops() + k);
      scenario(env, run);
      env.DropUnsyncedData(unsynced);
      INFO("crash after " << k << " of " << total << " calls");
      // Resume as the master does: recover the buffer, flush the ledger.
      ReplayBuffer buffer(&env, run + "/replay", JournalOptions{});
      Ledger ledger(&env, run + "/ledger.jsonl", 4);
      ledger.Flush(buffer);
      CHECK(buffer.state().pending_ledger().empty());
      // Every id given out and no longer in the buffer has one line.
      std::set<uint64_t> left;
      for (uint64_t id = 1; id < buffer.state().next_trajectory_id(); ++id)
        if (!buffer.state().trajectories().count(id)) left.insert(id);
      CHECK(LedgerIds(&env, run + "/ledger.jsonl") == left);
      CHECK(left.size() >= 3);
    }
  }
}

TEST_CASE("a ledger line keeps each reward function's details", "[replay]") {
  const std::string run = crescent::testing::TempDir("crescent-ledger");
  FaultInjectionEnv env;
  ReplayBuffer buffer(&env, run + "/replay", JournalOptions{});
  std::vector<Change> changes = FinishedGroup(1, 1);
  changes.push_back(TrainGroups{{1}, 1, 1});
  changes.push_back(CommitTraining{1});
  buffer.Commit(changes);
  Ledger ledger(&env, run + "/ledger.jsonl", 4);
  REQUIRE(ledger.Flush(buffer) == 2);
  const std::string text = env.ReadFile(run + "/ledger.jsonl");
  const nlohmann::json first = nlohmann::json::parse(text.substr(0, text.find('\n')));
  CHECK(first["reward_details"]["math"]["answer"] == "4");
}

}  // namespace
}  // namespace crescent::replay
