#include "rollout/generation.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/model/generator.hpp"
#include "common/model/policy.hpp"
#include "common/model/pretrained.hpp"
#include "common/util/log.hpp"

namespace crescent::rollout {
namespace {

proto::FinishReason ToFinishReason(model::Finish f) {
  switch (f) {
    case model::Finish::kStop:
      return proto::FinishReason::kStop;
    case model::Finish::kLength:
      return proto::FinishReason::kLength;
    case model::Finish::kBudget:
      return proto::FinishReason::kBudget;
    case model::Finish::kRepeat:
      return proto::FinishReason::kRepeat;
  }
  return proto::FinishReason::kStop;
}

}  // namespace

std::vector<proto::Sample> GenerateSamples(model::Policy& policy,
                                           const std::vector<proto::GenerationTask>& tasks,
                                           int64_t slots, proto::PolicyVersion version,
                                           int64_t cache_mb) {
  auto detokenize = [&](const std::vector<tok::TokenId>& ids) {
    return policy.tokenizer.Decode(ids);
  };
  std::vector<model::GenerationRequest> batch;
  for (const auto& task : tasks) {
    if (task.prompt_tokens.empty()) {
      throw std::invalid_argument(StrCat("trajectory ", task.trajectory_id, " (prompt \"",
                                         task.prompt.id, "\") came without prompt tokens"));
    }
    model::GenerationRequest g;
    g.prompt = task.prompt_tokens;
    g.prompt.insert(g.prompt.end(), task.prefix.begin(), task.prefix.end());
    g.max_new_tokens = task.max_response_tokens - static_cast<int32_t>(task.prefix.size());
    g.budget = task.budget;
    g.temperature = task.sampling.temperature;
    g.top_k = task.sampling.top_k;
    g.top_p = task.sampling.top_p;
    g.seed = task.sampling.seed;
    g.vocab_limit = policy.tokenizer.VocabSize();
    g.stop_tokens = policy.tokenizer.stop_ids();
    g.stop_strings = task.stop_strings;
    if (!g.stop_strings.empty()) g.detokenize = detokenize;
    g.repeat_ngram = task.repeat_ngram;
    g.repeat_count = task.repeat_count;
    batch.push_back(std::move(g));
  }
  const int64_t cache_tokens =
      cache_mb > 0 ? std::max<int64_t>(1, cache_mb * (int64_t{1} << 20) /
                                              model::KvCacheBytesPerToken(policy.model->config()))
                   : 0;
  std::vector<model::GenerationResult> results;
  try {
    results = model::Generate(policy.model, batch, slots, cache_tokens);
  } catch (const std::invalid_argument& e) {
    if (cache_mb == 0) throw;
    throw std::invalid_argument(StrCat("rollout.kv_cache_mb ", cache_mb, ": ", e.what()));
  }
  std::vector<proto::Sample> samples;
  for (size_t i = 0; i < results.size(); ++i) {
    const proto::GenerationTask& task = tasks[i];
    proto::Sample s;
    s.trajectory_id = task.trajectory_id;
    s.prompt_tokens = task.prompt_tokens;
    s.tokens = std::move(results[i].tokens);
    s.logprobs = std::move(results[i].logprobs);
    std::vector<tok::TokenId> response = task.prefix;
    response.insert(response.end(), s.tokens.begin(), s.tokens.end());
    s.text = policy.tokenizer.DecodeResponse(response);
    s.finish_reason = ToFinishReason(results[i].finish);
    s.policy_version = version;
    samples.push_back(std::move(s));
  }
  return samples;
}

KvCacheSize PolicyKvCache(const std::string& policy_dir) {
  const model::LlamaConfig c = model::ReadHfConfig(policy_dir + "/config.json");
  return {model::KvCacheBytesPerToken(c), c.max_positions};
}

}  // namespace crescent::rollout
