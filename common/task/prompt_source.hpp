// Where prompts come from: the built-in task or a JSONL file, behind one
// interface. A source holds a fixed training pool (what samplers draw from)
// and a held-out set (possibly empty) that is never in the pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/task/prompt.hpp"

namespace crescent::task {

class PromptSource {
 public:
  virtual ~PromptSource() = default;
  virtual const std::vector<Prompt>& Training() const = 0;
  virtual const std::vector<Prompt>& Heldout() const = 0;
};

// ArithmeticSourceOptions: common/config/task_options.hpp (the config's task
// section embeds them).

// The built-in arithmetic task. Throws std::invalid_argument on bad options.
std::unique_ptr<PromptSource> MakeArithmeticSource(const ArithmeticSourceOptions& options);

// One line of a prompts file as MakeJsonlSource reads it (below); `number`
// is its id when it has none. With `response`, the line must also have a
// "response" string, which goes there instead of to the metadata (`crescent
// reward eval`'s lines). Throws std::runtime_error (nlohmann's parse_error
// for text that is not JSON) saying what is wrong; the caller adds the file
// and line.
Prompt ParsePromptLine(const std::string& line, int number, std::string* response = nullptr);

// One JSON object per line: {"id": ..., "prompt": ..., "answer": ..., ...}
// or {"id": ..., "messages": [{"role": ..., "content": ...}, ...], ...}.
// Exactly one of "prompt" (a string: Prompt::text) and "messages" (a chat:
// Prompt::messages; roles system, user, assistant; a system turn only first;
// at least one user turn; the last turn a user's) is required; "id" defaults
// to the line number; every other key goes to metadata (strings as they are,
// other values as JSON text). Blank lines are skipped. Throws
// std::runtime_error naming the file and line.
// Lines whose id appears in `heldout_ids` form the held-out set.
std::unique_ptr<PromptSource> MakeJsonlSource(const std::string& path,
                                              const std::vector<std::string>& heldout_ids = {});

// The source the config's task section names (task.name: arithmetic or
// jsonl), as the master's sampler and `crescent sft` both draw from it.
// Errors name the config key at fault.
std::unique_ptr<PromptSource> MakeTaskSource(const config::Config& config);

}  // namespace crescent::task
