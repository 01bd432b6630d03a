// A reward function from a user's shared library (see reward/plugin_abi.h),
// each call run in a forked child with a time limit. Internal to
// crescent_reward: callers use MakeRewardFunction(path).
#pragma once

#include <memory>
#include <string>

#include "reward/reward_function.hpp"

namespace crescent::reward {

// Loads `path` (dlopen, RTLD_NOW) and resolves crescent_reward. Throws
// std::runtime_error naming the file when either fails.
std::unique_ptr<RewardFunction> LoadPluginReward(const std::string& path,
                                                 const RewardOptions& options);

}  // namespace crescent::reward
