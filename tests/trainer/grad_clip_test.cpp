// trainer.grad_clip: UpdatePolicy clips the gradient's global norm before
// Adam's step; Adam's second moment after one step shows the clipped
// gradient.
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "trainer/policy_update.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <algorithm>
#include <cmath>
#include <random>

namespace crescent::trainer {
namespace {

class OneRank : public weights::WeightSync {
 public:
  int64_t Broadcast(const std::vector<torch::Tensor>&, int64_t version) override { return version; }
  void AllReduceSum(const std::vector<torch::Tensor>&) override {}
};

model::LlamaConfig Tiny() {
  model::LlamaConfig c;
  c.vocab_size = 12;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 1;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.max_positions = 32;
  return c;
}

// Three groups of four samples with rewards 0, 1, 0, 1: a nonzero gradient.
std::vector<proto::TrainGroup> Groups() {
  std::mt19937_64 rng(7);
  std::vector<proto::TrainGroup> groups(3);
  for (auto& g : groups) {
    for (int j = 0; j < 4; ++j) {
      proto::TrainSample s;
      s.prompt_tokens = {1, static_cast<int32_t>(2 + rng() % 8)};
      const int n = 1 + rng() % 5;
      for (int t = 0; t < n; ++t) {
        s.response_tokens.push_back(rng() % 12);
        s.behaviour_logprobs.push_back(-2.0f);
        s.loss_mask.push_back(1);
      }
      s.reward = static_cast<double>(j % 2);
      g.samples.push_back(std::move(s));
    }
  }
  return groups;
}

struct OneStep {
  double grad_norm;                       // stats["grad_norm"]: before clipping
  std::vector<torch::Tensor> grads;       // every parameter's gradient as Adam used it
  std::vector<torch::Tensor> exp_avg_sq;  // Adam's second moment of every parameter
};

// One UpdatePolicy step from the same initial weights with trainer.grad_clip `clip`.
OneStep StepWithClip(double clip) {
  torch::manual_seed(1);
  model::Llama m(Tiny());
  config::TrainerSection c;
  c.reset_optimizer = false;
  c.steps_per_iteration = 1;
  c.grad_clip = clip;
  OneRank one;
  TrainerOptimizer optimizer(m->parameters(), LrSchedule{});
  auto stats = UpdatePolicy(m, c, Groups(), 3, one, optimizer);
  OneStep out;
  out.grad_norm = stats.at("grad_norm");
  for (const auto& p : m->parameters()) {
    out.grads.push_back(p.grad().clone());
    out.exp_avg_sq.push_back(
        static_cast<torch::optim::AdamParamState&>(
            *optimizer.adam.state().at(c10::guts::to_string(p.unsafeGetTensorImpl())))
            .exp_avg_sq()
            .clone());
  }
  return out;
}

}  // namespace

TEST_CASE("trainer.grad_clip scales the gradient Adam sees to the clip norm", "[trainer]") {
  // A clip far above the norm leaves the gradient g as it is; a clip below
  // it scales g by clip / |g|. Adam's second moment after its first step is
  // (1 - beta2) * (the gradient it saw)^2, beta2 = 0.999.
  torch::set_num_threads(1);
  const OneStep huge = StepWithClip(1e9);
  const double clip = 1e-3;
  const OneStep tiny = StepWithClip(clip);
  REQUIRE(huge.grad_norm > 10 * clip);
  CHECK(tiny.grad_norm == Approx(huge.grad_norm));  // the statistic is the norm before clipping
  const double scale = std::min(1.0, clip / huge.grad_norm);
  double seen_sq_norm = 0;
  for (size_t i = 0; i < huge.grads.size(); ++i) {
    INFO("parameter " << i);
    const torch::Tensor& g = huge.grads[i];
    CHECK(torch::allclose(huge.exp_avg_sq[i], 0.001 * g * g, 1e-4, 1e-20));
    const torch::Tensor clipped = g * scale;
    CHECK(torch::allclose(tiny.exp_avg_sq[i], 0.001 * clipped * clipped, 1e-4, 1e-20));
    seen_sq_norm += (tiny.exp_avg_sq[i] / 0.001).sum().item<double>();
  }
  // The gradient the clipped step saw has global norm `clip`.
  CHECK(std::sqrt(seen_sq_norm) == Approx(clip).epsilon(1e-3));
}

}  // namespace crescent::trainer
