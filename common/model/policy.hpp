// The policy as the roles use it: the model with its tokenizer, built or
// loaded as the config says.
#pragma once

#include <string>

#include "common/config/config.hpp"
#include "common/model/llama.hpp"
#include "common/tokenizer/char_tokenizer.hpp"

namespace crescent::model {

struct Policy {
  Llama model{nullptr};
  tok::CharTokenizer tokenizer;
};

// A freshly initialised built-in model (seed sft.seed) for the built-in task.
Policy NewBuiltinPolicy(const config::Config& config);
// Loads a policy saved by SavePolicy; errors name the directory and what to run.
Policy LoadPolicy(const std::string& dir);
void SavePolicy(Policy& policy, const std::string& dir);

// Sets LibTorch's and the BLAS's thread counts for this process.
void SetComputeThreads(int threads);

}  // namespace crescent::model
