// The tokenizer contract: text to token ids and back, the same for the
// built-in task's character tokenizer and for byte-level BPE loaded from a
// Hugging Face tokenizer.json (Qwen2/Qwen3, Llama 3, GPT-2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/tokenizer/token_id.hpp"

namespace crescent::tok {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Special and added tokens written in `text` are matched as Hugging Face
  // does; no BOS/EOS is added (chat templates write them). Throws
  // std::invalid_argument on invalid UTF-8 or, for the character tokenizer,
  // a character outside its alphabet. Thread-safe.
  virtual std::vector<TokenId> Encode(std::string_view text) const = 0;
  // Special tokens are written out. Throws std::out_of_range on an unknown id.
  virtual std::string Decode(const std::vector<TokenId>& ids) const = 0;
  virtual TokenId VocabSize() const = 0;
  // The id of a token written as text, e.g. "<|im_end|>"; nullopt if none.
  virtual std::optional<TokenId> IdOf(std::string_view token) const = 0;
};

// `path` is a tokenizer.json or a directory holding one. Throws
// std::runtime_error naming the file and the unsupported feature.
std::unique_ptr<Tokenizer> LoadTokenizer(const std::string& path);

// One id per special token (in order, from 0), then one per UTF-8 character of
// `alphabet`. The default is the built-in model's: <bos> = 0, <eos> = 1.
std::unique_ptr<Tokenizer> MakeCharTokenizer(const std::string& alphabet,
                                             const std::vector<std::string>& special_tokens = {
                                                 "<bos>", "<eos>"});

}  // namespace crescent::tok
