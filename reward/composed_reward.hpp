// The reward of a sample as a run scores it: the configured functions
// (reward.functions) summed. The reward services and `crescent eval` both
// score through this, so that they give the same rewards.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "reward/reward_function.hpp"

namespace crescent::reward {

// reward: the sum of the functions' rewards; correct: every function says
// so; error: the functions' errors joined with "; ". A function that throws
// scores reward.failure_reward, not correct, with the exception's message as
// its error.
class ComposedReward : public RewardFunction {
 public:
  // The functions of config.reward.functions with the options of the
  // config's reward section. Throws std::runtime_error naming
  // reward.functions and where it was set when one cannot be made.
  explicit ComposedReward(const config::Config& config);

  Outcome Score(const std::string& prompt, const std::string& response,
                const std::map<std::string, std::string>& metadata) const override;

 private:
  RewardOptions options_;
  std::vector<std::unique_ptr<RewardFunction>> functions_;
};

}  // namespace crescent::reward
