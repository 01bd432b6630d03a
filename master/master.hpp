// The master: owns the job's clock and the run directory, hands work to the
// worker roles over its ROUTER socket and watches their heartbeats.
#pragma once

#include "common/net/job.hpp"
#include "common/net/transport.hpp"

namespace crescent::master {

// Runs the master's side of the job on rank job.rank; returns the exit code.
int RunMaster(const net::JobContext& job, net::MasterSocket& socket);

}  // namespace crescent::master
