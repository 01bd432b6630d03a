// Tiny random checkpoints with real tokenizers, for tests that load, train or
// save policies: Qwen3- and Llama-3-shaped models (the real vocabularies, a
// few layers of width 16-32) written as Hugging Face directories with the
// fixture's tokenizer files. Links LibTorch.
#pragma once

#include <string>

#include "common/model/llama.hpp"
#include "tests/common/policy_fixtures.hpp"

namespace crescent::testing {

// Qwen3: q/k norms, explicit head_dim 8, tied embeddings, 151,936 rows, stop
// id 151645 (<|im_end|>), 2 layers of width 32, 64 positions.
model::LlamaConfig TinyQwen3(const std::string& dtype = "float32");
// Llama 3: 128,256 rows, BOS 128000, stop ids 128001 and 128009, 1 layer of
// width 16, 32 positions.
model::LlamaConfig TinyLlama3();

// A random model of `config` (LibTorch seed 7) saved in `dir` (config.json,
// model.safetensors) with the fixture's tokenizer files. Returns `dir`.
std::string WriteTinyCheckpoint(const std::string& dir, const model::LlamaConfig& config,
                                const std::string& fixture);

}  // namespace crescent::testing
