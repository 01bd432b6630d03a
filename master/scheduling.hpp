// The master's scheduling rules, as pure functions of the replay buffer's
// state: which unfinished trajectories restart, how many new groups start,
// and which complete groups a step trains. The master applies them every
// iteration (master.cpp); `crescent bench partial` runs the same ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/proto/messages.hpp"
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

}  // namespace crescent::master
