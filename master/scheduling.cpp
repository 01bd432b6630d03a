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

proto::GenerationTask NewTask(const config::RolloutSection& rc, uint64_t id,
                              const proto::Prompt& prompt) {
  proto::GenerationTask task;
  task.trajectory_id = id;
  task.prompt = prompt;
  task.max_response_tokens = static_cast<int32_t>(rc.max_response_tokens);
  task.budget = static_cast<int32_t>(rc.budget);
  task.sampling.temperature = static_cast<float>(rc.temperature);
  task.sampling.top_k = static_cast<int32_t>(rc.top_k);
  task.sampling.top_p = static_cast<float>(rc.top_p);
  task.stop_strings = rc.stop_strings;
  task.repeat_ngram = static_cast<int32_t>(rc.repeat_ngram);
  task.repeat_count = static_cast<int32_t>(rc.repeat_count);
  return task;
}

std::vector<proto::GenerationTask> TasksToGenerate(const replay::BufferState& state,
                                                   const config::RolloutSection& rollout,
                                                   int64_t run_seed) {
  std::vector<proto::GenerationTask> tasks;
  for (const auto& [id, t] : state.trajectories()) {
    if (t.finished()) continue;
    proto::GenerationTask task = NewTask(rollout, id, state.groups().at(t.group_id).prompt);
    for (const auto& s : t.segments)
      task.prefix.insert(task.prefix.end(), s.tokens.begin(), s.tokens.end());
    task.sampling.seed =
        static_cast<uint64_t>(run_seed) * 1000003u + id * 7919u + t.segments.size();
    tasks.push_back(std::move(task));
  }
  return tasks;
}

TrainBatch PickBatch(const replay::BufferState& state, size_t groups_per_step,
                     const AssemblyOptions& options) {
  TrainBatch batch;
  for (uint64_t id : GroupsToTrain(state, groups_per_step)) {
    const replay::Group& g = state.groups().at(id);
    proto::TrainGroup group = AssembleGroup(state, g, options);
    for (size_t j = 0; j < group.samples.size(); ++j) {
      const replay::Trajectory& t = state.trajectories().at(g.trajectories[j]);
      batch.reward_sum += t.reward;
      batch.length_reward_sum += group.samples[j].reward - t.reward;
      batch.correct += t.correct;
      batch.tokens += group.samples[j].response_tokens.size();
      ++batch.samples;
    }
    batch.groups.push_back(std::move(group));
    batch.ids.push_back(id);
  }
  return batch;
}

std::vector<replay::Change> DropEqualRewardGroups(const replay::BufferState& state,
                                                  const std::vector<uint64_t>& completed,
                                                  int64_t iteration) {
  std::vector<replay::Change> changes;
  for (uint64_t id : completed) {
    const replay::Group& g = state.groups().at(id);
    if (!RewardsAllEqual(state, g)) continue;
    changes.push_back(
        replay::DropGroup{id,
                          StrCat("all ", g.trajectories.size(), " rewards equal ",
                                 state.trajectories().at(g.trajectories.front()).reward,
                                 " (trainer.drop_equal_reward_groups)"),
                          iteration});
  }
  return changes;
}

}  // namespace crescent::master
