// How the master turns the replay buffer's complete groups into what the
// trainers train on, and which groups carry no learning signal. Pure
// functions of the buffer's state.
#pragma once

#include <cstdint>

#include "common/proto/messages.hpp"
#include "replay/buffer.hpp"

namespace crescent::master {

struct AssemblyOptions {
  proto::PolicyVersion policy_version = 0;  // the version being trained
  int64_t max_staleness = 0;                // rollout.max_staleness: older segments carry no loss
  bool mask_truncated = false;              // responses cut by length carry no loss
  double length_weight = 0;                 // weight of the k1.5 length reward; 0: none
};

// The k samples of a ready group: response tokens, behaviour log-probs and
// loss mask of each trajectory, and its reward plus
// length_weight * LengthPenalty(lengths, correct) over the group
// (docs/training.md, "The length penalty").
proto::TrainGroup AssembleGroup(const replay::BufferState& state, const replay::Group& group,
                                const AssemblyOptions& options);

// True when the group's k rewards are all equal (its advantages are all 0).
bool RewardsAllEqual(const replay::BufferState& state, const replay::Group& group);

}  // namespace crescent::master
