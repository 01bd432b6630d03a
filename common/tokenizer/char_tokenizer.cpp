#include "common/tokenizer/char_tokenizer.hpp"

#include <stdexcept>

namespace crescent::tok {

CharTokenizer::CharTokenizer(std::string alphabet) : alphabet_(std::move(alphabet)) {
  for (auto& i : index_) i = -1;
  for (size_t i = 0; i < alphabet_.size(); ++i) {
    unsigned char c = alphabet_[i];
    if (index_[c] >= 0)
      throw std::invalid_argument(std::string("alphabet repeats '") + char(c) + "'");
    index_[c] = static_cast<TokenId>(i) + 2;
  }
}

std::vector<TokenId> CharTokenizer::Encode(const std::string& text) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) {
    if (index_[c] < 0) {
      throw std::invalid_argument("character '" + std::string(1, char(c)) + "' of \"" + text +
                                  "\" is not in the alphabet \"" + alphabet_ + "\"");
    }
    ids.push_back(index_[c]);
  }
  return ids;
}

std::string CharTokenizer::Decode(const std::vector<TokenId>& ids) const {
  std::string text;
  for (TokenId id : ids) {
    if (id >= 2 && id < VocabSize()) text += alphabet_[id - 2];
  }
  return text;
}

}  // namespace crescent::tok
