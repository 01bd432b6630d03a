// RUN_DIR/metrics.jsonl: one JSON line per iteration and per evaluation
// (docs/training.md, "Metrics"), and the iteration's line in the log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/env/env.hpp"
#include "common/proto/messages.hpp"

namespace crescent::master {

struct IterationMetrics {
  int64_t iteration = 0;
  proto::PolicyVersion policy_version = 0;
  std::vector<proto::PolicyVersion> generated_with;  // by each rollout worker
  size_t samples_scored = 0;
  std::map<std::string, int64_t> reward_errors;  // samples a reward function failed on, by name
  double samples_trained = 0;
  // Sums over the trained samples.
  double reward_sum = 0, length_reward_sum = 0, correct = 0, tokens = 0, samples = 0;
  // What happened to the rollouts.
  size_t restarted = 0, new_groups = 0, continued = 0, generated_tokens = 0;
  std::map<std::string, int64_t> finish;  // by finish reason
  size_t dropped_equal_reward = 0, unfinished = 0, groups_trained = 0, groups_waiting = 0;
  std::map<std::string, double> train;  // the trainers' statistics
  double generate_s = 0, score_s = 0, train_s = 0, sync_s = 0;
};

class MetricsLog {
 public:
  // Appends to `path` (a resumed run adds to its file).
  MetricsLog(env::Env* env, const std::string& path);
  // Writes the line and logs a one-line summary.
  void Iteration(const IterationMetrics& m);
  // {"eval": when, "policy_version", "heldout_accuracy", "problems"}
  void Eval(const std::string& when, proto::PolicyVersion version, double accuracy,
            size_t problems);
  // {"eval": when, "policy_version", "data_file_accuracy", "data_file_mean_reward",
  // "problems"}: eval.data_file's prompts.
  void EvalDataFile(const std::string& when, proto::PolicyVersion version, double accuracy,
                    double mean_reward, size_t problems);

 private:
  std::unique_ptr<env::WritableFile> out_;
};

}  // namespace crescent::master
