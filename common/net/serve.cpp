#include "common/net/serve.hpp"

#include <unistd.h>

#include <cstring>

#include "common/util/log.hpp"

namespace crescent::net {

int Serve(const JobContext& job, Service& service) {
  proto::Hello hello{config::RoleName(job.role()), job.rank, job.hosts[job.rank],
                     static_cast<int32_t>(getpid())};
  WorkerLink link(job.master_endpoint, hello, job.link_options());
  bool told = false;
  while (true) {
    if (StopSignal() && !told) {
      LogInfo("received ", strsignal(StopSignal()), ": the master will end this worker");
      told = true;
    }
    std::optional<proto::Message> message = link.Receive(std::chrono::milliseconds(200));
    if (!message) {
      if (!link.MasterAlive()) {
        LogError("the master (", job.master_endpoint, ") has been silent for more than ",
                 job.config.cluster.link.heartbeat_timeout_s, " s: exiting");
        return 3;
      }
      continue;
    }
    if (auto* shutdown = std::get_if<proto::Shutdown>(&*message)) {
      LogInfo("shutting down: ", shutdown->reason);
      return 0;
    }
    std::optional<proto::Message> reply;
    try {
      reply = service.Answer(*message);
    } catch (const std::exception& e) {  // not a request's own failure: the worker's
      LogError("failed on ", proto::MessageName(*message), ": ", e.what());
      link.Send(proto::WorkerError{StrCat(proto::MessageName(*message), ": ", e.what())});
      return 1;
    }
    if (!reply) {
      reply = proto::ErrorReply{
          proto::RequestIdOf(*message),
          StrCat(job.Describe(job.rank), " does not serve ", proto::MessageName(*message))};
      LogWarn(proto::ErrorOf(*reply));
    } else if (const std::string error = proto::ErrorOf(*reply); !error.empty()) {
      LogError(proto::MessageName(*message), " ", proto::RequestIdOf(*message), " failed: ", error);
    }
    link.Send(*reply);
  }
}

}  // namespace crescent::net
