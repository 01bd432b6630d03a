// The rollout role's contract: the requests a rollout worker serves.
// No LibTorch here: the master's tests serve it with fakes in-process.
#pragma once

#include "common/net/serve.hpp"
#include "common/proto/messages.hpp"

namespace crescent::rollout {

class RolloutService : public net::Service {
 public:
  // Generates every task of the request with the current weights: a new
  // response, or the continuation of `prefix` (a partial rollout), up to
  // `budget` new tokens. One Sample per task, in the request's order, each
  // with its tokens, their log-probs and the policy version that made them.
  virtual proto::GenerateResult Generate(const proto::GenerateRequest& request) = 0;
  // Enters the weight broadcast from the first trainer and takes the weights
  // of request.policy_version (between generation batches, never inside one).
  virtual proto::WeightsSynced SyncWeights(const proto::SyncWeights& request) = 0;

  std::optional<proto::Message> Answer(const proto::Message& request) final {
    return net::Route(*this, request, &RolloutService::Generate, &RolloutService::SyncWeights);
  }
};

}  // namespace crescent::rollout
