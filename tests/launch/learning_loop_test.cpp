// A short RL run through all four roles: rewards are produced, the weights
// change, and every rollout worker generates with the newest policy version
// after each broadcast.
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "common/model/policy.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/common/process.hpp"

using namespace std::chrono_literals;
using crescent::testing::Process;
using crescent::testing::TempDir;

namespace {

// SFT then RL on tests/launch/smoke.yaml in a fresh run directory, with
// these `key=value` settings; returns the directory.
std::string RunJob(const std::string& name, const std::vector<std::string>& settings) {
  const std::string crescent = CRESCENT_BINARY;
  const std::string config = std::string(CRESCENT_SOURCE_DIR) + "/tests/launch/smoke.yaml";
  const std::string dir = TempDir(name);
  std::vector<std::string> sets = {"--set", "run.dir=" + dir};
  for (const auto& s : settings) sets.insert(sets.end(), {"--set", s});
  std::vector<std::string> sft = {crescent, "sft", config};
  sft.insert(sft.end(), sets.begin(), sets.end());
  Process warm(sft, dir + "/sft.log");
  REQUIRE(warm.Wait(120s) == 0);
  std::vector<std::string> run = {crescent, "run", config};
  run.insert(run.end(), sets.begin(), sets.end());
  Process job(run, dir + "/run.log");
  int rc = job.Wait(300s);
  INFO(job.Output());
  REQUIRE(rc == 0);
  return dir;
}

}  // namespace

TEST_CASE("a short multi-process RL run updates the policy every rollout worker uses",
          "[launch][learning]") {
  const std::string dir = RunJob(
      "crescent-learn", {"cluster.rollout_workers=2", "cluster.trainers=2", "run.iterations=4"});

  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  int iterations = 0;
  double reward_sum = 0, grad_norm_max = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("iteration")) continue;
    ++iterations;
    const int64_t it = j["iteration"];
    CHECK(j["policy_version"] == it);  // one broadcast per iteration
    auto versions = j["generated_with_policy_versions"].get<std::vector<int64_t>>();
    std::vector<int64_t> expected = {it - 1, it - 1};  // both workers, newest weights
    CHECK(versions == expected);
    reward_sum += j["mean_reward"].get<double>();
    grad_norm_max = std::max(grad_norm_max, j["train"]["grad_norm"].get<double>());
    CHECK(j["samples_scored"] == 16);  // 4 prompts x 4 samples, each scored
    CHECK(j["mean_response_length"].get<double>() > 0);
  }
  CHECK(iterations == 4);
  CHECK(reward_sum > 0);     // some samples were right...
  CHECK(grad_norm_max > 0);  // ...so some groups had a gradient

  // The saved policy differs from the SFT checkpoint it started from.
  auto before = crescent::model::LoadPolicy(dir + "/sft");
  auto after = crescent::model::LoadPolicy(dir + "/policy");
  double change = 0;
  auto a = before.model->parameters(), b = after.model->parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) change += (a[i] - b[i]).abs().sum().item<double>();
  CHECK(change > 0);
}

TEST_CASE("with trainer.overlap the trainers train on earlier groups while the next generate",
          "[launch][learning]") {
  const std::string dir =
      RunJob("crescent-overlap", {"run.iterations=6", "trainer.overlap=true", "rollout.budget=3"});

  // Iteration 1 has nothing complete from before to train on; every later
  // one trains while generating, and the weights move once per step.
  std::ifstream metrics(dir + "/metrics.jsonl");
  std::string line;
  std::vector<int64_t> trained, versions;
  while (std::getline(metrics, line)) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("iteration")) continue;
    trained.push_back(j["rollouts"]["groups_trained"]);
    versions.push_back(j["policy_version"]);
  }
  REQUIRE(trained.size() == 6);
  CHECK(trained[0] == 0);
  CHECK(versions[0] == 0);
  for (size_t i = 1; i < trained.size(); ++i) {
    CHECK(trained[i] > 0);
    CHECK(versions[i] == static_cast<int64_t>(i));
  }

  // Each trained trajectory was finished in an earlier iteration than the
  // one that trained on it, and still counted in the loss.
  std::ifstream ledger(dir + "/ledger.jsonl");
  size_t lines = 0;
  while (std::getline(ledger, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["outcome"] != "trained") continue;
    ++lines;
    for (const auto& s : j["segments"]) CHECK(s["in_loss"] == true);
    CHECK(j["segments"].back()["iteration"] < j["iteration"]);
  }
  CHECK(lines > 0);
}

TEST_CASE(
    "groups with equal rewards are dropped, logged and replaced, and the length reward applies "
    "after its warm-up",
    "[launch][learning]") {
  const std::string dir =
      RunJob("crescent-dynamic", {"run.iterations=5", "trainer.drop_equal_reward_groups=true",
                                  "reward.length_penalty=0.5", "reward.length_penalty_warmup=2"});
  std::ifstream metrics(dir + "/metrics.jsonl");
  std::string line;
  std::vector<int64_t> dropped, drawn, trained;
  std::vector<double> length_reward;
  while (std::getline(metrics, line)) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("iteration")) continue;
    dropped.push_back(j["rollouts"]["dropped_equal_reward"]);
    drawn.push_back(j["rollouts"]["new_groups"]);
    trained.push_back(j["rollouts"]["groups_trained"]);
    length_reward.push_back(j["mean_length_reward"]);
  }
  REQUIRE(dropped.size() == 5);
  int64_t total_dropped = 0;
  for (size_t i = 0; i < dropped.size(); ++i) {
    INFO("iteration " << i + 1);
    total_dropped += dropped[i];
    // Each dropped group is replaced by one more new prompt at the next
    // draw, on top of what keeps B = 4 groups coming.
    if (i > 0) CHECK(drawn[i] >= dropped[i - 1]);
    if (i > 0) CHECK(drawn[i] - dropped[i - 1] <= 4);
    // The warm-up is 2 iterations: no length reward before it is over.
    if (i < 2) CHECK(length_reward[i] == 0.0);
  }
  CHECK(total_dropped > 0);
  double after_warmup = 0;
  for (size_t i = 2; i < length_reward.size(); ++i) after_warmup += std::abs(length_reward[i]);
  CHECK(after_warmup > 0);

  // The ledger holds every trajectory of the dropped groups, with the reason.
  std::ifstream ledger(dir + "/ledger.jsonl");
  int64_t equal = 0;
  while (std::getline(ledger, line)) {
    auto j = nlohmann::json::parse(line);
    const std::string reason = j.value("reason", "");
    if (reason.find("trainer.drop_equal_reward_groups") == std::string::npos) continue;
    CHECK(j["outcome"] == "dropped");
    CHECK(reason.find("rewards equal") != std::string::npos);
    ++equal;
  }
  CHECK(equal == total_dropped * 4);  // k = 4 trajectories per group
}
