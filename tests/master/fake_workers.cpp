#include "fake_workers.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace crescent::testing {

proto::GenerateResult FakeRollout::Generate(const proto::GenerateRequest& request) {
  ++requests;
  proto::GenerateResult result;
  result.policy_version = version;
  for (const auto& task : request.tasks) {
    const std::string& text = task.prompt.text;
    const size_t plus = text.find('+');
    const int sum = std::stoi(text.substr(0, plus)) + std::stoi(text.substr(plus + 1));
    std::string answer = std::to_string(sum);
    if (version == 0 && task.trajectory_id % 2 == 0) answer = "9";
    proto::Sample s;
    s.trajectory_id = task.trajectory_id;
    if (task.prompt_tokens.empty()) throw std::invalid_argument("a task without prompt tokens");
    s.prompt_tokens = task.prompt_tokens;
    prompts[text] = task.prompt_tokens;
    const size_t done = task.prefix.size();
    const size_t step = task.budget > 0 ? static_cast<size_t>(task.budget) : answer.size();
    const size_t end = std::min(answer.size(), done + step);
    for (size_t i = done; i < end; ++i) {
      s.tokens.push_back(answer[i]);
      s.logprobs.push_back(-0.25f);
    }
    s.text = answer.substr(0, end);
    s.finish_reason =
        end == answer.size() ? proto::FinishReason::kStop : proto::FinishReason::kBudget;
    s.policy_version = version;
    result.samples.push_back(std::move(s));
  }
  return result;
}

proto::WeightsSynced FakeRollout::SyncWeights(const proto::SyncWeights& request) {
  version = request.policy_version;
  return {0, version, 0, ""};
}

proto::ScoreResult FakeReward::Score(const proto::ScoreRequest& request) {
  proto::ScoreResult result;
  for (const auto& item : request.items) {
    const bool right = item.response == item.prompt.metadata.at("answer");
    result.scores.push_back({item.trajectory_id, right ? 1.0 : 0.0, right, ""});
  }
  return result;
}

proto::TrainResult FakeTrainer::Train(const proto::TrainRequest& request) {
  trained.push_back(request);
  proto::TrainResult result;
  result.policy_version = request.new_policy_version;
  result.stats = {{"loss", 0.5}};
  return result;
}

proto::WeightsSynced FakeTrainer::SyncWeights(const proto::SyncWeights& request) {
  version = request.policy_version;
  return {0, version, 0, ""};
}

proto::CheckpointSaved FakeTrainer::SaveCheckpoint(const proto::SaveCheckpoint& request) {
  if (request.policy_version != version) throw std::runtime_error("not the version held");
  checkpoints.push_back(request.policy_version);
  return {0, request.policy_version, "", 0, ""};
}

InProcessTransport::InProcessTransport(const net::JobContext& job,
                                       std::map<int, net::Service*> services, env::Env* env)
    : env_(env) {
  for (const auto& [rank, service] : services) {
    const std::string peer = net::PeerName(rank);
    services_[peer] = service;
    inbox_.push_back({peer, proto::Hello{config::RoleName(job.roles[rank]), rank, job.hosts[rank],
                                         1000 + rank}});
  }
}

void InProcessTransport::Send(const std::string& peer, const proto::Message& message) {
  if (std::holds_alternative<proto::Shutdown>(message)) {
    shutdowns.push_back(peer);
    return;
  }
  if (silent.count(peer)) return;
  std::optional<proto::Message> reply = services_.at(peer)->Answer(message);
  if (!reply) reply = proto::ErrorReply{proto::RequestIdOf(message), "not served"};
  inbox_.push_back({peer, std::move(*reply)});
}

std::optional<net::Incoming> InProcessTransport::Receive(std::chrono::milliseconds timeout) {
  if (inbox_.empty()) {
    env_->SleepForMicroseconds(std::chrono::microseconds(timeout).count());
    return std::nullopt;
  }
  net::Incoming in = std::move(inbox_.front());
  inbox_.pop_front();
  return in;
}

net::JobContext FourRankJob(const config::Config& config) {
  net::JobContext job;
  job.config = config;
  job.rank = 0;
  job.roles = {config::Role::kMaster, config::Role::kTrainer, config::Role::kRollout,
               config::Role::kReward};
  job.hosts.assign(4, "testhost");
  job.master_endpoint = "inproc://master";
  return job;
}

}  // namespace crescent::testing
