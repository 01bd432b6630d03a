#include "common/model/generator.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace crescent::model {
namespace {

struct Active {
  size_t request;
  int64_t slot;
  int64_t position;  // where the last sampled token goes in the cache
  tok::TokenId last_token;
  std::mt19937_64 rng;
};

// Log-probs and probabilities of each row's logits at its request's
// temperature (1 for greedy rows), computed for all rows at once.
std::pair<torch::Tensor, torch::Tensor> SamplingDistributions(
    const torch::Tensor& logits, const std::vector<GenerationRequest>& requests,
    const std::vector<Active>& rows) {
  std::vector<float> temperatures;
  for (const auto& a : rows) {
    const float t = requests[a.request].temperature;
    temperatures.push_back(t > 0 ? t : 1.0f);
  }
  torch::Tensor scaled = logits.to(torch::kFloat32) / torch::tensor(temperatures).view({-1, 1});
  torch::Tensor logp = torch::log_softmax(scaled, -1).contiguous();
  return {logp, logp.exp()};
}

// Picks a token from one row's log-probs `logp` (probabilities `probs`);
// returns it and its log-prob (full softmax at the temperature, before
// top-k/top-p and the vocabulary limit).
std::pair<tok::TokenId, float> Choose(const float* logp, const float* probs, int64_t vocab,
                                      const GenerationRequest& r, std::mt19937_64& rng,
                                      std::vector<int64_t>& order) {
  if (r.vocab_limit > 0) vocab = std::min(vocab, r.vocab_limit);
  if (r.temperature <= 0) {
    const int64_t best = std::max_element(logp, logp + vocab) - logp;
    return {static_cast<tok::TokenId>(best), logp[best]};
  }
  int64_t keep = vocab;
  order.resize(vocab);
  std::iota(order.begin(), order.end(), 0);
  if (r.top_k > 0 || r.top_p < 1.0f) {
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logp[a] > logp[b]; });
    if (r.top_k > 0) keep = std::min<int64_t>(keep, r.top_k);
    if (r.top_p < 1.0f) {
      double mass = 0;
      for (int64_t i = 0; i < keep; ++i) {
        mass += probs[order[i]];
        if (mass >= r.top_p) {
          keep = i + 1;
          break;
        }
      }
    }
  }
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += probs[order[i]];
  double u = std::uniform_real_distribution<double>(0, total)(rng);
  for (int64_t i = 0; i < keep; ++i) {
    u -= probs[order[i]];
    if (u <= 0) return {static_cast<tok::TokenId>(order[i]), logp[order[i]]};
  }
  return {static_cast<tok::TokenId>(order[keep - 1]), logp[order[keep - 1]]};
}

}  // namespace

std::vector<size_t> LengthBatches(const std::vector<int64_t>& sorted_lengths, int64_t batch_cost) {
  const size_t n = sorted_lengths.size();
  // cost[j]: the least cost of the first j lengths; from[j]: where the last
  // batch of that best split begins.
  std::vector<int64_t> cost(n + 1, 0);
  std::vector<size_t> from(n + 1, 0);
  for (size_t j = 1; j <= n; ++j) {
    cost[j] = -1;
    for (size_t i = 0; i < j; ++i) {
      const int64_t c = cost[i] + batch_cost + static_cast<int64_t>(j - i) * sorted_lengths[j - 1];
      if (cost[j] < 0 || c < cost[j]) {
        cost[j] = c;
        from[j] = i;
      }
    }
  }
  std::vector<size_t> ends;
  for (size_t j = n; j > 0; j = from[j]) ends.push_back(j);
  std::reverse(ends.begin(), ends.end());
  return ends;
}

bool EndsInRepeat(const std::vector<tok::TokenId>& tokens, int32_t ngram, int32_t count) {
  if (ngram <= 0 || count < 2) return false;
  const size_t span = static_cast<size_t>(ngram) * count;
  if (tokens.size() < span) return false;
  const size_t start = tokens.size() - span;
  for (size_t i = start + ngram; i < tokens.size(); ++i)
    if (tokens[i] != tokens[i - ngram]) return false;
  return true;
}

bool EndsInStopString(
    const std::vector<tok::TokenId>& tokens, const std::vector<std::string>& stops,
    const std::function<std::string(const std::vector<tok::TokenId>&)>& detokenize) {
  if (stops.empty() || tokens.empty()) return false;
  size_t longest = 0;
  for (const auto& s : stops) longest = std::max(longest, s.size());
  const size_t n = std::min(tokens.size(), longest + 1);
  const std::string tail = detokenize(std::vector<tok::TokenId>(tokens.end() - n, tokens.end()));
  for (const auto& s : stops) {
    if (!s.empty() && tail.size() >= s.size() &&
        tail.compare(tail.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

int64_t KvCacheBytesPerToken(const LlamaConfig& config) {
  return 2 * config.num_layers * config.num_kv_heads * config.head_dim() *
         static_cast<int64_t>(sizeof(float));
}

CacheShape PlanCache(const LlamaConfig& config, const std::vector<GenerationRequest>& requests,
                     int64_t slots, int64_t max_tokens) {
  CacheShape shape;
  shape.positions = 1;
  for (const GenerationRequest& r : requests) {
    const int32_t grow = r.budget > 0 ? std::min(r.max_new_tokens, r.budget) : r.max_new_tokens;
    shape.positions = std::max<int64_t>(shape.positions,
                                        static_cast<int64_t>(r.prompt.size()) + std::max(grow, 0));
  }
  shape.positions = std::min(shape.positions, config.max_positions);
  shape.slots = std::max<int64_t>(1, std::min<int64_t>(slots, requests.size()));
  if (max_tokens > 0) {
    if (max_tokens < shape.positions) {
      throw std::invalid_argument(
          "a KV cache of " + std::to_string(max_tokens) + " tokens cannot hold one sequence of " +
          std::to_string(shape.positions) + " tokens (the longest prompt plus its new tokens)");
    }
    shape.slots = std::min(shape.slots, max_tokens / shape.positions);
  }
  return shape;
}

std::vector<GenerationResult> Generate(Llama& model, const std::vector<GenerationRequest>& requests,
                                       int64_t slots, int64_t cache_tokens) {
  torch::InferenceMode guard;
  const CacheShape shape = PlanCache(model->config(), requests, slots, cache_tokens);
  // No request's sequence reaches past the cache's end, so a sequence that
  // stops at the model's context stops within it.
  const int64_t max_positions = model->config().max_positions;
  const int64_t vocab = model->config().vocab_size;
  std::vector<GenerationResult> results(requests.size());
  KvCache cache = model->NewCache(shape.slots, shape.positions);
  const size_t capacity = static_cast<size_t>(shape.slots);
  // Running sequences; between steps active[i] is in cache slot i, so that a
  // decode step reads the cache in place.
  std::vector<Active> active;
  std::vector<int64_t> order;  // Choose's scratch
  size_t next = 0;

  // Appends a sampled token; true when the sequence is finished.
  auto append = [&](Active& a, tok::TokenId token, float logprob) {
    const GenerationRequest& r = requests[a.request];
    GenerationResult& out = results[a.request];
    out.tokens.push_back(token);
    out.logprobs.push_back(logprob);
    a.last_token = token;
    const int64_t n = static_cast<int64_t>(out.tokens.size());
    if (std::find(r.stop_tokens.begin(), r.stop_tokens.end(), token) != r.stop_tokens.end() ||
        EndsInStopString(out.tokens, r.stop_strings, r.detokenize)) {
      out.finish = Finish::kStop;
    } else if (n >= r.max_new_tokens || a.position + 1 >= max_positions) {
      out.finish = Finish::kLength;
    } else if (EndsInRepeat(out.tokens, r.repeat_ngram, r.repeat_count)) {
      out.finish = Finish::kRepeat;
    } else if (r.budget > 0 && n >= r.budget) {
      out.finish = Finish::kBudget;
    } else {
      return false;
    }
    return true;
  };

  // Prefills `rows` (same-length-ish prompts) as one batch and samples their
  // first tokens.
  auto prefill = [&](std::vector<Active>& rows) {
    const int64_t n = static_cast<int64_t>(rows.size());
    int64_t width = 0;
    for (const auto& a : rows) width = std::max(width, a.position);
    torch::Tensor ids = torch::zeros({n, width}, torch::kLong);
    std::vector<int64_t> slot_ids(n), lengths(n);
    auto acc = ids.accessor<int64_t, 2>();
    for (int64_t i = 0; i < n; ++i) {
      const auto& prompt = requests[rows[i].request].prompt;
      for (size_t t = 0; t < prompt.size(); ++t) acc[i][t] = prompt[t];
      slot_ids[i] = rows[i].slot;
      lengths[i] = static_cast<int64_t>(prompt.size());
    }
    torch::Tensor logits = model->Prefill(cache, torch::tensor(slot_ids, torch::kLong), ids,
                                          torch::tensor(lengths, torch::kLong));
    auto [logp, probs] = SamplingDistributions(logits, requests, rows);
    for (int64_t i = 0; i < n; ++i) {
      Active& a = rows[i];
      auto [token, logprob] =
          Choose(logp.data_ptr<float>() + i * vocab, probs.data_ptr<float>() + i * vocab, vocab,
                 requests[a.request], a.rng, order);
      if (!append(a, token, logprob)) active.push_back(std::move(a));
    }
  };

  // Closes the gaps finished sequences left: each running sequence moves to
  // slot i (its cached positions copied along).
  auto compact = [&] {
    std::sort(active.begin(), active.end(),
              [](const Active& a, const Active& b) { return a.slot < b.slot; });
    for (size_t i = 0; i < active.size(); ++i) {
      Active& a = active[i];
      if (a.slot == static_cast<int64_t>(i)) continue;
      for (auto* layers : {&cache.keys, &cache.values}) {
        for (auto& t : *layers) {
          t[static_cast<int64_t>(i)]
              .narrow(1, 0, a.position)
              .copy_(t[a.slot].narrow(1, 0, a.position));
        }
      }
      a.slot = static_cast<int64_t>(i);
    }
  };

  while (next < requests.size() || !active.empty()) {
    // Admit waiting requests into the free slots (those after the running ones).
    compact();
    std::vector<Active> admitted;
    while (active.size() + admitted.size() < capacity && next < requests.size()) {
      const GenerationRequest& r = requests[next];
      TORCH_CHECK(!r.prompt.empty(), "generation request ", next, " has an empty prompt");
      TORCH_CHECK(r.stop_strings.empty() || r.detokenize, "generation request ", next,
                  " has stop strings but no detokenize function");
      if (r.max_new_tokens <= 0 || static_cast<int64_t>(r.prompt.size()) >= max_positions) {
        results[next].finish = Finish::kLength;
        ++next;
        continue;
      }
      const auto slot = static_cast<int64_t>(active.size() + admitted.size());
      admitted.push_back(
          Active{next, slot, static_cast<int64_t>(r.prompt.size()), 0, std::mt19937_64(r.seed)});
      ++next;
    }
    // Prefill them in batches of similar length: a batch is padded to its
    // longest prompt, and a continued trajectory's prompt (prompt + earlier
    // segments) can be many times a new one's.
    std::stable_sort(admitted.begin(), admitted.end(),
                     [](const Active& a, const Active& b) { return a.position < b.position; });
    std::vector<int64_t> lengths;
    for (const auto& a : admitted) lengths.push_back(a.position);
    size_t begin = 0;
    for (const size_t end : LengthBatches(lengths)) {
      std::vector<Active> rows(std::make_move_iterator(admitted.begin() + begin),
                               std::make_move_iterator(admitted.begin() + end));
      prefill(rows);
      begin = end;
    }
    compact();
    if (active.empty()) continue;
    const int64_t A = static_cast<int64_t>(active.size());
    std::vector<tok::TokenId> tokens(A);
    std::vector<int64_t> slot_ids(A), positions(A);
    for (int64_t i = 0; i < A; ++i) {
      tokens[i] = active[i].last_token;
      slot_ids[i] = active[i].slot;
      positions[i] = active[i].position;
    }
    torch::Tensor logits = model->DecodeStep(cache, torch::tensor(tokens).to(torch::kLong),
                                             torch::tensor(slot_ids, torch::kLong),
                                             torch::tensor(positions, torch::kLong));
    auto [logp, probs] = SamplingDistributions(logits, requests, active);
    std::vector<Active> still;
    for (int64_t i = 0; i < A; ++i) {
      Active& a = active[i];
      ++a.position;
      auto [token, logprob] =
          Choose(logp.data_ptr<float>() + i * vocab, probs.data_ptr<float>() + i * vocab, vocab,
                 requests[a.request], a.rng, order);
      if (!append(a, token, logprob)) still.push_back(std::move(a));
    }
    active = std::move(still);
  }
  return results;
}

}  // namespace crescent::model
