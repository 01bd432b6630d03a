// The master's requests to the worker roles: work split over the workers of
// a role, sent over the cluster, each tracked by its request id with a
// deadline (cluster.request_timeout_s). A reply with an error, a request past
// its deadline, or a lost worker stops the job, naming the worker.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/proto/messages.hpp"
#include "master/cluster.hpp"
#include "master/requests.hpp"
#include "master/stop.hpp"

namespace crescent::master {

class WorkerPool {
 public:
  WorkerPool(const config::Config& config, Cluster& cluster, StopWatch& stop, env::Env* env);

  // Requests whose replies are awaited together.
  struct Batch {
    std::vector<uint64_t> ids;
    std::vector<RequestTracker::Request> done;  // after Wait, in posting order
  };
  void Post(Batch& batch, const std::string& peer, proto::Message request);
  // Waits for every reply of the batch. Throws naming the worker when a reply
  // carries an error or a request passes its deadline; when stopping, once
  // the grace period has run out.
  void Wait(Batch& batch);
  // The replies of type R, in posting order.
  template <class R>
  std::vector<const R*> Take(const Batch& batch) const;
  // Seconds until the last reply of type R arrived.
  template <class R>
  double Took(const Batch& batch) const;

  // Rollout workers: the tasks split over them.
  void PostGenerate(Batch& batch, std::vector<proto::GenerationTask> tasks);
  // Their samples; throws unless every worker generated with `version`.
  // `generated_with`, if given, gets each worker's policy version.
  std::vector<proto::Sample> TakeSamples(
      const Batch& batch, proto::PolicyVersion version,
      std::vector<proto::PolicyVersion>* generated_with = nullptr) const;
  std::vector<proto::Sample> Generate(std::vector<proto::GenerationTask> tasks,
                                      proto::PolicyVersion version);
  // Reward services: scores by trajectory id.
  std::map<uint64_t, proto::Score> Score(std::vector<proto::ScoreItem> items);
  // Trainers: one step on the groups, split over them.
  void PostTrain(Batch& batch, int64_t iteration, proto::PolicyVersion new_version,
                 std::vector<proto::TrainGroup> groups);
  // The trainers' statistics, averaged.
  std::map<std::string, double> TakeStats(const Batch& batch) const;
  // Trainers broadcast the weights of `version`; every rollout worker takes
  // them (all are idle now).
  void SyncWeights(proto::PolicyVersion version);
  // Trainers save the checkpoint of `version`; returns its directory.
  std::string SaveCheckpoint(int64_t iteration, proto::PolicyVersion version);

 private:
  const config::Config& config_;
  Cluster& cluster_;
  StopWatch& stop_;
  env::Env* env_;
  RequestTracker tracker_;
};

template <class R>
std::vector<const R*> WorkerPool::Take(const Batch& batch) const {
  std::vector<const R*> out;
  for (const auto& r : batch.done)
    if (const R* reply = std::get_if<R>(&*r.reply)) out.push_back(reply);
  return out;
}

template <class R>
double WorkerPool::Took(const Batch& batch) const {
  double s = 0;
  for (const auto& r : batch.done)
    if (std::holds_alternative<R>(*r.reply)) s = std::max(s, r.seconds);
  return s;
}

}  // namespace crescent::master
