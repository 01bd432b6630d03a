#include "common/net/job.hpp"

#include <unistd.h>

#include "common/util/log.hpp"

namespace crescent::net {

std::string JobContext::Describe(int r) const {
  const char* kind = "";
  switch (roles[r]) {
    case config::Role::kMaster:
      kind = "master";
      break;
    case config::Role::kTrainer:
      kind = "trainer";
      break;
    case config::Role::kRollout:
      kind = "rollout worker";
      break;
    case config::Role::kReward:
      kind = "reward service";
      break;
  }
  return StrCat(kind, " rank ", r, " on host ", hosts[r]);
}

LinkOptions JobContext::link_options() const {
  LinkOptions o;
  o.heartbeat_interval_s = config.cluster.heartbeat_interval_s;
  o.heartbeat_timeout_s = config.cluster.heartbeat_timeout_s;
  o.max_payload_bytes = static_cast<size_t>(config.cluster.max_message_mb) << 20;
  return o;
}

int ServeWorker(const JobContext& job, const RequestHandler& handle) {
  proto::Hello hello{config::RoleName(job.role()), job.rank, job.hosts[job.rank],
                     static_cast<int32_t>(getpid())};
  WorkerLink link(job.master_endpoint, hello, job.link_options());
  while (true) {
    std::optional<proto::Message> message = link.Receive(std::chrono::milliseconds(200));
    if (!message) {
      if (!link.MasterAlive()) {
        LogError("the master (", job.master_endpoint, ") has been silent for more than ",
                 job.config.cluster.heartbeat_timeout_s, " s: exiting");
        return 3;
      }
      continue;
    }
    if (auto* shutdown = std::get_if<proto::Shutdown>(&*message)) {
      LogInfo("shutting down: ", shutdown->reason);
      return 0;
    }
    try {
      if (std::optional<proto::Message> reply = handle(*message)) link.Send(*reply);
    } catch (const std::exception& e) {
      LogError("failed on ", proto::MessageName(*message), ": ", e.what());
      link.Send(proto::WorkerError{StrCat(proto::MessageName(*message), ": ", e.what())});
      return 1;
    }
  }
}

}  // namespace crescent::net
