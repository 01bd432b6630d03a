// The `code` reward: the response's code, run against the sample's tests in
// the sandbox (reward/sandbox.hpp). Internal to crescent_reward: callers name
// it "code" (MakeRewardFunction); docs/rewards.md, "Code".
//
// Metadata: "tests", either a list of stdin/stdout cases
// [{"input": "1 2\n", "output": "3\n"}, ...] (a case passes when the program
// exits 0 and its stdout equals "output" but for trailing whitespace), or a
// test script {"script": "...", "language": "python" | "bash"} that passes
// when it exits 0 (the solution sits beside it: solution.py, or the compiled
// ./solution); optional "language" (python or cpp) picks the code block and
// says what an untagged block is (default python); optional "solutions", a
// list of reference programs, for reward.code_filter_tests.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "reward/reward_function.hpp"

namespace crescent::reward {

// Throws std::runtime_error when the sandbox cannot work here (bubblewrap
// missing, no user namespaces), naming what is missing.
std::unique_ptr<RewardFunction> MakeCodeReward(const RewardOptions& options);

struct CodeBlock {
  std::string language;  // "python", "cpp", or the fence's tag as written ("" untagged)
  std::string code;
};

// The last complete ``` fenced block of the text after the last </think>;
// with `language` ("python" or "cpp"), the last block tagged as that language
// or untagged. Tags python/py/python3 are "python", cpp/c++/cc/cxx "cpp".
std::optional<CodeBlock> ExtractCode(const std::string& response, const std::string& language);

// Whether `got` is `expected` but for whitespace at the ends of lines and
// blank lines at the end.
bool SameOutput(const std::string& expected, const std::string& got);

}  // namespace crescent::reward
