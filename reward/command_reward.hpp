// A reward function in any language: a command that reads one JSON request
// per line on stdin and writes one JSON reply per line on stdout
// (docs/reward-plugins.md). Internal to crescent_reward: callers name it with
// a `cmd` entry of reward.functions (ComposedReward).
//
//   request: {"id": N, "prompt": TEXT, "response": TEXT, "metadata": {...}}
//            (metadata values keep their JSON types: MetadataJson)
//   reply:   {"id": N, "reward": NUMBER, "correct": BOOL (optional),
//             "details": {...} (optional)}
//
// The process is started on the first Score and kept running across calls;
// one that has died is started again on the next call; one that does not
// reply within options.plugin_timeout_s is killed (with its process group)
// and started again on the next call. A reply that is not one JSON object
// with the request's id and a finite "reward" fails that sample (the process
// is restarted: its stream can no longer be trusted). Its stderr is passed
// through to the service's stderr.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "reward/reward_function.hpp"

namespace crescent::reward {

// Throws std::invalid_argument when `command` is empty or its program cannot
// be found (a name without '/' is looked up on PATH; a path must be an
// executable file), naming the command.
std::unique_ptr<RewardFunction> MakeCommandReward(const std::vector<std::string>& command,
                                                  const RewardOptions& options);

}  // namespace crescent::reward
