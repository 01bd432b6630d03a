#include "common/net/job.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "common/util/log.hpp"

namespace crescent::net {
namespace {
std::atomic<int> g_stop_signal{0};

void RecordStopSignal(int signal) {
  int none = 0;
  g_stop_signal.compare_exchange_strong(none, signal);
}
}  // namespace

void CatchStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&set, s);
  // A thread that unblocks them again (a library's) only records them too.
  struct sigaction action = {};
  action.sa_handler = RecordStopSignal;
  action.sa_flags = SA_RESTART;
  action.sa_mask = set;
  for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaction(s, &action, nullptr);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    while (true) {
      int signal = 0;
      if (sigwait(&set, &signal) == 0) RecordStopSignal(signal);
    }
  }).detach();
}

int StopSignal() { return g_stop_signal.load(); }

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

LinkOptions JobContext::link_options() const { return config.cluster.link; }

int ServeWorker(const JobContext& job, const RequestHandler& handle) {
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
