#include "common/tokenizer/chat_template.hpp"

#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::tok {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string StripChars(const std::string& s, const std::string& chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && chars.find(s[b]) != std::string::npos) ++b;
  if (right)
    while (e > b && chars.find(s[e - 1]) != std::string::npos) --e;
  return s.substr(b, e - b);
}

bool StartsWith(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}
bool EndsWith(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

void CheckRoles(const std::vector<ChatMessage>& messages, const std::vector<std::string>& roles,
                const char* format) {
  if (messages.empty()) throw std::invalid_argument("chat template: no messages to render");
  for (const ChatMessage& m : messages) {
    bool ok = false;
    for (const auto& r : roles) ok = ok || m.role == r;
    if (!ok)
      throw std::invalid_argument(
          StrCat("chat template ", format, ": role \"", m.role, "\" is not supported"));
  }
}

// The rendered text and the spans of it that are trained.
struct Output {
  RenderedChat chat;
  Output& operator+=(const std::string& s) {
    chat.text += s;
    return *this;
  }
  void AddTrained(const std::string& s) {
    chat.trained.push_back({chat.text.size(), chat.text.size() + s.size()});
    chat.text += s;
  }
};

RenderedChat RenderQwen3(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                         bool enable_thinking) {
  CheckRoles(messages, {"system", "user", "assistant", "tool"}, "Qwen3");
  Output out;
  if (messages[0].role == "system")
    out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n";
  size_t last_query = messages.size() - 1;
  for (size_t k = messages.size(); k-- > 0;) {
    const ChatMessage& m = messages[k];
    if (m.role == "user" &&
        !(StartsWith(m.content, "<tool_response>") && EndsWith(m.content, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    bool last = i + 1 == messages.size();
    if (m.role == "user" || (m.role == "system" && i != 0)) {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      std::string content = m.content, reasoning;
      size_t close = m.content.find("</think>");
      if (close != std::string::npos) {
        content = StripChars(m.content.substr(m.content.rfind("</think>") + 8), "\n", true, false);
        std::string before = StripChars(m.content.substr(0, close), "\n", false, true);
        size_t open = before.rfind("<think>");
        reasoning = StripChars(open == std::string::npos ? before : before.substr(open + 7), "\n",
                               true, false);
      }
      out += "<|im_start|>assistant\n";
      if (i > last_query && (last || !reasoning.empty())) {
        out.AddTrained("<think>\n" + StripChars(reasoning, "\n", true, true) + "\n</think>\n\n" +
                       StripChars(content, "\n", true, false) + "<|im_end|>");
      } else {
        out.AddTrained(content + "<|im_end|>");
      }
      out += "\n";
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (last || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }
  if (add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (!enable_thinking) out += "<think>\n\n</think>\n\n";
  }
  return std::move(out.chat);
}

}  // namespace

ChatTemplate ChatTemplate::Load(const std::string& path) {
  std::string file = path;
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) file = path + "/tokenizer_config.json";
  std::ifstream f(file);
  if (!f) throw std::runtime_error(StrCat("cannot open ", file));
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(StrCat(file, ": not valid JSON: ", e.what()));
  }
  if (!config.contains("chat_template") || !config["chat_template"].is_string())
    throw std::runtime_error(StrCat(file,
                                    ": no chat_template string; supported formats are ChatML "
                                    "(Qwen2, Qwen2.5), Qwen3 and Llama 3 (docs/tokenizer.md)"));
  std::string bos;
  const auto& b = config.value("bos_token", nlohmann::json());
  if (b.is_string())
    bos = b.get<std::string>();
  else if (b.is_object() && b.contains("content"))
    bos = b["content"].get<std::string>();
  return FromTemplateText(config["chat_template"].get<std::string>(), bos, file);
}

ChatTemplate ChatTemplate::FromTemplateText(const std::string& jinja, const std::string& bos_token,
                                            const std::string& origin) {
  ChatTemplate t;
  if (Contains(jinja, "<|start_header_id|>") && Contains(jinja, "<|eot_id|>")) {
    if (Contains(jinja, "Cutting Knowledge Date") || Contains(jinja, "tools"))
      throw std::runtime_error(
          StrCat(origin,
                 ": the Llama 3.1+ chat template (dated system block, tools) is "
                 "not supported; supported: ChatML (Qwen2, Qwen2.5), Qwen3, Llama 3"));
    t.format_ = ChatFormat::kLlama3;
    t.bos_token_ = bos_token;
    t.always_generation_prompt_ = !Contains(jinja, "add_generation_prompt");
    return t;
  }
  if (Contains(jinja, "<|im_start|>") && Contains(jinja, "<|im_end|>")) {
    if (Contains(jinja, "enable_thinking") || Contains(jinja, "reasoning_content")) {
      t.format_ = ChatFormat::kQwen3;
      return t;
    }
    t.format_ = ChatFormat::kChatMl;
    if (Contains(jinja, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
      t.default_system_ = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
    else if (Contains(jinja, "You are a helpful assistant."))
      t.default_system_ = "You are a helpful assistant.";
    return t;
  }
  throw std::runtime_error(StrCat(origin,
                                  ": chat template not recognised; supported formats are ChatML "
                                  "(Qwen2, Qwen2.5), Qwen3 and Llama 3 (docs/tokenizer.md)"));
}

std::string ChatTemplate::Render(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt, bool enable_thinking) const {
  return RenderWithSpans(messages, add_generation_prompt, enable_thinking).text;
}

RenderedChat ChatTemplate::RenderForTraining(const std::vector<ChatMessage>& messages,
                                             bool enable_thinking) const {
  return RenderWithSpans(messages, false, enable_thinking);
}

RenderedChat ChatTemplate::RenderWithSpans(const std::vector<ChatMessage>& messages,
                                           bool add_generation_prompt, bool enable_thinking) const {
  Output out;
  switch (format_) {
    case ChatFormat::kQwen3:
      return RenderQwen3(messages, add_generation_prompt, enable_thinking);
    case ChatFormat::kChatMl:
      CheckRoles(messages, {"system", "user", "assistant"}, "ChatML");
      if (messages[0].role != "system" && !default_system_.empty())
        out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
      for (const ChatMessage& m : messages) {
        out += "<|im_start|>" + m.role + "\n";
        if (m.role == "assistant")
          out.AddTrained(m.content + "<|im_end|>");
        else
          out += m.content + "<|im_end|>";
        out += "\n";
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kLlama3:
      CheckRoles(messages, {"system", "user", "assistant"}, "Llama 3");
      out += bos_token_;
      for (const ChatMessage& m : messages) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
        const std::string content = StripChars(m.content, " \t\n\r\f\v", true, true);
        if (m.role == "assistant")
          out.AddTrained(content + "<|eot_id|>");
        else
          out += content + "<|eot_id|>";
      }
      if (add_generation_prompt || always_generation_prompt_)
        out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
  }
  return std::move(out.chat);
}

}  // namespace crescent::tok
