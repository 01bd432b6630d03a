// Policy directories for tests, without LibTorch: the real tokenizer files of
// tests/fixtures/tokenizer (Qwen3, Llama 3) with a config.json, as a Hugging
// Face checkpoint holds them (weights: tests/common/tiny_checkpoint.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace crescent::testing {

// tests/fixtures/tokenizer/NAME ("qwen3", "llama3", or a file under them).
std::string TokenizerFixture(const std::string& name);

// Copies the fixture's tokenizer.json and tokenizer_config.json into `dir`.
void CopyTokenizerFiles(const std::string& fixture, const std::string& dir);

// A policy directory's text side, weights left out: config.json
// ({"model_type": "qwen3", "vocab_size": vocab_size} updated with the JSON
// object `extra_config`) and the fixture's tokenizer files. Returns `dir`.
std::string WriteTokenizerDir(const std::string& dir, const std::string& fixture,
                              int64_t vocab_size, const std::string& extra_config = "{}");

}  // namespace crescent::testing
