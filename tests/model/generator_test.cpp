#include "common/model/generator.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace crescent::model;
namespace tok = crescent::tok;

namespace {
Llama TinyModel() {
  torch::manual_seed(3);
  LlamaConfig c;
  c.vocab_size = 13;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.max_positions = 24;
  Llama m(c);
  // Spread the weights so that greedy choices are not all ties.
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.normal_(0, 0.3);
  return m;
}
}  // namespace

TEST_CASE("greedy generation equals argmax of full forwards, step by step", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  GenerationRequest r;
  r.prompt = {1, 5, 7, 2};
  r.max_new_tokens = 6;
  r.temperature = 0;
  auto out = Generate(m, {r}, 4)[0];
  REQUIRE(out.tokens.size() == 6);
  CHECK(out.finish == Finish::kLength);
  std::vector<tok::TokenId> seq = r.prompt;
  torch::NoGradGuard g;
  for (size_t i = 0; i < out.tokens.size(); ++i) {
    torch::Tensor logits = m->forward(torch::tensor(seq).to(torch::kLong).view({1, -1}))[0][-1];
    CHECK(logits.argmax().item<int64_t>() == out.tokens[i]);
    CHECK(torch::log_softmax(logits, -1)[out.tokens[i]].item<float>() ==
          Approx(out.logprobs[i]).margin(1e-4));
    seq.push_back(out.tokens[i]);
  }
}

TEST_CASE("sampled log-probs equal a recomputation at the temperature", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  GenerationRequest r;
  r.prompt = {3, 4};
  r.max_new_tokens = 5;
  r.temperature = 0.7f;
  r.seed = 11;
  auto out = Generate(m, {r}, 2)[0];
  std::vector<tok::TokenId> seq = r.prompt;
  seq.insert(seq.end(), out.tokens.begin(), out.tokens.end());
  torch::NoGradGuard g;
  torch::Tensor logits = m->forward(torch::tensor(seq).to(torch::kLong).view({1, -1}))[0];
  for (size_t i = 0; i < out.tokens.size(); ++i) {
    float expect =
        torch::log_softmax(logits[r.prompt.size() - 1 + i] / 0.7, -1)[out.tokens[i]].item<float>();
    CHECK(out.logprobs[i] == Approx(expect).margin(1e-4));
  }
  // The same seed gives the same sample; another seed, in general, another.
  CHECK(Generate(m, {r}, 2)[0].tokens == out.tokens);
}

TEST_CASE("continuous batching with fewer slots than requests matches one by one", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  std::vector<GenerationRequest> rs;
  for (int i = 0; i < 7; ++i) {
    GenerationRequest r;
    r.prompt = {1, tok::TokenId(2 + i % 5), tok::TokenId(3 + i % 3)};
    if (i % 2) r.prompt.push_back(9);
    r.max_new_tokens = 3 + i % 4;
    r.temperature = i % 3 ? 1.0f : 0.0f;
    r.top_k = i == 4 ? 3 : 0;
    r.top_p = i == 5 ? 0.8f : 1.0f;
    r.seed = 100 + i;
    r.stop_tokens = {12};
    rs.push_back(r);
  }
  auto batched = Generate(m, rs, 3);
  for (size_t i = 0; i < rs.size(); ++i) {
    auto alone = Generate(m, {rs[i]}, 1)[0];
    INFO("request " << i);
    CHECK(batched[i].tokens == alone.tokens);
    CHECK(batched[i].finish == alone.finish);
    for (size_t t = 0; t < alone.logprobs.size(); ++t) {
      CHECK(batched[i].logprobs[t] == Approx(alone.logprobs[t]).margin(1e-4));
    }
  }
}

TEST_CASE("a budget stops early and the prefix continues where it stopped", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  GenerationRequest r;
  r.prompt = {1, 2, 3};
  r.max_new_tokens = 8;
  r.temperature = 0;
  auto whole = Generate(m, {r}, 1)[0];
  r.budget = 3;
  auto first = Generate(m, {r}, 1)[0];
  CHECK(first.finish == Finish::kBudget);
  REQUIRE(first.tokens.size() == 3);
  GenerationRequest rest = r;
  rest.prompt.insert(rest.prompt.end(), first.tokens.begin(), first.tokens.end());
  rest.max_new_tokens = 5;
  rest.budget = 0;
  auto second = Generate(m, {rest}, 1)[0];
  std::vector<tok::TokenId> joined = first.tokens;
  joined.insert(joined.end(), second.tokens.begin(), second.tokens.end());
  CHECK(joined == whole.tokens);
}

TEST_CASE("token log-probs for training carry gradients", "[model]") {
  Llama m = TinyModel();
  torch::Tensor ids = torch::tensor({{1, 2, 3, 4}, {4, 3, 2, 1}}, torch::kLong);
  torch::Tensor lp = TokenLogprobs(m, ids);
  CHECK(lp.sizes() == torch::IntArrayRef({2, 3}));
  lp.sum().backward();
  double norm = 0;
  for (auto& p : m->parameters()) norm += p.grad().norm().item<double>();
  CHECK(norm > 0);
}

TEST_CASE("sampled log-probs equal the training-side TokenLogprobs at the temperature", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  GenerationRequest r;
  r.prompt = {2, 9, 4};
  r.max_new_tokens = 6;
  r.temperature = 1.0f;
  r.top_k = 4;  // log-probs are taken before top-k
  r.seed = 21;
  auto out = Generate(m, {r}, 2)[0];
  std::vector<tok::TokenId> seq = r.prompt;
  seq.insert(seq.end(), out.tokens.begin(), out.tokens.end());
  torch::NoGradGuard g;
  torch::Tensor lp = TokenLogprobs(m, torch::tensor(seq).to(torch::kLong).view({1, -1}))[0];
  for (size_t i = 0; i < out.tokens.size(); ++i) {
    CHECK(out.logprobs[i] == Approx(lp[r.prompt.size() - 1 + i].item<float>()).margin(1e-4));
  }
}

TEST_CASE("the repetition detector finds an n-gram repeated at the end", "[model]") {
  CHECK(EndsInRepeat({5, 1, 2, 1, 2, 1, 2}, 2, 3));
  CHECK_FALSE(EndsInRepeat({5, 1, 2, 1, 2, 1, 3}, 2, 3));
  CHECK_FALSE(EndsInRepeat({1, 2, 1, 2}, 2, 3));  // too short
  CHECK(EndsInRepeat({7, 7, 7}, 1, 3));
  CHECK_FALSE(EndsInRepeat({7, 7, 7}, 0, 3));  // off
}

TEST_CASE("a looping response stops with finish reason repeat", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  {
    torch::NoGradGuard g;
    for (auto& p : m->parameters()) p.zero_();  // all logits equal: greedy emits token 0 forever
  }
  GenerationRequest r;
  r.prompt = {1, 2, 3};
  r.max_new_tokens = 12;
  r.temperature = 0;
  auto free_run = Generate(m, {r}, 1)[0];
  CHECK(free_run.finish == Finish::kLength);
  CHECK(free_run.tokens.size() == 12);
  r.repeat_ngram = 1;
  r.repeat_count = 4;
  auto stopped = Generate(m, {r}, 1)[0];
  CHECK(stopped.finish == Finish::kRepeat);
  CHECK(stopped.tokens == std::vector<tok::TokenId>{0, 0, 0, 0});
}

TEST_CASE("a stop string ends the response right where its text appears", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  auto letters = [](const std::vector<tok::TokenId>& ids) {
    std::string s;
    for (tok::TokenId id : ids) s += static_cast<char>('a' + id);
    return s;
  };
  GenerationRequest r;
  r.prompt = {1, 2, 3};
  r.max_new_tokens = 16;
  r.temperature = 0;
  auto whole = Generate(m, {r}, 1)[0];
  REQUIRE(whole.tokens.size() >= 4);
  const std::string text = letters(whole.tokens);
  const std::string stop = text.substr(2, 2);  // a two-token string from the middle
  const size_t end = text.find(stop) + stop.size();
  r.stop_strings = {"zzzz", stop};
  r.detokenize = letters;
  auto cut = Generate(m, {r}, 1)[0];
  CHECK(cut.finish == Finish::kStop);
  CHECK(cut.tokens == std::vector<tok::TokenId>(whole.tokens.begin(), whole.tokens.begin() + end));
  r.detokenize = nullptr;
  CHECK_THROWS(Generate(m, {r}, 1));
}

TEST_CASE("length batches keep short prompts apart from long continued ones", "[model]") {
  // A partial-rollout iteration: 32 new 3-token prompts and continued
  // trajectories of 19, 35 and 51 tokens, four each.
  std::vector<int64_t> lengths(32, 3);
  for (int64_t l : {19, 35, 51}) lengths.insert(lengths.end(), 4, l);
  auto cost = [&](const std::vector<size_t>& ends) {
    int64_t c = 0;
    size_t begin = 0;
    for (size_t end : ends) {
      c += 64 + static_cast<int64_t>(end - begin) * lengths[end - 1];
      begin = end;
    }
    return c;
  };
  const auto ends = LengthBatches(lengths);
  REQUIRE(!ends.empty());
  CHECK(ends.front() == 32);  // the new prompts form a batch of their own
  CHECK(ends.back() == lengths.size());
  for (size_t i = 1; i < ends.size(); ++i) CHECK(ends[i] > ends[i - 1]);
  // No worse than one batch, or a batch per distinct length.
  CHECK(cost(ends) <= cost({lengths.size()}));
  CHECK(cost(ends) <= cost({32, 36, 40, 44}));
  // Equal lengths share one batch; a lone length is a batch; none is none.
  CHECK(LengthBatches(std::vector<int64_t>(10, 7)) == std::vector<size_t>{10});
  CHECK(LengthBatches({5}) == std::vector<size_t>{1});
  CHECK(LengthBatches({}).empty());
  // With no cost per batch, every distinct length is its own batch.
  CHECK(LengthBatches({2, 2, 9, 40}, 0) == std::vector<size_t>{2, 3, 4});
}

TEST_CASE("top_k 1 or a tiny top_p samples the greedy tokens at temperature 1", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  GenerationRequest greedy;
  greedy.prompt = {1, 5, 7, 2};
  greedy.max_new_tokens = 6;
  greedy.temperature = 0;
  const std::vector<tok::TokenId> want = Generate(m, {greedy}, 1)[0].tokens;
  std::vector<GenerationRequest> plain, top_k, top_p;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    GenerationRequest r = greedy;
    r.temperature = 1.0f;
    r.seed = seed;
    plain.push_back(r);
    r.top_k = 1;
    top_k.push_back(r);
    r.top_k = 0;
    r.top_p = 1e-6f;
    top_p.push_back(r);
  }
  const auto plain_out = Generate(m, plain, 8), k_out = Generate(m, top_k, 8),
             p_out = Generate(m, top_p, 8);
  bool plain_differs = false;
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("seed " << plain[i].seed);
    CHECK(k_out[i].tokens == want);
    CHECK(p_out[i].tokens == want);
    plain_differs = plain_differs || plain_out[i].tokens != want;
  }
  CHECK(plain_differs);  // without them, sampling at temperature 1 leaves the greedy path
}

namespace {
// For each request's result, whether every sampled token was among the
// tokens `allowed(logits)` marks (true) at its step, recomputed with a full
// forward pass over prompt and response.
bool AllAllowed(Llama& m, const std::vector<GenerationRequest>& requests,
                const std::vector<GenerationResult>& results,
                const std::function<torch::Tensor(const torch::Tensor&)>& allowed) {
  torch::NoGradGuard g;
  for (size_t i = 0; i < requests.size(); ++i) {
    std::vector<tok::TokenId> seq = requests[i].prompt;
    seq.insert(seq.end(), results[i].tokens.begin(), results[i].tokens.end());
    torch::Tensor logits = m->forward(torch::tensor(seq).to(torch::kLong).view({1, -1}))[0];
    for (size_t t = 0; t < results[i].tokens.size(); ++t) {
      torch::Tensor ok = allowed(logits[requests[i].prompt.size() - 1 + t]);
      if (!ok[results[i].tokens[t]].item<bool>()) return false;
    }
  }
  return true;
}

std::vector<GenerationRequest> Sampled(int32_t top_k, float top_p) {
  std::vector<GenerationRequest> rs;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    GenerationRequest r;
    r.prompt = {2, tok::TokenId(3 + seed % 7)};
    r.max_new_tokens = 8;
    r.temperature = 1.0f;
    r.top_k = top_k;
    r.top_p = top_p;
    r.seed = 40 + seed;
    rs.push_back(r);
  }
  return rs;
}
}  // namespace

TEST_CASE("top_k k samples only among the k most likely tokens of each step", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  const int64_t k = 3;
  auto in_top_k = [&](const torch::Tensor& logits) {
    return logits >= std::get<0>(logits.topk(k)).min();
  };
  const auto rs = Sampled(k, 1.0f);
  CHECK(AllAllowed(m, rs, Generate(m, rs, 4), in_top_k));
  // Without top_k some sample falls outside the top k.
  const auto free = Sampled(0, 1.0f);
  CHECK_FALSE(AllAllowed(m, free, Generate(m, free, 4), in_top_k));
}

TEST_CASE("top_p p samples only within the nucleus of mass p", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  const float p = 0.5f;
  // The nucleus: the most likely tokens up to and including the one whose
  // cumulative probability reaches p.
  auto in_nucleus = [&](const torch::Tensor& logits) {
    auto [sorted, order] = torch::softmax(logits, -1).sort(-1, /*descending=*/true);
    torch::Tensor before = sorted.cumsum(-1) - sorted;  // mass of the more likely tokens
    torch::Tensor keep = torch::zeros_like(logits, torch::kBool);
    keep.index_put_({order}, before < p);
    return keep;
  };
  const auto rs = Sampled(0, p);
  CHECK(AllAllowed(m, rs, Generate(m, rs, 4), in_nucleus));
  const auto free = Sampled(0, 1.0f);
  CHECK_FALSE(AllAllowed(m, free, Generate(m, free, 4), in_nucleus));
}

TEST_CASE("vocab_limit: ids at or past it are never sampled, log-probs stay full", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  // Make the last rows the most likely: an embedding's padding rows past the
  // tokenizer's end would be drawn without the limit.
  {
    torch::NoGradGuard g;
    m->named_parameters()["embed_tokens.weight"].slice(0, 9).mul_(8);
  }
  for (float temperature : {0.0f, 1.5f}) {
    INFO("temperature " << temperature);
    GenerationRequest r;
    r.prompt = {1, 2};
    r.max_new_tokens = 20;
    r.temperature = temperature;
    r.seed = 5;
    GenerationRequest unlimited = r;
    auto drawn = Generate(m, {unlimited}, 1)[0].tokens;
    CHECK(*std::max_element(drawn.begin(), drawn.end()) >= 9);  // the test would see a leak
    r.vocab_limit = 9;
    auto out = Generate(m, {r}, 1)[0];
    REQUIRE(out.tokens.size() == 20);
    std::vector<tok::TokenId> seq = r.prompt;
    seq.insert(seq.end(), out.tokens.begin(), out.tokens.end());
    torch::NoGradGuard g;
    torch::Tensor logits = m->forward(torch::tensor(seq).to(torch::kLong).view({1, -1}))[0];
    const float t = temperature > 0 ? temperature : 1.0f;
    for (size_t i = 0; i < out.tokens.size(); ++i) {
      CHECK(out.tokens[i] < 9);
      const int64_t pos = static_cast<int64_t>(r.prompt.size() + i) - 1;
      CHECK(torch::log_softmax(logits[pos] / t, -1)[out.tokens[i]].item<float>() ==
            Approx(out.logprobs[i]).margin(1e-4));
    }
  }
}

TEST_CASE("the KV cache holds the call's longest sequence, for at most cache_tokens in all",
          "[model]") {
  LlamaConfig c;
  c.max_positions = 40960;  // Qwen3's: a cache this long for every slot would be gigabytes
  std::vector<GenerationRequest> rs(5);
  for (size_t i = 0; i < rs.size(); ++i) {
    rs[i].prompt.assign(10 + i, 1);  // prompts of 10..14 tokens
    rs[i].max_new_tokens = 20;
  }
  rs[4].budget = 6;  // 14 + 6: a budgeted request stops sooner
  CacheShape shape = PlanCache(c, rs, 64);
  CHECK(shape.positions == 13 + 20);
  CHECK(shape.slots == 5);  // no more than there are requests
  shape = PlanCache(c, rs, 64, 100);
  CHECK(shape.slots == 3);  // 100 / 33
  CHECK(PlanCache(c, rs, 2, 100).slots == 2);
  CHECK_THROWS_WITH(PlanCache(c, rs, 64, 32),
                    Catch::Contains("32 tokens") && Catch::Contains("one sequence of 33 tokens"));
  c.max_positions = 24;  // the model's context caps it
  CHECK(PlanCache(c, rs, 64).positions == 24);
  CHECK(KvCacheBytesPerToken(c) == 2 * c.num_layers * c.num_kv_heads * c.head_dim() * 4);
}

TEST_CASE("a bounded KV cache generates what an unbounded one does, fewer at a time", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  std::vector<GenerationRequest> rs;
  for (int i = 0; i < 6; ++i) {
    GenerationRequest r;
    r.prompt = {1, tok::TokenId(2 + i % 5), tok::TokenId(3 + i % 3)};
    r.max_new_tokens = 4 + i % 3;
    r.temperature = i % 2 ? 1.0f : 0.0f;
    r.seed = 7 + i;
    rs.push_back(r);
  }
  const auto unbounded = Generate(m, rs, 6);
  const auto bounded = Generate(m, rs, 6, /*cache_tokens=*/2 * 9);  // two at a time
  for (size_t i = 0; i < rs.size(); ++i) {
    INFO("request " << i);
    CHECK(bounded[i].tokens == unbounded[i].tokens);
    CHECK(bounded[i].finish == unbounded[i].finish);
  }
}

TEST_CASE("prefill in chunks gives the logits and the cache of one whole prefill", "[model]") {
  torch::set_num_threads(1);
  Llama m = TinyModel();
  torch::NoGradGuard no_grad;
  torch::manual_seed(8);
  const torch::Tensor ids = torch::randint(0, 13, {3, 11}, torch::kLong);
  const torch::Tensor lengths = torch::tensor({11, 4, 7}, torch::kLong);
  const torch::Tensor slots = torch::tensor({2, 0, 1}, torch::kLong);
  KvCache whole = m->NewCache(3, 16), chunked = m->NewCache(3, 16);
  const torch::Tensor expected = m->Prefill(whole, slots, ids, lengths);
  const torch::Tensor got = m->Prefill(chunked, slots, ids, lengths, /*chunk=*/3);
  CHECK(torch::allclose(got, expected, 1e-4, 1e-5));
  // Each row's last-token logits equal a plain forward of that row alone.
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = lengths[b].item<int64_t>();
    const torch::Tensor alone = m->forward(ids[b].narrow(0, 0, n).view({1, n}))[0][n - 1];
    CHECK(torch::allclose(got[b], alone, 1e-4, 1e-5));
  }
  for (size_t l = 0; l < whole.keys.size(); ++l) {
    CHECK(torch::allclose(chunked.keys[l].narrow(2, 0, 11), whole.keys[l].narrow(2, 0, 11), 1e-4,
                          1e-5));
    CHECK(torch::allclose(chunked.values[l].narrow(2, 0, 11), whole.values[l].narrow(2, 0, 11),
                          1e-4, 1e-5));
  }
}
