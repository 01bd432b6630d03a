// In-process fakes of the three worker roles, served through their real
// contracts (RolloutService, RewardService, TrainerService), and a transport
// that hands the master's requests to them: a whole master in one process.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/env/env.hpp"
#include "common/net/job.hpp"
#include "common/net/transport.hpp"
#include "reward/reward_service.hpp"
#include "rollout/rollout_service.hpp"
#include "trainer/trainer_service.hpp"

namespace crescent::testing {

// Answers "a+b=" with the sum, one digit per request (a budget of one
// token), then stops; from policy version 1 on it answers right, before
// that it answers 9 to every other prompt.
class FakeRollout : public rollout::RolloutService {
 public:
  proto::GenerateResult Generate(const proto::GenerateRequest& request) override;
  proto::WeightsSynced SyncWeights(const proto::SyncWeights& request) override;
  proto::PolicyVersion version = 0;
  size_t requests = 0;
  std::map<std::string, std::vector<int32_t>>
      prompts;  // the prompt tokens each prompt text came with
};

// 1 when the response equals metadata "answer", else 0.
class FakeReward : public reward::RewardService {
 public:
  proto::ScoreResult Score(const proto::ScoreRequest& request) override;
};

// Records what it is asked to train; a step moves no weights.
class FakeTrainer : public trainer::TrainerService {
 public:
  proto::TrainResult Train(const proto::TrainRequest& request) override;
  proto::WeightsSynced SyncWeights(const proto::SyncWeights& request) override;
  proto::CheckpointSaved SaveCheckpoint(const proto::SaveCheckpoint& request) override;
  std::vector<proto::TrainRequest> trained;
  std::vector<proto::PolicyVersion> checkpoints;
  proto::PolicyVersion version = 0;
};

// The master's transport to in-process services: every request is answered
// at once by the peer's service (an ErrorReply when it serves no such
// request); peers in `silent` never answer. Every peer says hello first.
// Waiting for a message sleeps through `env` (a fake clock advances).
class InProcessTransport : public net::MasterTransport {
 public:
  InProcessTransport(const net::JobContext& job, std::map<int, net::Service*> services,
                     env::Env* env = env::Env::Posix());
  const std::string& endpoint() const override { return endpoint_; }
  void Send(const std::string& peer, const proto::Message& message) override;
  std::optional<net::Incoming> Receive(std::chrono::milliseconds timeout) override;
  double SilenceSeconds(const std::string& peer) const override { return 0; }
  void HeartbeatPeers(const std::vector<std::string>& peers) override {}

  std::set<std::string> silent;
  std::vector<std::string> shutdowns;  // peers told to shut down

 private:
  env::Env* env_;
  std::string endpoint_ = "inproc://master";
  std::map<std::string, net::Service*> services_;
  std::deque<net::Incoming> inbox_;
};

// A job of one master (rank 0), trainer (1), rollout worker (2) and reward
// service (3) on host "testhost", with `config`.
net::JobContext FourRankJob(const config::Config& config);

}  // namespace crescent::testing
