// What a trainer rank holds between requests: the policy being trained, its
// optimizer and schedule step, and GRPO's frozen reference. The trainer
// worker serves the master's requests with it; tests drive it directly.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/model/policy.hpp"
#include "common/proto/messages.hpp"
#include "common/run/run_dir.hpp"
#include "common/weights/weight_sync.hpp"
#include "trainer/optimizer.hpp"

namespace crescent::trainer {

class Trainer {
 public:
  // Loads `start`: a checkpoint's weights, optimizer state and schedule step
  // (policy_version > 0), or the initial policy at step 0. With kl_coef > 0
  // also the run's initial policy, frozen, as the reference. `gradients`
  // sums gradients over the trainers (not owned).
  Trainer(const config::Config& config, const run::Checkpoint& start,
          weights::WeightSync& gradients);

  // One iteration's update on this trainer's share of `total_groups` groups
  // (UpdatePolicy); returns its statistics.
  std::map<std::string, double> Train(const std::vector<proto::TrainGroup>& groups,
                                      int64_t total_groups);

  // Writes the policy and the optimizer state into `dir`.
  void Save(const std::string& dir);
  // Saves the run's checkpoint of `policy_version` (RUN_DIR/checkpoints),
  // complete or not at all.
  run::Checkpoint SaveCheckpoint(int64_t iteration, proto::PolicyVersion policy_version);

  model::Policy& policy() { return policy_; }
  TrainerOptimizer& optimizer() { return *optimizer_; }

 private:
  const config::Config& config_;
  weights::WeightSync& gradients_;
  model::Policy policy_;
  std::unique_ptr<TrainerOptimizer> optimizer_;
  model::Llama reference_{nullptr};
};

}  // namespace crescent::trainer
