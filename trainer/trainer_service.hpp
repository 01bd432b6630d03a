// The trainer role's contract: the requests a trainer serves.
#pragma once

#include "common/net/serve.hpp"
#include "common/proto/messages.hpp"

namespace crescent::trainer {

class TrainerService : public net::Service {
 public:
  // One optimizer step on this trainer's share of the batch (gradients
  // all-reduced among the trainers, the loss weighted by the share of
  // request.total_groups); the weights become request.new_policy_version.
  virtual proto::TrainResult Train(const proto::TrainRequest& request) = 0;
  // Broadcasts the weights of request.policy_version to every rollout worker
  // (the first trainer is the root; the others take part).
  virtual proto::WeightsSynced SyncWeights(const proto::SyncWeights& request) = 0;
  // Saves the run's checkpoint of request.policy_version (the first trainer
  // writes it and names its directory; the others only reply).
  virtual proto::CheckpointSaved SaveCheckpoint(const proto::SaveCheckpoint& request) = 0;

  std::optional<proto::Message> Answer(const proto::Message& request) final {
    return net::Route(*this, request, &TrainerService::Train, &TrainerService::SyncWeights,
                      &TrainerService::SaveCheckpoint);
  }
};

}  // namespace crescent::trainer
