#include "trainer/trainer.hpp"

#include "trainer/lr_schedule.hpp"
#include "trainer/policy_update.hpp"

namespace crescent::trainer {

Trainer::Trainer(const config::Config& config, const run::Checkpoint& start,
                 weights::WeightSync& gradients)
    : config_(config), gradients_(gradients), policy_(model::LoadPolicy(start.dir)) {
  policy_.model->set_activation_checkpointing(config.trainer.activation_checkpointing);
  optimizer_ = std::make_unique<TrainerOptimizer>(policy_.model->parameters(), RlSchedule(config));
  if (start.policy_version > 0) LoadOptimizer(*optimizer_, OptimizerPath(start.dir));
  if (config.trainer.kl_coef > 0) {
    reference_ = model::LoadPolicy(run::InitialPolicyDir(config)).model;
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
}

std::map<std::string, double> Trainer::Train(const std::vector<proto::TrainGroup>& groups,
                                             int64_t total_groups) {
  return UpdatePolicy(policy_.model, config_.trainer, groups, total_groups, gradients_, *optimizer_,
                      reference_ ? &reference_ : nullptr);
}

void Trainer::Save(const std::string& dir) {
  model::SavePolicy(policy_, dir);
  SaveOptimizer(*optimizer_, OptimizerPath(dir));
}

run::Checkpoint Trainer::SaveCheckpoint(int64_t iteration, proto::PolicyVersion policy_version) {
  const std::string staged = run::StageCheckpoint(config_.run.dir, policy_version);
  Save(staged);
  return run::PublishCheckpoint(config_.run.dir, staged, iteration, policy_version);
}

}  // namespace crescent::trainer
