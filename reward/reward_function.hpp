// Reward functions: score a response to a prompt, given the prompt's metadata
// (answer, tests, domain, ...). A failing function costs its sample (the
// configured failure reward, with the reason in `error`), never the caller.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/config/config.hpp"

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
  // "math": reward of a correct / an incorrect answer.
  double correct_reward = 1.0;
  double incorrect_reward = 0.0;
  // "format": reward when the response is one well-formed number, else 0.
  double format_reward = 1.0;
  // Plug-ins: wall-clock limit per call; the reward a failed call gets.
  double plugin_timeout_s = 5.0;
  double failure_reward = 0.0;
};

// The options the config's reward section sets.
RewardOptions RewardOptionsOf(const config::RewardSection& reward);

// By name: "math" (the response's final answer equals metadata "answer" after
// NormaliseAnswer), "format" (the response is a single number), or the path
// of a plug-in shared library (contains '/' or ends in ".so"; see
// reward/plugin_abi.h). Throws std::invalid_argument for an unknown name and
// std::runtime_error for a plug-in that cannot be loaded.
std::unique_ptr<RewardFunction> MakeRewardFunction(const std::string& name_or_path,
                                                   const RewardOptions& options = {});

// Canonical form of an answer: surrounding whitespace, a leading '+', leading
// zeros and trailing fractional zeros go ("+007" -> "7", "4.0" -> "4",
// "2.50" -> "2.5", "-0" -> "0"); a fraction of integers that divides exactly
// becomes that integer ("38/2" -> "19"). Non-numbers are only trimmed.
std::string NormaliseAnswer(const std::string& text);

// The final answer of a response: the contents of the last \boxed{...}, else
// the text after the last "####", else the whole response; trimmed.
std::string ExtractFinalAnswer(const std::string& response);

// True when `text` (trimmed) is one number: [+-]digits[.digits] or a/b.
bool IsWellFormedNumber(const std::string& text);

}  // namespace crescent::reward
