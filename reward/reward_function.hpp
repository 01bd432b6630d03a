// Reward functions: score a response to a prompt, given the prompt's metadata
// (answer, tests, domain, ...). A failing function reports the reason in
// `error` and costs its sample only (ComposedReward gives it its entry's
// fallback), never the caller.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/config/config.hpp"
#include "common/task/prompt.hpp"
#include "reward/math_verify.hpp"
#include "reward/sandbox.hpp"

namespace crescent::reward {

struct Outcome {
  double reward = 0;
  bool correct = false;
  // False for a function that does not say whether a response is correct (a
  // command plug-in whose reply has no "correct").
  bool judged = true;
  std::string error;    // empty on success; names the function and the reason otherwise
  std::string details;  // a JSON object's text (the extracted answer, ...); "" for none
};

class RewardFunction {
 public:
  virtual ~RewardFunction() = default;
  // `prompt.text` is the prompt as the reward sees it (a chat rendered to
  // text); its metadata holds "answer", "tests", "domain", .... Not
  // thread-safe (a command plug-in talks to one process).
  virtual Outcome Score(const task::Prompt& prompt, const std::string& response) const = 0;
  // Whether Score may be called from several threads at once (the `code`
  // function: its samples' sandboxed runs overlap).
  virtual bool concurrent() const { return false; }
  // Shorthand for a plain prompt with string metadata.
  Outcome Score(const std::string& prompt, const std::string& response,
                const std::map<std::string, std::string>& metadata) const {
    return Score(task::Prompt{prompt, prompt, metadata}, response);
  }
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
  // Plug-ins: wall-clock limit per call.
  double plugin_timeout_s = 5.0;
  // "regex": a POSIX extended regular expression.
  std::string pattern;
  // "code": how each test case runs, how many runs at once, the reward.
  SandboxLimits code_limits;
  int64_t sandboxes = 2;
  bool partial_credit = false;
  bool filter_tests = false;
};

// The options the config's reward section sets.
RewardOptions RewardOptionsOf(const config::RewardSection& reward);

// By name, a built-in (docs/rewards.md; rewards of 1 or 0 unless said):
//   math         the final answer (ExtractMathAnswer) is MathEquivalent to
//                metadata "answer": correct_reward, else incorrect_reward
//   format       the response is a single number: format_reward, else 0
//   exact        the text after the last "</think>", trimmed, equals
//                metadata "answer", trimmed
//   regex        options.pattern matches somewhere in the text after the
//                last "</think>"
//   think_format one "<think>...</think>" block opens the response and an
//                answer follows it
//   json_format  the text after the last "</think>" (in a ```json fence or
//                not) is one JSON value
//   code         the response's code block passes metadata "tests" in the
//                sandbox (reward/code_reward.hpp)
// or the path of a C plug-in (contains '/' or ends in ".so"; see
// reward/plugin_abi.h). Throws std::invalid_argument for an unknown name or
// a bad pattern and std::runtime_error for a plug-in that cannot be loaded.
std::unique_ptr<RewardFunction> MakeRewardFunction(const std::string& name_or_path,
                                                   const RewardOptions& options = {});

// True when `text` (trimmed) is one number: [+-]digits[.digits] or a/b.
bool IsWellFormedNumber(const std::string& text);

// The text after the last "</think>", or all of it when there is none.
std::string AfterThinking(const std::string& response);

// A prompt's metadata as a JSON object's text, each value with its JSON type
// (Prompt::json_metadata), as a command plug-in receives it.
std::string MetadataJson(const task::Prompt& prompt);

}  // namespace crescent::reward
