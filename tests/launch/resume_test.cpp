// Preemption and resume of whole jobs: `crescent run` killed with SIGKILL at
// several moments while partial rollouts sit in the replay buffer, or stopped
// with SIGTERM, then run again with the same command; the ledger must show
// every trajectory trained exactly once or dropped with a reason, and saved
// partial trajectories continued from their saved tokens.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/common/process.hpp"

using namespace std::chrono_literals;
using crescent::testing::KillProcessTree;
using crescent::testing::Process;
using crescent::testing::ReadFile;
using crescent::testing::TempDir;
using nlohmann::json;

namespace {

const std::string kCrescent = CRESCENT_BINARY;
const std::string kSource = CRESCENT_SOURCE_DIR;

std::vector<std::string> Command(const std::string& verb, const std::string& dir,
                                 const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kCrescent, verb, kSource + "/tests/launch/smoke.yaml", "--set",
                                   "run.dir=" + dir};
  // Partial rollouts: responses up to 8 tokens, 2 per iteration.
  for (const char* s : {"run.iterations=240", "rollout.max_response_tokens=8", "rollout.budget=2",
                        "trainer.checkpoint_every=5", "cluster.heartbeat_interval_s=0.5"})
    argv.insert(argv.end(), {"--set", s});
  for (const auto& e : extra) argv.insert(argv.end(), {"--set", e});
  return argv;
}

void WarmStart(const std::string& dir) {
  Process sft(Command("sft", dir, {}), dir + "/sft.log");
  REQUIRE(sft.Wait(120s) == 0);
}

size_t Lines(const std::string& path) {
  std::ifstream in(path);
  return std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
}

// Waits until metrics.jsonl has at least n lines (the job is that far).
bool WaitForMetrics(const std::string& dir, size_t n, Process& job) {
  for (int i = 0; i < 2400; ++i) {
    if (Lines(dir + "/metrics.jsonl") >= n) return true;
    if (job.Wait(50ms) != -1) return false;
  }
  return false;
}

std::string Run(const std::vector<std::string>& argv) {
  const std::string out = TempDir("crescent-cmd") + "/out";
  Process p(argv, out);
  REQUIRE(p.Wait(60s) == 0);
  return ReadFile(out);
}

// Unfinished trajectories in the buffer, by id: their segments' token hashes.
std::map<uint64_t, std::vector<std::string>> SavedPartials(const std::string& dir) {
  std::map<uint64_t, std::vector<std::string>> out;
  std::istringstream dump(Run({kCrescent, "replay", "dump", dir}));
  std::string line;
  while (std::getline(dump, line)) {
    json j = json::parse(line);
    if (j["finish"] != "unfinished" || j["segments"].empty()) continue;
    for (const auto& s : j["segments"]) out[j["trajectory"]].push_back(s["hash"]);
  }
  return out;
}

// Checks the finished run's ledger: every trajectory id ever given out
// appears exactly once, trained or dropped with a reason; saved partials
// continued from their saved segments. Returns the number trained.
size_t CheckLedger(const std::string& dir,
                   const std::map<uint64_t, std::vector<std::string>>& partials) {
  const json stats = json::parse(Run({kCrescent, "replay", "stats", dir}));
  CHECK(stats["trajectories"] == 0);  // the finished run left nothing behind
  const uint64_t next = stats["next_trajectory_id"];
  std::map<uint64_t, json> ledger;
  std::ifstream in(dir + "/ledger.jsonl");
  std::string line;
  size_t trained = 0;
  while (std::getline(in, line)) {
    json j = json::parse(line);
    const uint64_t id = j["trajectory"];
    INFO("trajectory " << id);
    CHECK(ledger.count(id) == 0);  // never twice
    if (j["outcome"] == "trained") {
      ++trained;
    } else {
      CHECK(j["outcome"] == "dropped");
      CHECK_FALSE(j["reason"].get<std::string>().empty());
    }
    ledger[id] = j;
  }
  CHECK(ledger.size() == next - 1);
  CHECK(ledger.begin()->first == 1);
  CHECK(ledger.rbegin()->first == next - 1);
  size_t continued = 0;
  for (const auto& [id, hashes] : partials) {
    INFO("saved partial trajectory " << id);
    REQUIRE(ledger.count(id));
    const json& j = ledger[id];
    if (j["outcome"] != "trained") continue;
    REQUIRE(j["segments"].size() > hashes.size());
    for (size_t i = 0; i < hashes.size(); ++i) CHECK(j["segments"][i]["hash"] == hashes[i]);
    ++continued;
  }
  CHECK(continued > 0);
  return trained;
}

}  // namespace

TEST_CASE("a run SIGKILLed three times resumes each time and trains every trajectory once",
          "[launch][resume]") {
  const std::string dir = TempDir("crescent-kill");
  WarmStart(dir);
  std::map<uint64_t, std::vector<std::string>> partials;
  // Kill points (metrics lines); the second restart runs two rollout workers.
  const std::vector<size_t> kill_at = {30, 90, 150};
  for (size_t round = 0; round < kill_at.size(); ++round) {
    std::vector<std::string> extra;
    if (round == 1) extra.push_back("cluster.rollout_workers=2");
    Process job(Command("run", dir, extra), dir + "/run" + std::to_string(round) + ".log");
    INFO(job.Output());
    REQUIRE(WaitForMetrics(dir, kill_at[round], job));
    KillProcessTree(job.pid());
    REQUIRE(job.Wait(10s) == 128 + SIGKILL);
    for (const auto& [id, hashes] : SavedPartials(dir)) partials[id] = hashes;
    if (round > 0) CHECK(job.Output().find("resuming at iteration") != std::string::npos);
  }
  CHECK_FALSE(partials.empty());
  Process last(Command("run", dir, {}), dir + "/last.log");
  INFO(last.Output());
  REQUIRE(last.Wait(300s) == 0);
  CHECK(last.Output().find("resuming at iteration") != std::string::npos);
  CHECK(CheckLedger(dir, partials) > 0);
}

TEST_CASE("SIGTERM commits within the grace period and leaves nothing to redo",
          "[launch][resume]") {
  const std::string dir = TempDir("crescent-term");
  WarmStart(dir);
  std::map<uint64_t, std::vector<std::string>> partials;
  for (size_t stop_at : {40, 120}) {
    Process job(Command("run", dir, {"run.shutdown_grace_s=20"}),
                dir + "/term" + std::to_string(stop_at) + ".log");
    INFO(job.Output());
    REQUIRE(WaitForMetrics(dir, stop_at, job));
    const auto t0 = std::chrono::steady_clock::now();
    job.Signal(SIGTERM);
    REQUIRE(job.Wait(30s) == 128 + SIGTERM);  // stopped, resumable
    CHECK(std::chrono::steady_clock::now() - t0 < 20s);
    CHECK(job.Output().find("with everything committed") != std::string::npos);
    for (const auto& [id, hashes] : SavedPartials(dir)) partials[id] = hashes;
  }
  Process last(Command("run", dir, {"run.shutdown_grace_s=20"}), dir + "/last.log");
  INFO(last.Output());
  REQUIRE(last.Wait(300s) == 0);
  // The stop checkpointed every trained group: nothing goes back to the trainer.
  CHECK(last.Output().find(": 0 groups trained since go back to the trainer") != std::string::npos);
  CHECK(CheckLedger(dir, partials) > 0);
}

TEST_CASE("a run directory takes one job at a time and refuses a changed config",
          "[launch][resume]") {
  const std::string dir = TempDir("crescent-lock");
  WarmStart(dir);
  Process first(Command("run", dir, {"run.iterations=100000"}), dir + "/first.log");
  REQUIRE(first.WaitForOutput("all 3 workers connected", 60s));
  Process second(Command("run", dir, {"run.iterations=100000"}), dir + "/second.log");
  CHECK(second.Wait(30s) == 1);
  CHECK(second.Output().find("is in use by another crescent job") != std::string::npos);
  CHECK(second.Output().find("held by pid " + std::to_string(first.pid())) != std::string::npos);
  first.Signal(SIGTERM);
  REQUIRE(first.Wait(60s) == 128 + SIGTERM);

  Process changed(Command("run", dir, {"run.iterations=100000", "trainer.lr=0.01"}),
                  dir + "/changed.log");
  CHECK(changed.Wait(30s) == 2);
  CHECK(changed.Output().find("trainer.lr: 0.0003 -> 0.01") != std::string::npos);
  CHECK(ReadFile(dir + "/config.yaml").find("lr: 0.0003") != std::string::npos);
}
