// The trainer role's rank: serves the master's requests.
#pragma once

#include "common/net/job.hpp"

namespace crescent::trainer {

// Runs this rank as a trainer worker until the master shuts it down.
int RunTrainerWorker(const net::JobContext& job);

}  // namespace crescent::trainer
