// Where a prompt enters the run: the master renders it (a chat with the
// policy's chat template and its generation prompt) and encodes it once, and
// sends the token ids with every generation task; rollout workers do not
// tokenize prompts. Reward services get the text the model was given for a
// chat prompt (the rendered chat), the prompt's own text otherwise.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "common/config/config.hpp"
#include "common/proto/messages.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"

namespace crescent::master {

class PromptEncoder {
 public:
  // task.chat_template and task.enable_thinking decide how prompts are
  // rendered with `tokenizer`'s chat template.
  PromptEncoder(const config::TaskSection& task, tok::PolicyTokenizer tokenizer);
  // The tokenizer of the run's initial policy (run::InitialPolicyDir).
  static PromptEncoder ForRun(const config::Config& config);

  struct Encoded {
    std::string text;          // what the model is given, before tokenization
    std::vector<int32_t> ids;  // its token ids
  };
  // Renders and encodes `prompt`, once per prompt (its id, text and
  // messages: two sets may hold different prompts under one id). A text prompt with the
  // chat template on (and a template in the policy) is one user turn. Throws
  // std::invalid_argument naming the prompt for a chat prompt that cannot be
  // rendered: no chat template in the policy, or task.chat_template false.
  const Encoded& Encode(const proto::Prompt& prompt);

  // Sets each task's prompt_tokens.
  void Fill(std::vector<proto::GenerationTask>& tasks);
  // The prompt as a reward service sees it: for a chat, text is the rendered chat.
  proto::Prompt ForReward(const proto::Prompt& prompt);

 private:
  bool use_template_;
  bool enable_thinking_;
  tok::PolicyTokenizer tokenizer_;
  std::unordered_map<std::string, Encoded> cache_;  // by CacheKey
  static std::string CacheKey(const proto::Prompt& prompt);
};

}  // namespace crescent::master
