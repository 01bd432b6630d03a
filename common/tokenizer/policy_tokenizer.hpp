// The text side of a policy directory, without LibTorch: its tokenizer, chat
// template and stop ids, and the bytes of its tokenizer files (so that a
// checkpoint written from it is complete even after the source is deleted).
// Two kinds of directory load through the same call:
//   a Hugging Face checkpoint: tokenizer.json, tokenizer_config.json (chat
//     template, special tokens), generation_config.json, special_tokens_map.json
//   the built-in model's (`crescent sft`): alphabet.txt, the character tokenizer
// Both have config.json, whose vocab_size bounds the tokenizer.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/tokenizer/chat_template.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace crescent::tok {

// A file of a policy directory kept as it was read ("tokenizer.json", bytes).
struct PolicyFile {
  std::string name;
  std::string bytes;
};

// A tokenizer (the Tokenizer calls go to the one loaded) with what a policy
// needs around it. Copies share the tokenizer. Thread-safe.
class PolicyTokenizer final : public Tokenizer {
 public:
  PolicyTokenizer(std::shared_ptr<const Tokenizer> tokenizer,
                  std::optional<ChatTemplate> chat_template, std::vector<TokenId> stop_ids,
                  std::vector<TokenId> prompt_prefix, std::vector<PolicyFile> files);

  std::vector<TokenId> Encode(std::string_view text) const override;
  std::string Decode(const std::vector<TokenId>& ids) const override;
  TokenId VocabSize() const override;
  std::optional<TokenId> IdOf(std::string_view token) const override;

  // The ids a raw prompt starts with, then its text: the built-in model's
  // <bos>; a Hugging Face tokenizer's BOS when it adds one
  // (tokenizer_config.json add_bos_token, or a post-processor that writes it,
  // as Llama 3's); none otherwise (chat templates write their own).
  std::vector<TokenId> EncodePrompt(std::string_view text) const;
  // A response's text: a final stop id is left out.
  std::string DecodeResponse(const std::vector<TokenId>& ids) const;

  const std::shared_ptr<const Tokenizer>& tokenizer() const { return tokenizer_; }
  // nullopt when the directory has none (chat is then unavailable).
  const std::optional<ChatTemplate>& chat_template() const { return chat_template_; }
  // Generation stops at any of these (see LoadPolicyTokenizer for where they come from).
  const std::vector<TokenId>& stop_ids() const { return stop_ids_; }
  const std::vector<TokenId>& prompt_prefix() const { return prompt_prefix_; }
  // The tokenizer files of the directory it came from, byte for byte.
  const std::vector<PolicyFile>& files() const { return files_; }

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::optional<ChatTemplate> chat_template_;
  std::vector<TokenId> stop_ids_;
  std::vector<TokenId> prompt_prefix_;
  std::vector<PolicyFile> files_;
};

// Whether text for this policy is written with its chat template: the policy
// has one and `requested` (task.chat_template) asks for it. Prompts
// (master::PromptEncoder) and SFT documents (`crescent sft`) decide alike: with
// it, a plain text is one user turn; without it, text is given as it is and a
// chat ("messages") cannot be written.
bool UsesChatTemplate(const PolicyTokenizer& tokenizer, bool requested);
// Why a chat cannot be written when UsesChatTemplate is false: "task.chat_template
// is false" or "the policy has no chat template (tokenizer_config.json)".
std::string WhyNoChat(const PolicyTokenizer& tokenizer);

// The names of the tokenizer files a policy directory may hold, in the order
// they are read and written.
const std::vector<std::string>& PolicyTokenizerFileNames();

// Reads DIR's tokenizer (tokenizer.json, else alphabet.txt), its chat template
// (tokenizer_config.json's chat_template, if any), its stop ids
// (generation_config.json eos_token_id, an int or a list; else config.json's
// eos_token_id; else tokenizer_config.json's eos_token; the built-in: <eos>),
// and checks that the tokenizer has no more entries than config.json's
// vocab_size (the embedding's rows; fewer is fine). Throws std::runtime_error
// naming the file and what was found: no config.json, no tokenizer, a
// tokenizer too big, an unsupported chat template, a stop id outside the
// tokenizer.
PolicyTokenizer LoadPolicyTokenizer(const std::string& dir);

// The built-in task's character tokenizer: <bos> = 0, <eos> = 1, then one id
// per character of `alphabet`; its one file is alphabet.txt.
PolicyTokenizer BuiltinPolicyTokenizer(const std::string& alphabet);

// Writes the tokenizer's files into DIR (each replaced atomically).
void WritePolicyTokenizerFiles(const PolicyTokenizer& tokenizer, const std::string& dir);

}  // namespace crescent::tok
