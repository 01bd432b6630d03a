// The rollout role's rank: serves the master's requests.
#pragma once

#include "common/net/job.hpp"

namespace crescent::rollout {

// Runs this rank as a rollout worker until the master shuts it down.
int RunRolloutWorker(const net::JobContext& job);

}  // namespace crescent::rollout
