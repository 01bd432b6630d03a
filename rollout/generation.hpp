// Generation tasks turned into samples with a policy: what a rollout worker
// does with a GenerateRequest, and what `crescent generate` and
// `crescent eval` do in one process, so that all three generate alike. The
// header names no LibTorch type; its callers hold a model::Policy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/proto/messages.hpp"

namespace crescent::model {
struct Policy;
}  // namespace crescent::model

namespace crescent::rollout {

// Generates every task with `policy` (model::Generate, `slots` sequences at
// once, and when cache_mb > 0 only as many as a KV cache of that many MiB
// holds: std::invalid_argument naming rollout.kv_cache_mb when not even one
// fits): its prompt_tokens (required: std::invalid_argument naming the task
// otherwise) followed by its prefix, up to max_response_tokens in all and
// `budget` new tokens, with the task's sampling, stop strings and repetition
// detector, the policy's stop ids, and only ids the tokenizer can decode
// (vocab_limit). One Sample per task, in order: the new tokens and their
// log-probs, the whole response (prefix included) decoded as text
// (PolicyTokenizer::DecodeResponse), the finish reason, and `version`.
std::vector<proto::Sample> GenerateSamples(model::Policy& policy,
                                           const std::vector<proto::GenerationTask>& tasks,
                                           int64_t slots, proto::PolicyVersion version,
                                           int64_t cache_mb = 0);

// The KV cache of the model in `policy_dir` (from its config.json, whose
// errors name it): bytes one token takes, and the longest sequence it holds.
struct KvCacheSize {
  int64_t bytes_per_token = 0, max_positions = 0;
};
KvCacheSize PolicyKvCache(const std::string& policy_dir);

}  // namespace crescent::rollout
