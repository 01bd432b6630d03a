// Chat prompt formats, chosen from a checkpoint's tokenizer_config.json:
// ChatML (Qwen2, Qwen2.5), Qwen3 (ChatML with its thinking switch) and
// Llama 3. The Jinja template itself is not run: it is recognised, and the
// format is written in C++ to produce the same string (tests compare with
// Hugging Face's rendering). Tools and tool calls are not supported.
#pragma once

#include <string>
#include <vector>

namespace crescent::tok {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (Qwen3 also "tool")
  std::string content;
};

enum class ChatFormat { kChatMl, kQwen3, kLlama3 };

class ChatTemplate {
 public:
  // `path` is a tokenizer_config.json or a directory holding one. Throws
  // std::runtime_error naming the file when its chat_template is missing or
  // is not one of the supported formats.
  static ChatTemplate Load(const std::string& path);
  // From the chat_template string itself (and the BOS token Llama 3 writes).
  static ChatTemplate FromTemplateText(const std::string& jinja, const std::string& bos_token,
                                       const std::string& origin);

  // `enable_thinking` only matters to Qwen3 (false writes an empty think
  // block after the generation prompt). Throws std::invalid_argument on an
  // empty conversation or a role the format does not have.
  std::string Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     bool enable_thinking = true) const;
  ChatFormat format() const { return format_; }

 private:
  ChatFormat format_ = ChatFormat::kChatMl;
  std::string default_system_;             // ChatML: written when messages[0] is not system
  std::string bos_token_;                  // Llama 3
  bool always_generation_prompt_ = false;  // Llama 3's first template ignores the flag
};

}  // namespace crescent::tok
