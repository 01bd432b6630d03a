// One token per character of a fixed alphabet, plus <bos> (0) and <eos> (1):
// the built-in task's tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/tokenizer/token_id.hpp"

namespace crescent::tok {

class CharTokenizer {
 public:
  static constexpr TokenId kBos = 0;
  static constexpr TokenId kEos = 1;
  explicit CharTokenizer(std::string alphabet);

  // Throws naming the character when `text` has one outside the alphabet.
  std::vector<TokenId> Encode(const std::string& text) const;
  // Special tokens are left out.
  std::string Decode(const std::vector<TokenId>& ids) const;
  TokenId VocabSize() const { return static_cast<TokenId>(alphabet_.size()) + 2; }
  const std::string& alphabet() const { return alphabet_; }

 private:
  std::string alphabet_;
  TokenId index_[256];  // -1: not in the alphabet
};

}  // namespace crescent::tok
