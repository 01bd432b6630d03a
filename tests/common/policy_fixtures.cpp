#include "tests/common/policy_fixtures.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace crescent::testing {

std::string TokenizerFixture(const std::string& name) {
  return std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tokenizer/" + name;
}

void CopyTokenizerFiles(const std::string& fixture, const std::string& dir) {
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(TokenizerFixture(fixture + "/" + f), dir + "/" + f,
                               std::filesystem::copy_options::overwrite_existing);
  }
}

std::string WriteTokenizerDir(const std::string& dir, const std::string& fixture,
                              int64_t vocab_size, const std::string& extra_config) {
  nlohmann::json config = {{"model_type", "qwen3"}, {"vocab_size", vocab_size}};
  config.update(nlohmann::json::parse(extra_config));
  std::ofstream(dir + "/config.json") << config.dump();
  CopyTokenizerFiles(fixture, dir);
  return dir;
}

}  // namespace crescent::testing
