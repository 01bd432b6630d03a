// The rollout role's rank: serves the master's requests.
#pragma once

#include <mpi.h>

#include "common/net/job.hpp"

namespace crescent::rollout {

// Runs this rank as a rollout worker until the master shuts it down.
// `weights`: the communicator of trainers and rollout workers over which new
// weights are broadcast (root 0, the first trainer).
int RunRolloutWorker(const net::JobContext& job, MPI_Comm weights);

}  // namespace crescent::rollout
