// Where the master's prompts come from: the configured task's training
// prompts, drawn by the configured sampler, its held-out set, and the
// prompts of eval.data_file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/proto/messages.hpp"

namespace crescent::master {

class PromptFeed {
 public:
  virtual ~PromptFeed() = default;
  virtual std::vector<proto::Prompt> Draw(size_t n) = 0;
  // The fraction of a prompt's samples that succeeded (for prioritised sampling).
  virtual void Report(const std::string& prompt_id, double success_rate) = 0;
  virtual const std::vector<proto::Prompt>& Heldout() const = 0;
  // eval.data_file's prompts, evaluated beside the held-out set; none by default.
  virtual const std::vector<proto::Prompt>& EvalData() const;
  // The sampler's position, to resume a run exactly where it was.
  virtual std::string SaveState() const = 0;
  virtual void LoadState(const std::string& state) = 0;
};

// Reads eval.data_file (task::MakeJsonlSource); none when it is unset.
// Throws std::runtime_error naming the key, and the file and line at fault.
std::vector<proto::Prompt> ReadEvalData(const config::Config& config);

std::unique_ptr<PromptFeed> MakePromptFeed(const config::Config& config);

}  // namespace crescent::master
