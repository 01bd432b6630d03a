// The trainer role's rank: serves the master's requests.
#pragma once

#include <mpi.h>

#include "common/net/job.hpp"

namespace crescent::trainer {

// Runs this rank as a trainer worker until the master shuts it down.
// `weights`: trainers and rollout workers (root 0, the first trainer), for the
// weight broadcast; `trainers`: the trainers, for the gradient all-reduce.
int RunTrainerWorker(const net::JobContext& job, MPI_Comm weights, MPI_Comm trainers);

}  // namespace crescent::trainer
