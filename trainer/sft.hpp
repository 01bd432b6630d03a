// `crescent sft`: supervised warm start of the built-in model on the built-in
// task's worked answers, so that RL starts from a policy that sometimes
// succeeds. Saves the policy to RUN_DIR/sft.
#pragma once

#include "common/config/config.hpp"

namespace crescent::trainer {

// Returns the held-out accuracy of the saved policy.
double RunSft(const config::Config& config);

}  // namespace crescent::trainer
