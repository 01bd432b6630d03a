#include "master/prompt_encoder.hpp"

#include <stdexcept>

#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"

namespace crescent::master {

PromptEncoder::PromptEncoder(const config::TaskSection& task, tok::PolicyTokenizer tokenizer)
    : use_template_(tok::UsesChatTemplate(tokenizer, task.chat_template)),
      enable_thinking_(task.enable_thinking),
      tokenizer_(std::move(tokenizer)) {}

PromptEncoder PromptEncoder::ForRun(const config::Config& config) {
  return PromptEncoder(config.task, tok::LoadPolicyTokenizer(run::InitialPolicyDir(config)));
}

std::string PromptEncoder::CacheKey(const proto::Prompt& prompt) {
  // Lengths before the parts, so that no two prompts share a key.
  std::string key = StrCat(prompt.id.size(), ":", prompt.id, prompt.text.size(), ":", prompt.text);
  for (const auto& m : prompt.messages)
    key += StrCat(m.role.size(), ":", m.role, m.content.size(), ":", m.content);
  return key;
}

const PromptEncoder::Encoded& PromptEncoder::Encode(const proto::Prompt& prompt) {
  std::string key = CacheKey(prompt);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  Encoded e;
  if (!prompt.messages.empty() || use_template_) {
    if (!use_template_) {
      throw std::invalid_argument(StrCat("prompt \"", prompt.id, "\" is a chat (\"messages\") but ",
                                         tok::WhyNoChat(tokenizer_)));
    }
    std::vector<tok::ChatMessage> chat;
    for (const auto& m : prompt.messages) chat.push_back({m.role, m.content});
    if (chat.empty()) chat.push_back({"user", prompt.text});
    e.text =
        tokenizer_.chat_template()->Render(chat, /*add_generation_prompt=*/true, enable_thinking_);
    e.ids = tokenizer_.Encode(e.text);
  } else {
    e.text = prompt.text;
    e.ids = tokenizer_.EncodePrompt(prompt.text);
  }
  return cache_.emplace(std::move(key), std::move(e)).first->second;
}

void PromptEncoder::Fill(std::vector<proto::GenerationTask>& tasks) {
  for (auto& task : tasks) task.prompt_tokens = Encode(task.prompt).ids;
}

proto::Prompt PromptEncoder::ForReward(const proto::Prompt& prompt) {
  proto::Prompt out = prompt;
  if (!prompt.messages.empty()) out.text = Encode(prompt).text;
  return out;
}

}  // namespace crescent::master
