// What every rank of a running job knows about the job, and its stop signals.
// A worker rank's loop is Serve() (serve.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/net/transport.hpp"
#include "common/proto/messages.hpp"

namespace crescent::net {

struct JobContext {
  config::Config config;
  int rank = 0;
  std::vector<config::Role> roles;  // by rank
  std::vector<std::string> hosts;   // by rank
  std::string master_endpoint;

  config::Role role() const { return roles[rank]; }
  // "rollout worker rank 3 on host node2"
  std::string Describe(int rank) const;
  LinkOptions link_options() const;
};

// Stop signals of a rank: SIGTERM and SIGINT (a scheduler's preemption notice)
// and SIGUSR1 (what `crescent run` sends mpirun, which forwards it to every
// rank). Blocks them in the calling thread, and so in every thread started
// after it, and receives them on a thread of their own: call first in main,
// before MPI or ZeroMQ start threads.
void CatchStopSignals();
// The first stop signal received, 0 before any.
int StopSignal();

}  // namespace crescent::net
