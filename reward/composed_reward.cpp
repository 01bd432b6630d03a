#include "reward/composed_reward.hpp"

#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::reward {

ComposedReward::ComposedReward(const config::Config& config)
    : options_(RewardOptionsOf(config.reward)) {
  for (const auto& name : config.reward.functions) {
    try {
      functions_.push_back(MakeRewardFunction(name, options_));
    } catch (const std::exception& e) {
      throw std::runtime_error(
          StrCat("reward.functions: ", e.what(), " (", config.Where("reward.functions"), ")"));
    }
  }
}

Outcome ComposedReward::Score(const std::string& prompt, const std::string& response,
                              const std::map<std::string, std::string>& metadata) const {
  Outcome sum;
  sum.correct = true;
  for (const auto& f : functions_) {
    Outcome o;
    try {
      o = f->Score(prompt, response, metadata);
    } catch (const std::exception& e) {
      o = {options_.failure_reward, false, e.what()};
    }
    sum.reward += o.reward;
    sum.correct = sum.correct && o.correct;
    if (!o.error.empty()) sum.error += (sum.error.empty() ? "" : "; ") + o.error;
  }
  return sum;
}

}  // namespace crescent::reward
