// The built-in policy as the config's model.* and sft.seed keys build it, and
// the compute threads that threads.trainer / threads.rollout set.
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "common/model/policy.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <string>
#include <vector>

using namespace crescent;

namespace {

config::Config Config(const std::vector<std::string>& settings) {
  return config::ParseConfig("", "<test>", settings);
}

std::vector<int64_t> Shape(const torch::Tensor& t) { return t.sizes().vec(); }

}  // namespace

TEST_CASE("model.* keys set the built-in model's architecture", "[model]") {
  struct Case {
    int64_t hidden, intermediate, layers, heads, kv_heads, max_sequence;
  };
  for (const Case& k : {Case{32, 40, 2, 4, 2, 24}, Case{48, 56, 3, 8, 4, 40}}) {
    INFO("hidden " << k.hidden << " layers " << k.layers << " heads " << k.heads);
    model::Policy p = model::NewBuiltinPolicy(Config(
        {"model.hidden_size=" + std::to_string(k.hidden),
         "model.intermediate_size=" + std::to_string(k.intermediate),
         "model.layers=" + std::to_string(k.layers), "model.heads=" + std::to_string(k.heads),
         "model.kv_heads=" + std::to_string(k.kv_heads),
         "model.max_sequence=" + std::to_string(k.max_sequence)}));
    const int64_t vocab = p.tokenizer.VocabSize();
    const int64_t head_dim = k.hidden / k.heads;
    auto params = p.model->named_parameters();
    CHECK(Shape(params["embed_tokens.weight"]) == std::vector<int64_t>{vocab, k.hidden});
    int64_t layers = 0;
    while (params.contains("layers." + std::to_string(layers) + ".q_proj.weight")) ++layers;
    CHECK(layers == k.layers);
    const std::string last = "layers." + std::to_string(k.layers - 1) + ".";
    CHECK(Shape(params[last + "q_proj.weight"]) ==
          std::vector<int64_t>{k.heads * head_dim, k.hidden});
    // Grouped-query attention: kv_heads heads of hidden_size / heads each.
    CHECK(Shape(params[last + "k_proj.weight"]) ==
          std::vector<int64_t>{k.kv_heads * head_dim, k.hidden});
    CHECK(Shape(params[last + "v_proj.weight"]) ==
          std::vector<int64_t>{k.kv_heads * head_dim, k.hidden});
    CHECK(Shape(params[last + "gate_proj.weight"]) ==
          std::vector<int64_t>{k.intermediate, k.hidden});
    CHECK(Shape(params[last + "down_proj.weight"]) ==
          std::vector<int64_t>{k.hidden, k.intermediate});
    // The KV cache holds max_sequence positions of each kv head.
    const model::KvCache cache = p.model->NewCache(1);
    REQUIRE(cache.keys.size() == static_cast<size_t>(k.layers));
    CHECK(Shape(cache.keys[0]) == std::vector<int64_t>{1, k.kv_heads, k.max_sequence, head_dim});
    CHECK(p.model->config().max_positions == k.max_sequence);
  }
}

TEST_CASE("sft.seed sets the built-in model's initial weights", "[model]") {
  const std::vector<std::string> tiny = {"model.hidden_size=16", "model.intermediate_size=24",
                                         "model.layers=1", "model.heads=2", "model.kv_heads=1"};
  auto weights = [&](int64_t seed) {
    std::vector<std::string> s = tiny;
    s.push_back("sft.seed=" + std::to_string(seed));
    return model::NewBuiltinPolicy(Config(s)).model->parameters();
  };
  const auto a = weights(1), again = weights(1), other = weights(2);
  REQUIRE(a.size() == other.size());
  bool all_same = true, any_other = false;
  for (size_t i = 0; i < a.size(); ++i) {
    all_same = all_same && torch::equal(a[i], again[i]);
    any_other = any_other || !torch::equal(a[i], other[i]);
  }
  CHECK(all_same);
  CHECK(any_other);
}

TEST_CASE("SetComputeThreads with threads.trainer or threads.rollout sets LibTorch's threads",
          "[model]") {
  const int before = torch::get_num_threads();
  const config::Config c = Config({"threads.trainer=3", "threads.rollout=2"});
  model::SetComputeThreads(static_cast<int>(c.threads.trainer));
  CHECK(torch::get_num_threads() == 3);
  model::SetComputeThreads(static_cast<int>(c.threads.rollout));
  CHECK(torch::get_num_threads() == 2);
  model::SetComputeThreads(before);
  CHECK(torch::get_num_threads() == before);
}
