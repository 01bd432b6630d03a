// What every rank of a running job knows about the job, and the loop a worker
// rank runs: connect to the master, say hello, answer requests until told to
// shut down (or until the master falls silent).
#pragma once

#include <functional>
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

// Answers one request; returns the reply to send, if any. An exception ends the
// worker: it is reported to the master as a WorkerError first.
using RequestHandler = std::function<std::optional<proto::Message>(const proto::Message&)>;

// Serves requests until Shutdown; returns the process exit code (0 on Shutdown).
// A stop signal (below) does not end a worker: the master decides when it ends.
int ServeWorker(const JobContext& job, const RequestHandler& handle);

// Stop signals of a rank: SIGTERM and SIGINT (a scheduler's preemption notice)
// and SIGUSR1 (what `crescent run` sends mpirun, which forwards it to every
// rank). Blocks them in the calling thread, and so in every thread started
// after it, and receives them on a thread of their own: call first in main,
// before MPI or ZeroMQ start threads.
void CatchStopSignals();
// The first stop signal received, 0 before any.
int StopSignal();

}  // namespace crescent::net
