// Config keys seen from outside: whole jobs (`crescent run` through mpirun,
// on tests/launch/smoke.yaml) with a key set, each test checking an outcome
// that depends on the key's value (the cluster section's keys:
// cluster_keys_test.cpp; the shared jobs: key_jobs.hpp).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "tests/common/process.hpp"
#include "tests/launch/key_jobs.hpp"

using namespace std::chrono_literals;
using namespace crescent::testing::keys;
using crescent::testing::KillProcessTree;
using crescent::testing::Process;
using crescent::testing::ReadFile;
using crescent::testing::TempDir;
namespace fs = std::filesystem;

TEST_CASE("run.log_level warn: no info lines, and the job still succeeds", "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-warn");
  CopyModel(dir + "/sft");
  const Job job = RunToEnd(dir, {"run.log_level=warn", "run.iterations=2"});
  INFO(job.output);
  std::istringstream lines(job.output);
  size_t info = 0;
  for (std::string line; std::getline(lines, line);) info += line.rfind("I ", 0) == 0;
  CHECK(info == 0);
  CHECK(job.iterations.size() == 2);  // it ran, quietly
  CHECK(fs::exists(dir + "/policy/config.json"));
  // The same kind of job at the default level (info) logs info lines.
  CHECK(Contrast().output.find("\nI ") != std::string::npos);
}

TEST_CASE(
    "task.prompts_file: a bad line and a chat the policy cannot render are named before "
    "mpirun starts",
    "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-chat");
  CopyModel(dir + "/sft");  // the built-in model: no chat template
  const std::string prompts = dir + "/prompts.jsonl";
  std::string says;
  SECTION("a line with neither prompt nor messages") {
    std::ofstream(prompts) << "{\"id\": \"a\", \"prompt\": \"1+1=\", \"answer\": \"2\"}\n"
                              "{\"id\": \"b\", \"answer\": \"3\"}\n";
    says = prompts + ":2: neither \"prompt\" nor \"messages\"";
  }
  SECTION("a chat prompt") {
    std::ofstream(prompts) << "{\"id\": \"a\", \"prompt\": \"1+1=\", \"answer\": \"2\"}\n"
                              "{\"id\": \"c\", \"messages\": [{\"role\": \"user\", "
                              "\"content\": \"1+2=\"}], \"answer\": \"3\"}\n";
    says = prompts + ": prompt \"c\" is a chat (\"messages\") but the policy has no chat template";
  }
  Process job(Command("run", dir, {"task.name=jsonl", "task.prompts_file=" + prompts}),
              dir + "/out.log");
  const int rc = job.Wait(60s);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(out.find("task.prompts_file (") != std::string::npos);
  CHECK(out.find(says) != std::string::npos);
  CHECK(out.find(" worker ") == std::string::npos);  // mpirun was never started
}

TEST_CASE("model.path: a policy without a tokenizer is named before mpirun starts",
          "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-notokenizer");
  const std::string model = dir + "/model";
  fs::create_directories(model);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(SftModel() + "/" + f, model + "/" + f);
  Process job(Command("run", dir + "/run", {"model.path=" + model}), dir + "/out.log");
  const int rc = job.Wait(60s);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(out.find("the initial policy (model.path, --set model.path) cannot be used: " + model +
                 ": no tokenizer: neither tokenizer.json nor alphabet.txt") != std::string::npos);
  CHECK(out.find(" worker ") == std::string::npos);  // mpirun was never started
}

TEST_CASE("model.path: RL starts from a copied SFT model in another directory", "[launch][keys]") {
  const ContrastJob& job = Contrast();
  INFO(job.output);
  // The trainer and the rollout worker load it; the run directory has no sft.
  const std::regex loaded(
      "(trainer|rollout)\\[[0-9]+\\]@[^ ]+ pid [0-9]+\\] loaded [a-z]+ model "
      "from " +
      RegexEscape(job.model) + ":");
  std::set<std::string> roles;
  for (auto it = std::sregex_iterator(job.output.begin(), job.output.end(), loaded);
       it != std::sregex_iterator(); ++it)
    roles.insert((*it)[1]);
  CHECK(roles == std::set<std::string>{"trainer", "rollout"});
  CHECK_FALSE(fs::exists(job.dir + "/sft"));
  CHECK(job.iterations.size() == kIterations);
  CHECK(fs::exists(job.dir + "/policy/config.json"));
  // Empty (the main job), RL starts from RUN_DIR/sft.
  CHECK(Main().output.find("loaded llama model from " + Main().dir + "/sft:") != std::string::npos);

  // A model.path without a model: the ranks loading it name it.
  const std::string root = TempDir("crescent-keys-nomodel");
  Process bad(Command("run", root + "/run", {"model.path=" + root + "/nothing"}),
              root + "/run.log");
  const int rc = bad.Wait(120s);
  if (rc == -1) KillProcessTree(bad.pid());
  INFO(bad.Output());
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(bad.Output().find(root + "/nothing: no policy checkpoint here") != std::string::npos);
}

TEST_CASE("trainer.checkpoint_every: checkpoints at every N-th iteration and at the end",
          "[launch][keys]") {
  SECTION("checkpoint_every 2") {
    const Job& job = Main();
    INFO(job.output);
    const auto expected = ExpectedCheckpoints(job, 2);
    REQUIRE(expected.size() >= 2);
    CHECK(expected.front().first < kIterations);  // one before the end
    CHECK(LoggedCheckpoints(job) == expected);
    // The newest two are kept; latest names the newest.
    std::set<std::string> kept = {"latest"};
    for (size_t i = expected.size() - 2; i < expected.size(); ++i)
      kept.insert(CheckpointName(expected[i].second));
    CHECK(Entries(job.dir + "/checkpoints") == kept);
    CHECK(ReadFile(job.dir + "/checkpoints/latest") ==
          CheckpointName(expected.back().second) + "\n");
  }
  SECTION("checkpoint_every 10 (the default), 5 iterations: only at the end") {
    const Job& job = Contrast();
    INFO(job.output);
    const auto expected = ExpectedCheckpoints(job, 10);
    REQUIRE(expected.size() == 1);
    CHECK(expected[0].first == kIterations);
    CHECK(LoggedCheckpoints(job) == expected);
    CHECK(Entries(job.dir + "/checkpoints") ==
          std::set<std::string>{"latest", CheckpointName(expected[0].second)});
  }
}

TEST_CASE("replay.snapshot_every: 1 leaves a snapshot of the replay buffer, 200 none",
          "[launch][keys]") {
  std::set<std::string> snapshots, logs;
  for (const auto& name : Entries(Main().dir + "/replay")) {
    if (name.rfind("snapshot-", 0) == 0) snapshots.insert(name);
    if (name.rfind("log-", 0) == 0) logs.insert(name);
  }
  INFO(Main().output);
  REQUIRE(snapshots.size() == 1);  // the newest; the ones before it are removed
  const std::string snapshot = *snapshots.begin();
  const uint64_t number = std::stoull(snapshot.substr(9, snapshot.find('.') - 9));
  CHECK(number > kIterations);  // a snapshot at every commit, several commits an iteration
  char log[40];
  std::snprintf(log, sizeof log, "log-%06llu.log", static_cast<unsigned long long>(number));
  CHECK(logs == std::set<std::string>{log});  // the log goes on from the snapshot

  // snapshot_every 200: the short contrast job commits fewer times.
  for (const auto& name : Entries(Contrast().dir + "/replay"))
    CHECK(name.rfind("snapshot-", 0) != 0);
}

TEST_CASE("eval.every: held-out evaluation every N iterations, else only before and after",
          "[launch][keys]") {
  const std::vector<std::string> every_2 = {"before RL", "iteration 2", "iteration 4",
                                            "iteration 5"};
  CHECK(EvalNames(Main()) == every_2);
  for (const auto& when : every_2)
    CHECK(Main().output.find("] eval " + when + ": held-out accuracy ") != std::string::npos);
  const std::vector<std::string> every_0 = {"before RL", "iteration 5"};
  CHECK(EvalNames(Contrast()) == every_0);
  CHECK(Contrast().output.find("] eval iteration 2:") == std::string::npos);
}

TEST_CASE("reward.repeat_penalty: responses stopped as repeats score the penalty less",
          "[launch][keys]") {
  // The reward is math's (1 correct, 0 not) less the penalty for finish
  // "repeat": 0.5 in the main job, 0 (the default) in the contrast job.
  for (const auto& [job, penalty] :
       {std::pair<const Job*, double>{&Main(), 0.5}, {&Contrast(), 0.0}}) {
    INFO("repeat_penalty " << penalty);
    size_t repeats = 0, others = 0;
    for (const auto& j : job->ledger) {
      if (!j.contains("reward")) continue;
      INFO(j.dump());
      const double math = j["correct"].get<bool>() ? 1.0 : 0.0;
      if (j["finish"] == "repeat") {
        ++repeats;
        CHECK(j["reward"].get<double>() == Approx(math - penalty));
      } else {
        ++others;
        CHECK(j["reward"].get<double>() == Approx(math));
      }
    }
    CHECK(repeats > 0);
    CHECK(others > 0);
    int64_t in_metrics = 0;
    for (const auto& j : job->iterations) in_metrics += j["rollouts"]["finish"].value("repeat", 0);
    CHECK(in_metrics == static_cast<int64_t>(repeats));
  }
}

TEST_CASE("rollout.stale_policy: restart regenerates stale trajectories, exclude keeps them",
          "[launch][keys]") {
  // budget 2, max_staleness 0: an unfinished trajectory is stale once the
  // policy moves on.
  SECTION("restart") {
    const Job& job = Main();
    size_t stale = 0;
    for (const auto& j : job.ledger) {
      const std::string reason = j.value("reason", "");
      if (reason.find("stale") == std::string::npos) continue;
      INFO(j.dump());
      ++stale;
      CHECK(j["outcome"] == "dropped");
      CHECK(j["finish"] == "unfinished");
      CHECK(reason.find("(rollout.max_staleness 0)") != std::string::npos);
    }
    CHECK(stale > 0);
    CHECK(SumRestarted(job) == static_cast<int64_t>(stale));
  }
  SECTION("exclude (the default)") {
    const Job& job = Contrast();
    CHECK(SumRestarted(job) == 0);
    size_t excluded = 0;
    for (const auto& j : job.ledger) {
      CHECK(j.value("reason", "").find("stale") == std::string::npos);
      if (j["outcome"] != "trained") continue;
      for (const auto& s : j["segments"]) excluded += s["in_loss"] == false;
    }
    CHECK(excluded > 0);  // stale segments were trained on, without gradient
  }
}
