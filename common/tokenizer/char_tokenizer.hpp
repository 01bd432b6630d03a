// One token per character of a fixed alphabet, plus <bos> (0) and <eos> (1):
// the built-in task's tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crescent::tok {

class CharTokenizer {
 public:
  static constexpr int64_t kBos = 0;
  static constexpr int64_t kEos = 1;
  explicit CharTokenizer(std::string alphabet);

  // Throws naming the character when `text` has one outside the alphabet.
  std::vector<int64_t> Encode(const std::string& text) const;
  // Special tokens are left out.
  std::string Decode(const std::vector<int64_t>& ids) const;
  int64_t VocabSize() const { return static_cast<int64_t>(alphabet_.size()) + 2; }
  const std::string& alphabet() const { return alphabet_; }

 private:
  std::string alphabet_;
  int64_t index_[256];
};

}  // namespace crescent::tok
