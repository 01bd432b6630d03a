// The master's scheduling rules, as pure functions of the replay buffer's
// state: which unfinished trajectories restart, how many new groups start,
// what generates (new and continued trajectories), which complete groups a
// step trains, and which carry no signal. The master applies them every
// iteration (master.cpp); `crescent bench partial` runs the same ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/config/config.hpp"
#include "common/proto/messages.hpp"
#include "master/group_assembly.hpp"
#include "replay/buffer.hpp"

namespace crescent::master {

// rollout.stale_policy restart: every unfinished trajectory with a policy
// segment more than max_staleness versions older than `current` is replaced
// by a fresh one, numbered from next_id on (advanced past them).
std::vector<replay::Change> RestartStale(const replay::BufferState& state,
                                         proto::PolicyVersion current, int64_t max_staleness,
                                         int64_t iteration, uint64_t& next_id);

// How many new groups keep B = groups_per_step coming: B less the complete
// groups that no step of this iteration takes (with overlap, the step takes
// up to B of them while the new ones generate), plus `replace` (groups
// dropped since the last draw, replaced on top).
size_t GroupsToStart(const replay::BufferState& state, size_t groups_per_step, bool overlap,
                     size_t replace);

// One group of k new trajectories per prompt, group ids from the state's
// next one, trajectory ids from next_id on (advanced past them).
std::vector<replay::Change> StartGroups(const replay::BufferState& state,
                                        const std::vector<proto::Prompt>& prompts, int64_t k,
                                        int64_t iteration, uint64_t& next_id);

// The groups one step trains: the oldest complete ones, at most B.
std::vector<uint64_t> GroupsToTrain(const replay::BufferState& state, size_t groups_per_step);

// A generation task for `prompt` under the rollout section's limits and
// sampling settings (no prefix, no seed).
proto::GenerationTask NewTask(const config::RolloutSection& rollout, uint64_t id,
                              const proto::Prompt& prompt);

// What generates this iteration: every unfinished trajectory, continued from
// its tokens so far, its sampling seed a function of run_seed, its id and its
// segment count (so a resumed run samples what it would have).
std::vector<proto::GenerationTask> TasksToGenerate(const replay::BufferState& state,
                                                   const config::RolloutSection& rollout,
                                                   int64_t run_seed);

// A step's batch: the groups GroupsToTrain picks, assembled (AssembleGroup),
// and what they scored.
struct TrainBatch {
  std::vector<uint64_t> ids;
  std::vector<proto::TrainGroup> groups;
  double reward_sum = 0, length_reward_sum = 0, correct = 0, tokens = 0, samples = 0;
};
TrainBatch PickBatch(const replay::BufferState& state, size_t groups_per_step,
                     const AssemblyOptions& options);

// trainer.drop_equal_reward_groups: of the groups just completed, those
// whose k rewards are all equal leave for the ledger as dropped, with the
// reason.
std::vector<replay::Change> DropEqualRewardGroups(const replay::BufferState& state,
                                                  const std::vector<uint64_t>& completed,
                                                  int64_t iteration);

}  // namespace crescent::master
