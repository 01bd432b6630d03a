#include "master/group_assembly.hpp"

#include "reward/length_penalty.hpp"

namespace crescent::master {

proto::TrainGroup AssembleGroup(const replay::BufferState& state, const replay::Group& g,
                                const AssemblyOptions& o) {
  proto::TrainGroup group;
  group.prompt_id = g.prompt.id;
  std::vector<size_t> lengths;
  std::vector<bool> correct;
  for (uint64_t id : g.trajectories) {
    const replay::Trajectory& t = state.trajectories().at(id);
    proto::TrainSample s;
    s.trajectory_id = t.id;
    s.prompt_tokens = t.prompt_tokens;
    s.reward = t.reward;
    const bool masked = o.mask_truncated && t.finish == proto::FinishReason::kLength;
    for (const auto& seg : t.segments) {
      const bool in_loss = !masked && replay::SegmentInLoss(seg, o.policy_version, o.max_staleness);
      s.response_tokens.insert(s.response_tokens.end(), seg.tokens.begin(), seg.tokens.end());
      for (size_t i = 0; i < seg.tokens.size(); ++i) {
        s.behaviour_logprobs.push_back(i < seg.logprobs.size() ? seg.logprobs[i] : 0.0f);
        s.loss_mask.push_back(in_loss ? 1 : 0);
      }
    }
    lengths.push_back(s.response_tokens.size());
    correct.push_back(t.correct);
    group.samples.push_back(std::move(s));
  }
  if (o.length_weight > 0) {
    const std::vector<double> extra = reward::LengthPenalty(lengths, correct);
    for (size_t j = 0; j < extra.size(); ++j) group.samples[j].reward += o.length_weight * extra[j];
  }
  return group;
}

bool RewardsAllEqual(const replay::BufferState& state, const replay::Group& g) {
  const double first = state.trajectories().at(g.trajectories.front()).reward;
  for (uint64_t id : g.trajectories)
    if (state.trajectories().at(id).reward != first) return false;
  return true;
}

}  // namespace crescent::master
