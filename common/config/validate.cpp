// Rules between keys, checked once every key has its value.
#include <set>

#include "common/config/visitors.hpp"

namespace crescent::config::internal {

void Validate(const Config& c) {
  auto fail = [&c](const std::string& key, const std::string& what) {
    throw ConfigError(StrCat(key, ": ", what, " (", c.Where(key), ")"));
  };
  std::multiset<Role> order(c.cluster.rank_order.begin(), c.cluster.rank_order.end());
  std::multiset<Role> roles = {Role::kMaster, Role::kTrainer, Role::kRollout, Role::kReward};
  if (order != roles) {
    fail("cluster.rank_order", "expected each of master, trainer, rollout, reward exactly once");
  }
  if (c.task.arithmetic.max_level < c.task.arithmetic.min_level)
    fail("task.max_level", "expected >= task.min_level");
  if (c.task.name == task::SourceKind::kJsonl && c.task.prompts_file.empty()) {
    fail("task.prompts_file", "expected a file when task.name is jsonl");
  }
  if (c.model.heads % c.model.kv_heads != 0 || c.model.hidden_size % c.model.heads != 0) {
    fail("model.kv_heads", "expected heads divisible by kv_heads, hidden_size by heads");
  }
  if (c.rollout.budget >= c.rollout.max_response_tokens) {
    fail("rollout.budget", "expected less than rollout.max_response_tokens (or 0: off)");
  }
  if (c.trainer.overlap && c.rollout.max_staleness < 1) {
    fail("rollout.max_staleness",
         "expected >= 1 with trainer.overlap (what is trained was generated one policy version "
         "earlier)");
  }
  if (c.trainer.kl_coef > 0 && c.trainer.algorithm != Algorithm::kGrpo) {
    fail("trainer.kl_coef", "expected 0 unless trainer.algorithm is grpo");
  }
  if (c.cluster.link.heartbeat_timeout_s <= 2 * c.cluster.link.heartbeat_interval_s) {
    fail("cluster.heartbeat_timeout_s", "expected more than twice cluster.heartbeat_interval_s");
  }
}

}  // namespace crescent::config::internal
