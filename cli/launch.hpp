// Starting a job: `crescent run` (the launcher, which execs mpirun) and
// `crescent worker` (what each MPI rank runs).
#pragma once

#include "common/config/config.hpp"

namespace crescent::cli {

// Writes the effective config into the run directory and execs mpirun with one
// rank per role instance, each running `crescent worker RUN_DIR/config.yaml`.
// Returns only on failure.
int LaunchJob(const config::Config& config);

// The body of `crescent worker CONFIG [--set ...]`: MPI start-up, role by
// rank, ZeroMQ endpoint exchange, then the role's loop.
int RunWorkerRank(int argc, char** argv);

}  // namespace crescent::cli
