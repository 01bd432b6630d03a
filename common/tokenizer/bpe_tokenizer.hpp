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

  std::vector<int32_t> Encode(std::string_view text) const override;
  std::string Decode(const std::vector<int32_t>& ids) const override;
  int32_t VocabSize() const override { return static_cast<int32_t>(decoded_.size()); }
  std::optional<int32_t> TokenId(std::string_view token) const override;

 private:
  struct AddedToken {
    std::string content;
    int32_t id;
    bool lstrip, rstrip;
  };
  struct Regex;

  void EncodeSegment(std::string_view text, std::vector<int32_t>& ids) const;
  void EncodeWord(std::string_view word, std::vector<int32_t>& ids) const;
  void MergeAll(std::vector<int32_t>& symbols) const;

  std::string path_;
  bool nfc_ = false;
  bool ignore_merges_ = false;
  std::unique_ptr<Regex> split_;  // the pre-tokenizer's pattern
  // Model vocabulary keyed by raw bytes (the byte-level mapping undone).
  std::unordered_map<std::string, int32_t> vocab_;
  std::array<int32_t, 256> byte_id_;
  // (left id << 32 | right id) -> (rank, merged id).
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::vector<AddedToken> added_;                              // longest first within a first byte
  std::array<std::vector<int32_t>, 256> added_by_first_byte_;  // indexes into added_
  std::unordered_map<std::string, int32_t> token_ids_;         // token text as written in the file
  std::vector<std::string> decoded_;                           // id -> bytes that Decode writes

  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace crescent::tok
