// The policy as the roles use it: the model with its tokenizer, chat template
// and stop ids, built or loaded from one directory as the config says.
#pragma once

#include <string>

#include "common/config/config.hpp"
#include "common/model/llama.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"

namespace crescent::model {

struct Policy {
  Llama model{nullptr};
  tok::PolicyTokenizer tokenizer;  // a tok::Tokenizer, with chat template, stop ids, files
};

// A freshly initialised built-in model (seed sft.seed) for the built-in task.
Policy NewBuiltinPolicy(const config::Config& config);
// Loads a policy directory: a Hugging Face checkpoint (config.json, safetensors,
// tokenizer.json, ...) or the built-in model's (config.json, model.safetensors,
// alphabet.txt). The tokenizer is read and checked (tok::LoadPolicyTokenizer)
// before the weights. Errors name the file and what was found.
Policy LoadPolicy(const std::string& dir);
// Writes a complete Hugging Face directory: config.json, model.safetensors (the
// Hugging Face tensor names, in the dtype the source was stored in) and the
// tokenizer files the policy was loaded with, byte for byte.
void SavePolicy(Policy& policy, const std::string& dir);

// Sets LibTorch's and the BLAS's thread counts for this process.
void SetComputeThreads(int threads);

}  // namespace crescent::model
