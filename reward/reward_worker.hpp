// The reward role's rank: serves the master's requests.
#pragma once

#include "common/net/job.hpp"

namespace crescent::reward {

// Runs this rank as a reward worker until the master shuts it down.
int RunRewardWorker(const net::JobContext& job);

}  // namespace crescent::reward
