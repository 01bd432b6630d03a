#include "common/model/generator.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace crescent::model {
namespace {

struct Active {
  size_t request;
  int64_t slot;
  int64_t position;  // where the last sampled token goes in the cache
  int64_t last_token;
  std::mt19937_64 rng;
};

// Picks a token from one row of logits; returns it and its log-prob.
std::pair<int64_t, float> Choose(const float* logits, int64_t vocab, const GenerationRequest& r,
                                 std::mt19937_64& rng, std::vector<double>& scratch) {
  const double temperature = r.temperature > 0 ? r.temperature : 1.0;
  scratch.assign(logits, logits + vocab);
  double top = *std::max_element(scratch.begin(), scratch.end()) / temperature;
  double sum = 0;
  for (auto& x : scratch) sum += std::exp(x / temperature - top);
  const double log_z = top + std::log(sum);
  auto logprob = [&](int64_t t) { return static_cast<float>(logits[t] / temperature - log_z); };
  if (r.temperature <= 0) {
    int64_t best = std::max_element(logits, logits + vocab) - logits;
    return {best, logprob(best)};
  }
  std::vector<int64_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  int64_t keep = vocab;
  if (r.top_k > 0 || r.top_p < 1.0f) {
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
    if (r.top_k > 0) keep = std::min<int64_t>(keep, r.top_k);
    if (r.top_p < 1.0f) {
      double mass = 0;
      for (int64_t i = 0; i < keep; ++i) {
        mass += std::exp(logprob(order[i]));
        if (mass >= r.top_p) {
          keep = i + 1;
          break;
        }
      }
    }
  }
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += std::exp(logprob(order[i]));
  double u = std::uniform_real_distribution<double>(0, total)(rng);
  for (int64_t i = 0; i < keep; ++i) {
    u -= std::exp(logprob(order[i]));
    if (u <= 0) return {order[i], logprob(order[i])};
  }
  return {order[keep - 1], logprob(order[keep - 1])};
}

}  // namespace

bool EndsInRepeat(const std::vector<int64_t>& tokens, int32_t ngram, int32_t count) {
  if (ngram <= 0 || count < 2) return false;
  const size_t span = static_cast<size_t>(ngram) * count;
  if (tokens.size() < span) return false;
  const size_t start = tokens.size() - span;
  for (size_t i = start + ngram; i < tokens.size(); ++i)
    if (tokens[i] != tokens[i - ngram]) return false;
  return true;
}

bool EndsInStopString(const std::vector<int64_t>& tokens, const std::vector<std::string>& stops,
                      const std::function<std::string(const std::vector<int64_t>&)>& detokenize) {
  if (stops.empty() || tokens.empty()) return false;
  size_t longest = 0;
  for (const auto& s : stops) longest = std::max(longest, s.size());
  const size_t n = std::min(tokens.size(), longest + 1);
  const std::string tail = detokenize(std::vector<int64_t>(tokens.end() - n, tokens.end()));
  for (const auto& s : stops) {
    if (!s.empty() && tail.size() >= s.size() &&
        tail.compare(tail.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

std::vector<GenerationResult> Generate(Llama& model, const std::vector<GenerationRequest>& requests,
                                       int64_t slots) {
  torch::InferenceMode guard;
  const int64_t max_positions = model->config().max_positions;
  const int64_t vocab = model->config().vocab_size;
  std::vector<GenerationResult> results(requests.size());
  KvCache cache = model->NewCache(std::min<int64_t>(slots, std::max<size_t>(requests.size(), 1)));
  std::vector<int64_t> free_slots;
  for (int64_t s = static_cast<int64_t>(cache.keys[0].size(0)) - 1; s >= 0; --s)
    free_slots.push_back(s);
  std::vector<Active> active;
  std::vector<double> scratch;
  size_t next = 0;

  // Appends a sampled token; true when the sequence is finished.
  auto append = [&](Active& a, int64_t token, float logprob) {
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
    torch::Tensor logits = model
                               ->Prefill(cache, torch::tensor(slot_ids, torch::kLong), ids,
                                         torch::tensor(lengths, torch::kLong))
                               .to(torch::kFloat32)
                               .contiguous();
    for (int64_t i = 0; i < n; ++i) {
      Active& a = rows[i];
      auto [token, logprob] =
          Choose(logits.data_ptr<float>() + i * vocab, vocab, requests[a.request], a.rng, scratch);
      if (append(a, token, logprob)) {
        free_slots.push_back(a.slot);
      } else {
        active.push_back(std::move(a));
      }
    }
  };

  while (next < requests.size() || !active.empty()) {
    // Admit waiting requests into the free slots.
    std::vector<Active> admitted;
    while (!free_slots.empty() && next < requests.size()) {
      const GenerationRequest& r = requests[next];
      TORCH_CHECK(!r.prompt.empty(), "generation request ", next, " has an empty prompt");
      TORCH_CHECK(r.stop_strings.empty() || r.detokenize, "generation request ", next,
                  " has stop strings but no detokenize function");
      if (r.max_new_tokens <= 0 || static_cast<int64_t>(r.prompt.size()) >= max_positions) {
        results[next].finish = Finish::kLength;
        ++next;
        continue;
      }
      admitted.push_back(Active{next, free_slots.back(), static_cast<int64_t>(r.prompt.size()), 0,
                                std::mt19937_64(r.seed)});
      free_slots.pop_back();
      ++next;
    }
    // Prefill them in batches of similar length: a batch is padded to its
    // longest prompt, and a continued trajectory's prompt (prompt + earlier
    // segments) can be many times a new one's.
    std::stable_sort(admitted.begin(), admitted.end(),
                     [](const Active& a, const Active& b) { return a.position < b.position; });
    for (size_t begin = 0; begin < admitted.size();) {
      const int64_t shortest = admitted[begin].position;
      size_t end = begin + 1;
      while (end < admitted.size() &&
             (admitted[end].position <= 2 * shortest || admitted[end].position <= shortest + 16))
        ++end;
      std::vector<Active> rows(std::make_move_iterator(admitted.begin() + begin),
                               std::make_move_iterator(admitted.begin() + end));
      prefill(rows);
      begin = end;
    }
    if (active.empty()) continue;
    const int64_t A = static_cast<int64_t>(active.size());
    std::vector<int64_t> tokens(A), slot_ids(A), positions(A);
    for (int64_t i = 0; i < A; ++i) {
      tokens[i] = active[i].last_token;
      slot_ids[i] = active[i].slot;
      positions[i] = active[i].position;
    }
    torch::Tensor logits = model
                               ->DecodeStep(cache, torch::tensor(tokens, torch::kLong),
                                            torch::tensor(slot_ids, torch::kLong),
                                            torch::tensor(positions, torch::kLong))
                               .to(torch::kFloat32)
                               .contiguous();
    const float* rows = logits.data_ptr<float>();
    std::vector<Active> still;
    for (int64_t i = 0; i < A; ++i) {
      Active& a = active[i];
      ++a.position;
      auto [token, logprob] = Choose(rows + i * vocab, vocab, requests[a.request], a.rng, scratch);
      if (append(a, token, logprob)) {
        free_slots.push_back(a.slot);
      } else {
        still.push_back(std::move(a));
      }
    }
    active = std::move(still);
  }
  return results;
}

}  // namespace crescent::model
