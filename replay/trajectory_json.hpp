#pragma once
// A trajectory as JSON: how the ledger and `crescent replay dump` show it.
#include <nlohmann/json.hpp>

#include "replay/buffer.hpp"

namespace crescent::replay {

// Its id, group, finish reason, segments (source, policy version, iteration,
// token count and hash; with_tokens: the token ids and log-probs too) and,
// once scored, reward and correctness.
nlohmann::json TrajectoryJson(const Trajectory& t, bool with_tokens);

}  // namespace crescent::replay
