// The reward of a sample as a run scores it: the configured functions
// (reward.functions, or the sample's domain's list in reward.domains),
// weighted and summed. The reward services, `crescent eval` and `crescent
// reward eval` all score through this, so that they give the same rewards.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/config/config.hpp"
#include "reward/reward_function.hpp"

namespace crescent::reward {

// What ComposedReward says of a sample.
struct Composed {
  double reward = 0;     // sum of weight * (the function's reward, or its fallback when it failed)
  bool correct = false;  // every function that judges correctness says so (none: reward > 0)
  std::string error;     // the failed functions' errors joined with "; "
  std::string details;   // JSON object: function name -> {"reward", "correct", "error", ...}
  std::vector<std::string> failed;  // the names of the functions that failed
};

class ComposedReward {
 public:
  // The functions of config.reward.functions and config.reward.domains with
  // the options of the config's reward section. Throws std::runtime_error
  // naming the key and where it was set when one cannot be made (an unknown
  // name, a plug-in that does not load, a command that is not found, a bad
  // pattern).
  explicit ComposedReward(const config::Config& config);
  ~ComposedReward();

  // A function that fails (or throws) scores its entry's fallback (else
  // reward.failure_reward) and is not correct.
  Composed Score(const task::Prompt& prompt, const std::string& response) const;

  // (prompt, response) pairs, scored as Score does. A function that can
  // (RewardFunction::concurrent: `code`) scores its samples on up to
  // `threads` threads at once; the others score theirs one at a time.
  using Sample = std::pair<const task::Prompt*, const std::string*>;
  std::vector<Composed> ScoreBatch(const std::vector<Sample>& samples, int64_t threads) const;

 private:
  struct Entry {
    std::string name;  // unique within its list: "regex", "regex#2", ...
    double weight;
    double fallback;
    std::unique_ptr<RewardFunction> function;
  };
  const std::vector<Entry>& EntriesFor(const task::Prompt& prompt) const;
  // One sample's reward from its functions' outcomes (failures given their
  // fallbacks).
  static Composed Combine(const std::vector<Entry>& entries, std::vector<Outcome>& outcomes);

  std::vector<Entry> defaults_;
  std::map<std::string, std::vector<Entry>> domains_;
};

}  // namespace crescent::reward
