// Batched generation with continuous batching: up to `slots` sequences decode
// together over one KV cache allocated for the whole call; a finished sequence
// frees its slot for the next waiting request.
#pragma once

#include <cstdint>
#include <vector>

#include "common/model/llama.hpp"

namespace crescent::model {

enum class Finish { kStop, kLength, kBudget };

struct GenerationRequest {
  std::vector<int64_t> prompt;  // prompt, plus any earlier partial response to continue
  int32_t max_new_tokens = 16;  // tokens this response may still grow by
  int32_t budget = 0;           // tokens allowed in this call; 0: no budget
  float temperature = 1.0f;     // 0: greedy
  int32_t top_k = 0;            // 0: off
  float top_p = 1.0f;           // 1: off
  uint64_t seed = 0;
  std::vector<int64_t> stop_tokens;
};

struct GenerationResult {
  std::vector<int64_t> tokens;  // new tokens, a stop token included
  std::vector<float> logprobs;  // log-softmax at the sampling temperature (1 when greedy),
                                // over the full vocabulary, before top-k/top-p
  Finish finish = Finish::kStop;
};

std::vector<GenerationResult> Generate(Llama& model, const std::vector<GenerationRequest>& requests,
                                       int64_t slots);

}  // namespace crescent::model
