// The job's workers as the master sees them: who each is (role, rank, host,
// pid), whether it is alive, and the one place their messages come in.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net/job.hpp"
#include "common/net/transport.hpp"
#include "master/clock.hpp"

namespace crescent::master {

class Cluster {
 public:
  Cluster(const net::JobContext& job, net::MasterTransport& transport, env::Env* env);

  // Waits until every worker rank has said hello as the role the config
  // gives it. Throws naming the ranks still missing after
  // cluster.startup_timeout_s, or a rank that says it is another role.
  void WaitForHellos();
  // One message within `timeout`, keeping the heartbeats going. Throws when a
  // worker sent a WorkerError, or has been silent for longer than
  // cluster.worker_lost_after_s (naming it); logs one that is silent for
  // longer than cluster.heartbeat_timeout_s, and when it is heard again.
  std::optional<net::Incoming> Receive(std::chrono::milliseconds timeout);
  void Send(const std::string& peer, const proto::Message& message);
  void ShutdownAll(const std::string& reason);

  // The workers of `role`, in rank order (routing ids, "rank-3").
  const std::vector<std::string>& Workers(config::Role role) const;
  // "rollout worker rank 3 on host node2 (pid 1234)"
  std::string Describe(const std::string& peer) const;
  const std::string& endpoint() const { return transport_.endpoint(); }

 private:
  void CheckLiveness();

  const net::JobContext& job_;
  net::MasterTransport& transport_;
  env::Env* env_;
  std::vector<std::string> peers_;
  std::map<std::string, int> rank_of_;
  std::map<config::Role, std::vector<std::string>> by_role_;
  std::map<std::string, int> pids_;
  std::vector<std::string> connected_;
  std::set<std::string> unresponsive_;
};

}  // namespace crescent::master
