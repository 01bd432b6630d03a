#include "common/tokenizer/tokenizer.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "common/tokenizer/bpe_tokenizer.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/util/log.hpp"

namespace crescent::tok {
namespace {

// One id per special token, then one per UTF-8 character of the alphabet.
class UnicodeCharTokenizer : public Tokenizer {
 public:
  UnicodeCharTokenizer(const std::string& alphabet, const std::vector<std::string>& specials)
      : alphabet_(alphabet) {
    if (FindInvalidUtf8(alphabet) != std::string_view::npos)
      throw std::invalid_argument("character tokenizer: alphabet is not valid UTF-8");
    for (const std::string& s : specials) Add(s, "special token");
    size_t pos = 0;
    while (pos < alphabet.size()) {
      size_t start = pos;
      NextCodePoint(alphabet, pos);
      Add(alphabet.substr(start, pos - start), "character");
    }
    specials_ = specials;
  }

  std::vector<TokenId> Encode(std::string_view text) const override {
    if (FindInvalidUtf8(text) != std::string_view::npos)
      throw std::invalid_argument("text to encode is not valid UTF-8");
    std::vector<TokenId> ids;
    size_t pos = 0;
    while (pos < text.size()) {
      bool matched = false;
      for (size_t s = 0; s < specials_.size() && !matched; ++s) {
        if (!specials_[s].empty() && text.compare(pos, specials_[s].size(), specials_[s]) == 0) {
          ids.push_back(static_cast<TokenId>(s));
          pos += specials_[s].size();
          matched = true;
        }
      }
      if (matched) continue;
      size_t start = pos;
      NextCodePoint(text, pos);
      auto it = ids_.find(std::string(text.substr(start, pos - start)));
      if (it == ids_.end())
        throw std::invalid_argument(StrCat("character '", text.substr(start, pos - start),
                                           "' at byte ", start, " of \"", text,
                                           "\" is not in the alphabet \"", alphabet_, "\""));
      ids.push_back(it->second);
    }
    return ids;
  }

  std::string Decode(const std::vector<TokenId>& ids) const override {
    std::string out;
    for (TokenId id : ids) {
      if (id < 0 || id >= VocabSize())
        throw std::out_of_range(
            StrCat("token id ", id, " is outside the character vocabulary of ", VocabSize()));
      out += tokens_[id];
    }
    return out;
  }

  TokenId VocabSize() const override { return static_cast<TokenId>(tokens_.size()); }

  std::optional<TokenId> IdOf(std::string_view token) const override {
    auto it = ids_.find(std::string(token));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void Add(const std::string& token, const char* what) {
    if (token.empty()) throw std::invalid_argument(StrCat("character tokenizer: empty ", what));
    if (!ids_.emplace(token, static_cast<TokenId>(tokens_.size())).second)
      throw std::invalid_argument(StrCat("character tokenizer: ", what, " '", token, "' repeats"));
    tokens_.push_back(token);
  }

  std::string alphabet_;
  std::vector<std::string> specials_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, TokenId> ids_;
};

}  // namespace

std::unique_ptr<Tokenizer> LoadTokenizer(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    throw std::runtime_error(StrCat("tokenizer path ", path, " does not exist"));
  std::string file = S_ISDIR(st.st_mode) ? path + "/tokenizer.json" : path;
  return std::make_unique<BpeTokenizer>(file);
}

std::unique_ptr<Tokenizer> MakeCharTokenizer(const std::string& alphabet,
                                             const std::vector<std::string>& special_tokens) {
  return std::make_unique<UnicodeCharTokenizer>(alphabet, special_tokens);
}

}  // namespace crescent::tok
