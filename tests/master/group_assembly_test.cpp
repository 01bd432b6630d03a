// What the trainers are sent for a complete group: the k1.5 length reward
// once it applies, responses cut by length masked when asked, stale segments
// masked; and which groups have equal rewards.
#include "master/group_assembly.hpp"

#include <catch2/catch.hpp>
#include <cmath>

using namespace crescent;
using replay::BufferState;
using replay::FinishReason;

namespace {

// A ready group of four trajectories with responses of `lengths` tokens
// (one segment each, from policy version `version`), scored `rewards`.
BufferState ReadyGroup(const std::vector<size_t>& lengths, const std::vector<double>& rewards,
                       const std::vector<FinishReason>& finishes,
                       proto::PolicyVersion version = 0) {
  BufferState state;
  replay::StartGroup start{1, {"p", "2+2=", {{"answer", "4"}}}, 1, {}};
  for (size_t j = 0; j < lengths.size(); ++j) start.trajectory_ids.push_back(j + 1);
  state.ApplyChange(start);
  for (size_t j = 0; j < lengths.size(); ++j) {
    replay::AddSegment add;
    add.trajectory_id = j + 1;
    add.prompt_tokens = {1, 2, 3};
    add.segment.tokens.assign(lengths[j], 7);
    add.segment.logprobs.assign(lengths[j], -0.5f);
    add.segment.policy_version = version;
    add.finish = finishes[j];
    state.ApplyChange(add);
    state.ApplyChange(replay::ScoreTrajectory{j + 1, rewards[j], rewards[j] > 0});
  }
  REQUIRE(state.groups().at(1).state == replay::GroupState::kReady);
  return state;
}

const std::vector<FinishReason> kStops(4, FinishReason::kStop);

}  // namespace

TEST_CASE("the length reward is added as k1.5's formula says", "[master]") {
  // Lengths 2, 4, 6, 10: lambda = 0.5 - (len - 2) / 8 = 0.5, 0.25, 0, -0.5.
  // Correct responses get lambda, wrong ones min(0, lambda).
  const BufferState state = ReadyGroup({2, 4, 6, 10}, {1, 0, 1, 1}, kStops);
  master::AssemblyOptions o;
  o.length_weight = 0.2;
  const proto::TrainGroup g = master::AssembleGroup(state, state.groups().at(1), o);
  REQUIRE(g.samples.size() == 4);
  CHECK(g.samples[0].reward == Approx(1 + 0.2 * 0.5));
  CHECK(g.samples[1].reward == Approx(0 + 0.2 * 0.0));  // wrong: min(0, 0.25)
  CHECK(g.samples[2].reward == Approx(1 + 0.2 * 0.0));
  CHECK(g.samples[3].reward == Approx(1 - 0.2 * 0.5));

  o.length_weight = 0;  // before its warm-up is over, or off
  const proto::TrainGroup plain = master::AssembleGroup(state, state.groups().at(1), o);
  for (size_t j = 0; j < 4; ++j)
    CHECK(plain.samples[j].reward == state.trajectories().at(j + 1).reward);
}

TEST_CASE("equal lengths give no length reward", "[master]") {
  const BufferState state = ReadyGroup({3, 3, 3, 3}, {1, 0, 1, 0}, kStops);
  master::AssemblyOptions o;
  o.length_weight = 1;
  const proto::TrainGroup g = master::AssembleGroup(state, state.groups().at(1), o);
  for (size_t j = 0; j < 4; ++j) CHECK(g.samples[j].reward == (j % 2 == 0 ? 1.0 : 0.0));
}

TEST_CASE("responses cut by length carry no loss with mask_truncated", "[master]") {
  const BufferState state = ReadyGroup(
      {2, 8, 3, 8}, {1, 0, 1, 0},
      {FinishReason::kStop, FinishReason::kLength, FinishReason::kStop, FinishReason::kLength});
  master::AssemblyOptions o;
  for (bool masked : {false, true}) {
    INFO("mask_truncated " << masked);
    o.mask_truncated = masked;
    const proto::TrainGroup g = master::AssembleGroup(state, state.groups().at(1), o);
    for (size_t j = 0; j < 4; ++j) {
      const bool cut = j % 2 == 1;
      REQUIRE(g.samples[j].loss_mask.size() == g.samples[j].response_tokens.size());
      for (uint8_t m : g.samples[j].loss_mask) CHECK(m == (masked && cut ? 0 : 1));
      CHECK(g.samples[j].behaviour_logprobs ==
            std::vector<float>(g.samples[j].response_tokens.size(), -0.5f));
    }
  }
}

TEST_CASE("segments older than max_staleness carry no loss", "[master]") {
  const BufferState state = ReadyGroup({2, 2, 2, 2}, {1, 0, 1, 0}, kStops, /*version=*/1);
  master::AssemblyOptions o;
  o.policy_version = 4;
  o.max_staleness = 3;
  CHECK(master::AssembleGroup(state, state.groups().at(1), o).samples[0].loss_mask ==
        std::vector<uint8_t>{1, 1});
  o.max_staleness = 2;
  CHECK(master::AssembleGroup(state, state.groups().at(1), o).samples[0].loss_mask ==
        std::vector<uint8_t>{0, 0});
}

TEST_CASE("groups whose rewards are all equal are found", "[master]") {
  CHECK(master::RewardsAllEqual(ReadyGroup({1, 2, 3, 4}, {0, 0, 0, 0}, kStops),
                                ReadyGroup({1, 2, 3, 4}, {0, 0, 0, 0}, kStops).groups().at(1)));
  const BufferState ones = ReadyGroup({1, 2, 3, 4}, {1, 1, 1, 1}, kStops);
  CHECK(master::RewardsAllEqual(ones, ones.groups().at(1)));
  const BufferState mixed = ReadyGroup({1, 2, 3, 4}, {1, 1, 0.5, 1}, kStops);
  CHECK_FALSE(master::RewardsAllEqual(mixed, mixed.groups().at(1)));
}
