// Batched generation with continuous batching: up to `slots` sequences decode
// together over one KV cache allocated for the whole call; a finished sequence
// frees its slot for the next waiting request.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/model/llama.hpp"
#include "common/tokenizer/token_id.hpp"

namespace crescent::model {

// kStop: a stop token or stop string; kLength: max_new_tokens or the model's
// context; kRepeat: the repetition detector; kBudget: this call's budget ran
// out before the response finished (continue it later from its prefix).
// When several apply to one token: stop, then length, then repeat, then budget.
enum class Finish { kStop, kLength, kBudget, kRepeat };

struct GenerationRequest {
  std::vector<tok::TokenId> prompt;  // prompt, plus any earlier partial response to continue
  int32_t max_new_tokens = 16;       // tokens this response may still grow by
  int32_t budget = 0;                // tokens allowed in this call; 0: no budget
  float temperature = 1.0f;          // 0: greedy
  int32_t top_k = 0;                 // 0: off
  float top_p = 1.0f;                // 1: off
  uint64_t seed = 0;
  // Only ids below this are sampled (0: the whole vocabulary): a tokenizer
  // with fewer entries than the embedding has rows (Qwen3: 151,669 of
  // 151,936) cannot decode the rest. Like top-k, it limits what is drawn;
  // log-probs stay over the full vocabulary.
  int64_t vocab_limit = 0;
  std::vector<tok::TokenId> stop_tokens;
  // The response stops when the text of this call's new tokens ends with one
  // of these; `detokenize` (required with stop strings) decodes ids to text.
  // Only the last tokens are decoded: as many as the longest stop string has
  // bytes, plus one (every token decodes to at least one byte, or to a
  // fragment of one that the next token completes).
  std::vector<std::string> stop_strings;
  std::function<std::string(const std::vector<tok::TokenId>&)> detokenize;
  // Repetition detector: stops when the last repeat_ngram * repeat_count new
  // tokens are one n-gram repeated repeat_count times. 0: off.
  int32_t repeat_ngram = 0;
  int32_t repeat_count = 0;
};

// Batches of similar length: for lengths sorted ascending, where each batch
// ends (exclusive), chosen to compute the fewest tokens, padding to each
// batch's longest included, counting `batch_cost` tokens for each batch (a
// forward pass costs that much beyond its tokens: on the CPU about 64
// tokens of a small model). The generator's prefill and the trainer's
// forward passes batch this way.
std::vector<size_t> LengthBatches(const std::vector<int64_t>& sorted_lengths,
                                  int64_t batch_cost = 64);

// Whether `tokens` ends with the same n-gram repeated `count` times.
bool EndsInRepeat(const std::vector<tok::TokenId>& tokens, int32_t ngram, int32_t count);
// Whether the decoded tail of `tokens` ends with one of `stops`.
bool EndsInStopString(
    const std::vector<tok::TokenId>& tokens, const std::vector<std::string>& stops,
    const std::function<std::string(const std::vector<tok::TokenId>&)>& detokenize);

struct GenerationResult {
  std::vector<tok::TokenId> tokens;  // new tokens, a stop token included
  std::vector<float> logprobs;       // log-softmax at the sampling temperature (1 when greedy),
                                     // over the full vocabulary, before top-k/top-p
  Finish finish = Finish::kStop;
};

// The KV cache of one Generate call: `slots` sequences at once, each with
// room for `positions` tokens.
struct CacheShape {
  int64_t slots = 0, positions = 0;
};

// Bytes of KV cache one token takes in every layer (keys and values).
int64_t KvCacheBytesPerToken(const LlamaConfig& config);

// The cache for `requests`: room for the longest sequence any of them can
// reach (its prompt plus max_new_tokens, or plus its budget when that is
// smaller; at most the model's max_positions), for at most `slots` of them at
// once, and when `max_tokens` > 0 at most max_tokens / positions of them.
// Throws std::invalid_argument when not even one sequence fits max_tokens.
CacheShape PlanCache(const LlamaConfig& config, const std::vector<GenerationRequest>& requests,
                     int64_t slots, int64_t max_tokens = 0);

// Generates every request, with the cache PlanCache(slots, cache_tokens)
// allocates once for the call.
std::vector<GenerationResult> Generate(Llama& model, const std::vector<GenerationRequest>& requests,
                                       int64_t slots, int64_t cache_tokens = 0);

}  // namespace crescent::model
