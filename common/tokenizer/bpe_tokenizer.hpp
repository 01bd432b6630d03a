// Byte-level BPE from a Hugging Face tokenizer.json. Implementation of
// Tokenizer; callers use LoadTokenizer (tokenizer.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/tokenizer/tokenizer.hpp"

namespace crescent::tok {

class BpeTokenizer : public Tokenizer {
 public:
  // Parses the file; throws std::runtime_error on anything unsupported.
  explicit BpeTokenizer(const std::string& json_path);
  ~BpeTokenizer() override;

  std::vector<TokenId> Encode(std::string_view text) const override;
  std::string Decode(const std::vector<TokenId>& ids) const override;
  TokenId VocabSize() const override { return static_cast<TokenId>(decoded_.size()); }
  std::optional<TokenId> IdOf(std::string_view token) const override;

 private:
  struct AddedToken {
    std::string content;
    TokenId id;
    bool lstrip, rstrip;
  };
  struct Regex;

  void EncodeSegment(std::string_view text, std::vector<TokenId>& ids) const;
  void EncodeWord(std::string_view word, std::vector<TokenId>& ids) const;
  void MergeAll(std::vector<TokenId>& symbols) const;

  std::string path_;
  bool nfc_ = false;
  bool ignore_merges_ = false;
  std::unique_ptr<Regex> split_;  // the pre-tokenizer's pattern
  // Model vocabulary keyed by raw bytes (the byte-level mapping undone).
  std::unordered_map<std::string, TokenId> vocab_;
  std::array<TokenId, 256> byte_id_;
  // (left id << 32 | right id) -> (rank, merged id).
  std::unordered_map<uint64_t, std::pair<int32_t, TokenId>> merges_;
  std::vector<AddedToken> added_;                              // longest first within a first byte
  std::array<std::vector<int32_t>, 256> added_by_first_byte_;  // indexes into added_
  std::unordered_map<std::string, TokenId> token_ids_;         // token text as written in the file
  std::vector<std::string> decoded_;                           // id -> bytes that Decode writes

  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<TokenId>> cache_;
};

}  // namespace crescent::tok
