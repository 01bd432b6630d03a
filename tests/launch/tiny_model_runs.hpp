// What the launch tests with a real tokenizer share: running a crescent
// command to its end, and `crescent model init` of a small random model.
// Include after Catch2.
#pragma once

#include <string>
#include <vector>

#include "tests/common/process.hpp"

namespace crescent::testing {

// Runs `argv` to its end (8 minutes at most); returns its output, which must
// say it succeeded.
inline std::string Succeed(const std::vector<std::string>& argv, const std::string& log) {
  Process p(argv, log);
  const int code = p.Wait(std::chrono::minutes(8));
  INFO(p.Output());
  REQUIRE(code == 0);
  return p.Output();
}

// `crescent model init` into `out`: 2 layers of hidden 32 (MLP 64, 4 heads)
// around the tokenizer tests/fixtures/tokenizer/TOKENIZER; `flags` add to
// or override those (--kv-heads, --max-positions, --arch, ...).
inline void InitTinyModel(const std::string& tokenizer, const std::string& out,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {
      CRESCENT_BINARY,
      "model",
      "init",
      "--tokenizer",
      std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tokenizer/" + tokenizer,
      "--out",
      out,
      "--hidden",
      "32",
      "--intermediate",
      "64",
      "--layers",
      "2",
      "--heads",
      "4"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  Succeed(argv, out + "-init.log");
}

}  // namespace crescent::testing
