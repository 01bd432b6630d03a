// `crescent bench partial`: training tokens per second with partial rollouts
// against waiting for every rollout to finish, with the real model on a
// prompt set whose answers have a long tail (seven in eight short, one in
// eight eight times longer), the same prompts, batch and maximum length, in
// one run.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace crescent::trainer {

// Options: --groups B --k K --max TOKENS --budget TOKENS --slots N
// --groups-trained N --sft-steps N --rounds N --seed S. Prints one JSON object; returns
// 0, or 2 for bad arguments.
int PartialBenchCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace crescent::trainer
