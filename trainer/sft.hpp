// `crescent sft`: supervised warm start of the built-in model on the built-in
// task's worked answers, so that RL starts from a policy that sometimes
// succeeds. Saves the policy to RUN_DIR/sft.
#pragma once

#include <cstdint>
#include <vector>

#include "common/config/config.hpp"
#include "common/model/policy.hpp"
#include "common/task/prompt_source.hpp"

namespace crescent::trainer {

// The worked examples SFT trains on: `source`'s training pool, in order,
// levels up to sft.max_level (0: all), then its first sft.examples (0: all).
std::vector<task::Prompt> SftPool(const config::Config& config, const task::PromptSource& source);

// One supervised step, as TrainSft took it.
struct SftStep {
  double loss = 0;       // mean negative log-likelihood of the batch's answer and eos tokens
  double grad_norm = 0;  // the gradient's global norm before clipping to sft.grad_clip
  int64_t rows = 0;      // rows drawn from the pool for the batch
};

// Takes sft.steps Adam steps on `policy` (rate sft.lr on SftSchedule), each
// on sft.batch_size rows drawn at random (seed sft.seed) from `pool`,
// clipping the gradient's global norm to sft.grad_clip; logs the mean loss
// every 100 steps and at the last. The parameters' gradients are left as the
// last step used them (clipped). REQUIRES: `pool` is not empty when
// sft.steps > 0.
std::vector<SftStep> TrainSft(model::Policy& policy, const std::vector<task::Prompt>& pool,
                              const config::Config& config);

// The whole command: refuses task.name other than arithmetic (the error
// names the key), trains on SftPool, saves. Returns the held-out accuracy of
// the saved policy.
double RunSft(const config::Config& config);

}  // namespace crescent::trainer
