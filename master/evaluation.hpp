// Held-out evaluation: the task's held-out prompts, generated greedily (no
// budget, temperature 0) by the rollout workers and scored by the reward
// services; the accuracy goes to metrics.jsonl.
#pragma once

#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "master/metrics.hpp"
#include "master/prompt_encoder.hpp"
#include "master/workers.hpp"

namespace crescent::master {

class Evaluation {
 public:
  Evaluation(const config::Config& config, WorkerPool& workers, PromptEncoder& prompts,
             MetricsLog& metrics, env::Env* env);
  // The accuracy of policy `version` on `heldout`; -1 when it is empty.
  double Run(const std::vector<proto::Prompt>& heldout, const std::string& when,
             proto::PolicyVersion version);

 private:
  // Evaluation trajectories are not in the replay buffer: their ids come
  // from a range of their own.
  static constexpr uint64_t kIdBase = uint64_t{1} << 62;

  const config::Config& config_;
  WorkerPool& workers_;
  PromptEncoder& prompts_;
  MetricsLog& metrics_;
  env::Env* env_;
  uint64_t next_id_ = kIdBase;
};

}  // namespace crescent::master
