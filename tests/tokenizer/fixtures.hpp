// Shared fixtures of the tokenizer tests: each tokenizer.json is parsed once.
#pragma once

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/tokenizer/tokenizer.hpp"

namespace crescent::tok::testing {

inline std::string FixturePath(const std::string& name) {
  return std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tokenizer/" + name;
}

inline const Tokenizer& Fixture(const std::string& name) {
  static std::unique_ptr<Tokenizer> qwen3 = LoadTokenizer(FixturePath("qwen3"));
  static std::unique_ptr<Tokenizer> llama3 = LoadTokenizer(FixturePath("llama3/tokenizer.json"));
  return name == "qwen3" ? *qwen3 : *llama3;
}

inline nlohmann::json ReadJson(const std::string& name) {
  std::ifstream f(FixturePath(name));
  return nlohmann::json::parse(f);
}

}  // namespace crescent::tok::testing
