// Reward functions: score a response to a prompt, given the prompt's metadata
// (answer, tests, domain, ...). A failing function costs its sample (the
// configured failure reward, with the reason in `error`), never the caller.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "reward/math_verify.hpp"

namespace crescent::reward {

struct Outcome {
  double reward = 0;
  bool correct = false;
  std::string error;  // empty on success; names the function and the reason otherwise
};

class RewardFunction {
 public:
  virtual ~RewardFunction() = default;
  // Thread-compatible: const, but a plug-in's Score forks a child per call.
  virtual Outcome Score(const std::string& prompt, const std::string& response,
                        const std::map<std::string, std::string>& metadata) const = 0;
};

struct RewardOptions {
  // "math": reward of a correct / an incorrect answer; where the final answer
  // is found, and the tolerance of MathEquivalent.
  double correct_reward = 1.0;
  double incorrect_reward = 0.0;
  MathExtractOptions math_extract;
  MathOptions math;
  // "format": reward when the response is one well-formed number, else 0.
  double format_reward = 1.0;
  // Plug-ins: wall-clock limit per call; the reward a failed call gets.
  double plugin_timeout_s = 5.0;
  double failure_reward = 0.0;
};

// The options the config's reward section sets.
RewardOptions RewardOptionsOf(const config::RewardSection& reward);

// By name: "math" (the response's final answer, ExtractMathAnswer, is
// MathEquivalent to metadata "answer"), "format" (the response is a single number), or the path
// of a plug-in shared library (contains '/' or ends in ".so"; see
// reward/plugin_abi.h). Throws std::invalid_argument for an unknown name and
// std::runtime_error for a plug-in that cannot be loaded.
std::unique_ptr<RewardFunction> MakeRewardFunction(const std::string& name_or_path,
                                                   const RewardOptions& options = {});

// True when `text` (trimmed) is one number: [+-]digits[.digits] or a/b.
bool IsWellFormedNumber(const std::string& text);

}  // namespace crescent::reward
