// One RL update of the policy from a batch of complete prompt groups.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/model/llama.hpp"
#include "common/proto/messages.hpp"
#include "common/weights/weight_sync.hpp"
#include "trainer/optimizer.hpp"

namespace crescent::trainer {

// Takes `steps_per_iteration` optimizer steps on the configured loss, with
// log pi_i (the Kimi loss's reference) taken from the current weights before
// the first update, each at the schedule's rate for `optimizer.step` (which
// counts them). Adam's state is dropped first when config.reset_optimizer.
// Each step runs in micro-batches of config.micro_batch_tokens tokens, with
// gradients accumulated: the same gradients as one batch.
// `reference`: the frozen reference model of GRPO's KL term (REQUIRES: set
// when config.kl_coef > 0). `groups` are this trainer's share of `total_groups`; the
// gradients of all trainers are summed through `gradients` (each weighted by
// its share) before each step. Returns statistics (loss, grad_norm of the last step;
// logp_change, the mean change of a sample's log-probability before the last
// step, when there is more than one step; lr; kl, GRPO's mean KL to the
// reference, when kl_coef > 0).
std::map<std::string, double> UpdatePolicy(model::Llama& model,
                                           const config::TrainerSection& config,
                                           const std::vector<proto::TrainGroup>& groups,
                                           int64_t total_groups, weights::WeightSync& gradients,
                                           TrainerOptimizer& optimizer,
                                           model::Llama* reference = nullptr);

}  // namespace crescent::trainer
