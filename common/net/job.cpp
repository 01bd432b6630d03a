#include "common/net/job.hpp"

#include <signal.h>

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

}  // namespace crescent::net
