#include "common/task/chat_json.hpp"

#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::task::internal {

std::vector<Message> ReadChat(const nlohmann::json& messages, ChatUse use) {
  if (!messages.is_array())
    throw std::runtime_error(
        StrCat("\"messages\" is not an array (found ", messages.type_name(), ")"));
  if (messages.empty()) throw std::runtime_error("\"messages\" is empty");
  std::vector<Message> chat;
  bool has_user = false, has_assistant = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      throw std::runtime_error(StrCat("messages[", i,
                                      "] is not an object with a string \"role\" and a string "
                                      "\"content\""));
    Message message{m["role"].get<std::string>(), m["content"].get<std::string>()};
    if (message.role == "system") {
      if (i != 0)
        throw std::runtime_error(
            StrCat("messages[", i, "]: a system turn is allowed only as the first turn"));
    } else if (message.role == "user") {
      has_user = true;
    } else if (message.role == "assistant") {
      has_assistant = true;
    } else {
      throw std::runtime_error(StrCat("messages[", i, "]: unknown role \"", message.role,
                                      "\" (roles: system, user, assistant)"));
    }
    chat.push_back(std::move(message));
  }
  if (!has_user) throw std::runtime_error("\"messages\" has no user turn");
  if (use == ChatUse::kPrompt && chat.back().role != "user")
    // A system turn is first and a user turn follows it: the last is an assistant's.
    throw std::runtime_error(
        "\"messages\" ends with an assistant turn; a prompt's chat must end with a user turn "
        "(the generation prompt follows it)");
  if (use == ChatUse::kSft && !has_assistant)
    throw std::runtime_error(
        "\"messages\" has no assistant turn (an SFT conversation trains on its assistant turns)");
  return chat;
}

}  // namespace crescent::task::internal
