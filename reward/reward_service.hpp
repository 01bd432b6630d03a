// The reward role's contract: the requests a reward service serves.
#pragma once

#include "common/net/serve.hpp"
#include "common/proto/messages.hpp"

namespace crescent::reward {

class RewardService : public net::Service {
 public:
  // Scores every item (prompt with its metadata, decoded response) with the
  // configured reward functions (ComposedReward). A reward function that
  // fails costs its sample (its entry's fallback, the reason in
  // Score::error), never the request.
  virtual proto::ScoreResult Score(const proto::ScoreRequest& request) = 0;

  std::optional<proto::Message> Answer(const proto::Message& request) final {
    return net::Route(*this, request, &RewardService::Score);
  }
};

}  // namespace crescent::reward
