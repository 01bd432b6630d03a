#include "master/scheduling.hpp"

#include <algorithm>

#include "common/util/log.hpp"

namespace crescent::master {

using replay::GroupState;

std::vector<replay::Change> RestartStale(const replay::BufferState& state,
                                         proto::PolicyVersion current, int64_t max_staleness,
                                         int64_t iteration, uint64_t& next_id) {
  std::vector<replay::Change> changes;
  for (const auto& [id, t] : state.trajectories()) {
    if (t.finished()) continue;
    for (const auto& s : t.segments) {
      if (s.source != replay::SegmentSource::kPolicy || current - s.policy_version <= max_staleness)
        continue;
      changes.push_back(replay::RestartTrajectory{
          id, next_id++,
          StrCat("stale: a segment from policy version ", s.policy_version, " at version ", current,
                 " (rollout.max_staleness ", max_staleness, ")"),
          iteration});
      break;
    }
  }
  return changes;
}

size_t GroupsToStart(const replay::BufferState& state, size_t groups_per_step, bool overlap,
                     size_t replace) {
  size_t ready = 0;
  for (const auto& [id, g] : state.groups()) ready += g.state == GroupState::kReady;
  const size_t left = overlap ? ready - std::min(ready, groups_per_step) : ready;
  return groups_per_step - std::min(left, groups_per_step) + replace;
}

std::vector<replay::Change> StartGroups(const replay::BufferState& state,
                                        const std::vector<proto::Prompt>& prompts, int64_t k,
                                        int64_t iteration, uint64_t& next_id) {
  std::vector<replay::Change> changes;
  uint64_t group_id = state.next_group_id();
  for (const proto::Prompt& prompt : prompts) {
    replay::StartGroup g{group_id++, prompt, iteration, {}};
    for (int64_t j = 0; j < k; ++j) g.trajectory_ids.push_back(next_id++);
    changes.push_back(std::move(g));
  }
  return changes;
}

std::vector<uint64_t> GroupsToTrain(const replay::BufferState& state, size_t groups_per_step) {
  std::vector<uint64_t> ids;
  for (const auto& [id, g] : state.groups()) {
    if (ids.size() >= groups_per_step) break;
    if (g.state == GroupState::kReady) ids.push_back(id);
  }
  return ids;
}

}  // namespace crescent::master
