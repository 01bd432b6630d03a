// A reward function in any language: a command that reads one JSON request
// per line on stdin and writes one JSON reply per line on stdout
// (docs/reward-plugins.md). Internal to crescent_reward: callers name it with
// a `cmd` entry of reward.functions (ComposedReward).
//
//   request: {"id": N, "prompt": TEXT, "response": TEXT, "metadata": {...}}
//            (metadata values keep their JSON types: MetadataJson; bytes
//            that are not UTF-8 arrive as U+FFFD)
//   reply:   {"id": N, "reward": NUMBER, "correct": BOOL (optional),
//             "details": {...} (optional)}
//         or {"id": N, "error": TEXT}: this sample fails, reported as such
//
// The process is started on the first Score and kept running across calls;
// one that has died between calls is started again on the next call. One
// that does not reply within options.plugin_timeout_s (which, on the first
// request after a start, includes its start-up) is killed with its process
// group and started again on the next call. A reply that is not one JSON
// object of at most 16 MiB on one line, with the request's id and a finite
// "reward", fails that sample and the process is restarted (its stream can no
// longer be trusted); a reported "error" fails the sample and keeps the
// process. Its stderr is passed through to the service's stderr. Not
// thread-safe: one process answers one request at a time.
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
