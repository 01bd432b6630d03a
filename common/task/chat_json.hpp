// Internal to crescent_task: a JSONL line's "messages" checked and read, the
// same for prompts (prompt_source.cpp) and SFT data (sft_data.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "common/task/prompt.hpp"

namespace crescent::task::internal {

// What the chat is for: a prompt's chat must end with a user turn (the
// generation prompt follows it); an SFT conversation must hold an assistant
// turn (what the loss is on).
enum class ChatUse { kPrompt, kSft };

// Checks `messages`: an array, not empty, every entry an object with string
// "role" and "content", roles system/user/assistant, a system turn only
// first, at least one user turn, and the rule of `use`. Throws
// std::runtime_error saying what is wrong (the caller adds the file and line).
std::vector<Message> ReadChat(const nlohmann::json& messages, ChatUse use);

// A JSON value as metadata holds it: a string as it is, anything else as
// JSON text.
inline std::string MetadataValue(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace crescent::task::internal
