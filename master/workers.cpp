#include "master/workers.hpp"

#include <set>
#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::master {
namespace {

// Splits `items` into `parts` nearly equal consecutive runs.
template <class T>
std::vector<std::vector<T>> Split(std::vector<T> items, size_t parts) {
  std::vector<std::vector<T>> out(parts);
  size_t base = items.size() / parts, extra = items.size() % parts, next = 0;
  for (size_t p = 0; p < parts; ++p) {
    size_t n = base + (p < extra ? 1 : 0);
    for (size_t i = 0; i < n; ++i) out[p].push_back(std::move(items[next++]));
  }
  return out;
}

}  // namespace

WorkerPool::WorkerPool(const config::Config& config, Cluster& cluster, StopWatch& stop,
                       env::Env* env)
    : config_(config),
      cluster_(cluster),
      stop_(stop),
      env_(env),
      tracker_(std::chrono::duration<double>(config.cluster.request_timeout_s)) {}

void WorkerPool::Post(Batch& batch, const std::string& peer, proto::Message request) {
  batch.ids.push_back(tracker_.Sent(peer, request, Now(env_)));
  cluster_.Send(peer, request);
}

void WorkerPool::Wait(Batch& batch) {
  auto answered = [&] {
    for (uint64_t id : batch.ids)
      if (!tracker_.Answered(id)) return false;
    return true;
  };
  while (!answered()) {
    for (const auto& r : tracker_.Overdue(Now(env_))) {
      throw std::runtime_error(StrCat("no reply from ", cluster_.Describe(r.peer), " to ", r.name,
                                      " ", r.id, " within ", config_.cluster.request_timeout_s,
                                      " s (cluster.request_timeout_s)"));
    }
    if (stop_.Stopping()) {
      for (uint64_t id : batch.ids)
        if (!tracker_.Answered(id)) stop_.CheckGrace(StrCat("the reply to request ", id));
    }
    std::optional<net::Incoming> in = cluster_.Receive(std::chrono::milliseconds(200));
    if (!in) continue;
    const std::string name = proto::MessageName(in->message);
    const std::string error = proto::ErrorOf(in->message);
    const std::string why = tracker_.Received(in->peer, std::move(in->message), Now(env_));
    if (!why.empty()) {
      LogWarn("ignored ", name, " from ", cluster_.Describe(in->peer), ": ", why);
      continue;
    }
    if (!error.empty())
      throw std::runtime_error(StrCat(cluster_.Describe(in->peer), ": ", name, ": ", error));
  }
  for (uint64_t id : batch.ids) batch.done.push_back(tracker_.Take(id));
  batch.ids.clear();
}

void WorkerPool::PostGenerate(Batch& batch, std::vector<proto::GenerationTask> tasks) {
  const auto& workers = cluster_.Workers(config::Role::kRollout);
  auto shares = Split(std::move(tasks), workers.size());
  for (size_t w = 0; w < workers.size(); ++w)
    Post(batch, workers[w], proto::GenerateRequest{0, std::move(shares[w])});
}

std::vector<proto::Sample> WorkerPool::TakeSamples(
    const Batch& batch, proto::PolicyVersion version,
    std::vector<proto::PolicyVersion>* generated_with) const {
  std::vector<proto::Sample> out;
  for (const proto::GenerateResult* result : Take<proto::GenerateResult>(batch)) {
    // Weights change only between generation batches, all at once.
    if (result->policy_version != version) {
      throw std::runtime_error(StrCat("a rollout worker generated with policy version ",
                                      result->policy_version, ", the current one is ", version));
    }
    if (generated_with) generated_with->push_back(result->policy_version);
    out.insert(out.end(), result->samples.begin(), result->samples.end());
  }
  return out;
}

std::vector<proto::Sample> WorkerPool::Generate(std::vector<proto::GenerationTask> tasks,
                                                proto::PolicyVersion version) {
  Batch batch;
  PostGenerate(batch, std::move(tasks));
  Wait(batch);
  return TakeSamples(batch, version);
}

std::map<uint64_t, proto::Score> WorkerPool::Score(std::vector<proto::ScoreItem> items) {
  std::set<uint64_t> sent;
  for (const auto& item : items) sent.insert(item.trajectory_id);
  const auto& services = cluster_.Workers(config::Role::kReward);
  auto shares = Split(std::move(items), services.size());
  Batch batch;
  for (size_t w = 0; w < services.size(); ++w)
    Post(batch, services[w], proto::ScoreRequest{0, std::move(shares[w])});
  Wait(batch);
  std::map<uint64_t, proto::Score> scores;
  for (const proto::ScoreResult* result : Take<proto::ScoreResult>(batch)) {
    for (const proto::Score& score : result->scores) {
      if (!score.error.empty()) {
        LogWarn("reward for trajectory ", score.trajectory_id, ": ", score.error);
      }
      if (!sent.count(score.trajectory_id)) {
        throw std::runtime_error(StrCat("a reward service scored trajectory ", score.trajectory_id,
                                        ", which it was not sent"));
      }
      scores[score.trajectory_id] = score;
    }
  }
  return scores;
}

void WorkerPool::PostTrain(Batch& batch, int64_t iteration, proto::PolicyVersion new_version,
                           std::vector<proto::TrainGroup> groups) {
  const auto& trainers = cluster_.Workers(config::Role::kTrainer);
  const int64_t total = static_cast<int64_t>(groups.size());
  auto shares = Split(std::move(groups), trainers.size());
  for (size_t w = 0; w < trainers.size(); ++w) {
    proto::TrainRequest request;
    request.iteration = iteration;
    request.new_policy_version = new_version;
    request.total_groups = total;
    request.groups = std::move(shares[w]);
    Post(batch, trainers[w], std::move(request));
  }
}

std::map<std::string, double> WorkerPool::TakeStats(const Batch& batch) const {
  std::map<std::string, double> stats;
  const auto results = Take<proto::TrainResult>(batch);
  for (const proto::TrainResult* result : results)
    for (const auto& [k, v] : result->stats) stats[k] += v / results.size();
  return stats;
}

void WorkerPool::SyncWeights(proto::PolicyVersion version) {
  Batch batch;
  for (auto role : {config::Role::kTrainer, config::Role::kRollout})
    for (const auto& peer : cluster_.Workers(role))
      Post(batch, peer, proto::SyncWeights{0, version});
  Wait(batch);
  for (const proto::WeightsSynced* reply : Take<proto::WeightsSynced>(batch)) {
    if (reply->policy_version != version) {
      throw std::runtime_error(StrCat("weight sync: a worker reports version ",
                                      reply->policy_version, ", expected ", version));
    }
  }
}

std::string WorkerPool::SaveCheckpoint(int64_t iteration, proto::PolicyVersion version) {
  Batch batch;
  for (const auto& peer : cluster_.Workers(config::Role::kTrainer))
    Post(batch, peer, proto::SaveCheckpoint{0, iteration, version});
  Wait(batch);
  std::string dir;
  for (const proto::CheckpointSaved* reply : Take<proto::CheckpointSaved>(batch))
    if (!reply->dir.empty()) dir = reply->dir;
  return dir;
}

}  // namespace crescent::master
