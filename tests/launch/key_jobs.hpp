// What the config-key tests share (keys_test.cpp, cluster_keys_test.cpp):
// whole jobs (`crescent run` through mpirun, on tests/launch/smoke.yaml) with
// keys set, and readers of what they leave behind. Two short RL jobs are
// shared by several tests: the main job sets several keys at once, the
// contrast job leaves them at their defaults (or sets the other choice).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace crescent::testing::keys {

using nlohmann::json;

extern const std::string kCrescent;  // the program
extern const std::string kConfig;    // tests/launch/smoke.yaml
constexpr int64_t kIterations = 5;   // of the main and contrast jobs

// `crescent VERB smoke.yaml --set run.dir=DIR --set SETTING...`
std::vector<std::string> Command(const std::string& verb, const std::string& dir,
                                 const std::vector<std::string>& settings);

// The SFT warm start every job here starts from, made once per test program.
const std::string& SftModel();
// A copy of the SFT model at `dest`.
void CopyModel(const std::string& dest);

std::vector<json> JsonLines(const std::string& path);

// A finished RL job: its directory, output, metrics and ledger.
struct Job {
  std::string dir;
  std::string output;
  std::vector<json> iterations;  // metrics.jsonl lines of the iterations
  std::vector<json> evals;       // metrics.jsonl lines of the evaluations
  std::vector<json> ledger;
};

// Runs `crescent run` in `dir` (which already holds what it starts from) to
// its end; it must succeed.
Job RunToEnd(const std::string& dir, const std::vector<std::string>& settings);

// A port no socket holds now, for cluster.master_port.
int FreePort();

// The main job: RL from RUN_DIR/sft (model.path empty), with a chosen
// master port, checkpoints every 2 iterations, a replay snapshot every
// commit, evaluation every 2 iterations, a repetition detector that fires
// on any token twice in a row with a penalty, and partial rollouts whose
// stale trajectories restart.
struct MainJob : Job {
  int port = 0;
};
const MainJob& Main();

// The contrast job: the same partial rollouts and repetition detector, but
// from a copy of the SFT model in another directory (model.path), with
// everything else at the defaults of smoke.yaml: no repeat penalty,
// stale_policy exclude, checkpoint_every 10, snapshot_every 200, eval.every 0.
struct ContrastJob : Job {
  std::string model;
};
const ContrastJob& Contrast();

std::string RegexEscape(const std::string& text);
// The pid in the "hello from WHO on host H (pid N)" line of `output`; -1 if none.
int PidOf(const std::string& output, const std::string& who);
// Whether some process has `parent` as its parent.
bool HasChild(pid_t parent);

std::string CheckpointName(int64_t version);
// (iteration, policy version) of the checkpoints a run saves with
// trainer.checkpoint_every = every: at each N-th iteration and the last,
// when the policy changed since the checkpoint before.
std::vector<std::pair<int64_t, int64_t>> ExpectedCheckpoints(const Job& job, int64_t every);
// (iteration, policy version) of each "checkpoint DIR (iteration N, policy
// version V; ...)" line of the master; DIR must be the version's directory.
std::vector<std::pair<int64_t, int64_t>> LoggedCheckpoints(const Job& job);

std::set<std::string> Entries(const std::string& dir);
std::vector<std::string> EvalNames(const Job& job);
int64_t SumRestarted(const Job& job);

}  // namespace crescent::testing::keys
