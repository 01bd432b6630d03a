// Chat prompt formats, chosen from a checkpoint's tokenizer_config.json:
// ChatML (Qwen2, Qwen2.5), Qwen3 (ChatML with its thinking switch) and
// Llama 3. The Jinja template itself is not run: it is recognised, and the
// format is written in C++ to produce the same string (tests compare with
// Hugging Face's rendering). Tools and tool calls are not supported.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace crescent::tok {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (Qwen3 also "tool")
  std::string content;
};

enum class ChatFormat { kChatMl, kQwen3, kLlama3 };

// A part of a rendered text: bytes [begin, end) of its UTF-8.
struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
};

// A whole conversation rendered for supervised training: `text` is what
// Render(messages, false, enable_thinking) writes, and `trained` the parts of
// it the loss is on, in order: each assistant turn's content with its
// end-of-turn token (ChatML and Qwen3: "...<|im_end|>", not the newline after
// it; Llama 3: "...<|eot_id|>"), as TRL's assistant-only loss does. Headers,
// system, user and tool turns and a default system prompt are not trained.
struct RenderedChat {
  std::string text;
  std::vector<TextSpan> trained;
};

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

  // The conversation as Render(messages, false, enable_thinking) writes it, with
  // its assistant turns' spans (RenderedChat). Qwen3: the last turn, and any
  // assistant turn after the last user turn that has reasoning, is written with
  // its think block ("<think>\nreasoning\n</think>\n\n", empty for a last turn
  // without reasoning), and its span starts at "<think>": the model writes that
  // block itself after the generation prompt. Qwen3's template drops the
  // reasoning of assistant turns before the last user turn (only their content
  // after "</think>" is written), so those turns are trained as written,
  // answering without a think block, as training on the template's one rendering
  // of the conversation does in TRL too; to train every turn's reasoning, give
  // each assistant turn as the last turn of a conversation of its own. Llama 3's
  // first template also writes a generation prompt at the end; it is not
  // trained. Throws as Render does.
  RenderedChat RenderForTraining(const std::vector<ChatMessage>& messages,
                                 bool enable_thinking = true) const;

 private:
  RenderedChat RenderWithSpans(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                               bool enable_thinking) const;

  ChatFormat format_ = ChatFormat::kChatMl;
  std::string default_system_;             // ChatML: written when messages[0] is not system
  std::string bos_token_;                  // Llama 3
  bool always_generation_prompt_ = false;  // Llama 3's first template ignores the flag
};

}  // namespace crescent::tok
