// UpdatePolicy batches the samples of all groups by length; its gradients
// must equal those of each group's loss computed on that group alone.
#include "trainer/policy_update.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "trainer/policy_loss.hpp"

namespace crescent::trainer {
namespace {

using torch::indexing::Slice;

// Keeps a copy of the gradients it is asked to sum (one rank: the sum is
// the gradient itself).
class GradientRecorder : public weights::WeightSync {
 public:
  int64_t Broadcast(const std::vector<torch::Tensor>&, int64_t version) override { return version; }
  void AllReduceSum(const std::vector<torch::Tensor>& tensors) override {
    recorded.clear();
    for (const auto& t : tensors) recorded.push_back(t.clone());
  }
  std::vector<torch::Tensor> recorded;
};

model::LlamaConfig SmallConfig() {
  model::LlamaConfig c;
  c.vocab_size = 20;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_layers = 2;
  c.num_heads = 2;
  c.num_kv_heads = 1;
  c.max_positions = 80;
  return c;
}

// Groups whose responses range from 1 to 60 tokens (rows of one group land
// in different length buckets), with excluded segments and rollout log-probs.
std::vector<proto::TrainGroup> MakeGroups(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<proto::TrainGroup> groups(5);
  for (auto& g : groups) {
    const int prompt = 2 + rng() % 6;
    std::vector<int32_t> prompt_tokens;
    for (int t = 0; t < prompt; ++t) prompt_tokens.push_back(rng() % 20);
    for (int j = 0; j < 4; ++j) {
      proto::TrainSample s;
      s.prompt_tokens = prompt_tokens;
      const int n = rng() % 4 == 0 ? 40 + rng() % 21 : 1 + rng() % 8;
      for (int t = 0; t < n; ++t) {
        s.response_tokens.push_back(rng() % 20);
        s.behaviour_logprobs.push_back(-0.5f - 0.1f * (rng() % 30));
        s.loss_mask.push_back(t < n / 3 && n > 3 ? 0 : 1);  // an excluded first segment
      }
      s.reward = static_cast<double>(rng() % 2);
      g.samples.push_back(std::move(s));
    }
  }
  return groups;
}

// The loss of one group, on that group alone padded to its longest sample.
// With kl_coef, GRPO's KL term is to `frozen`.
torch::Tensor GroupLoss(model::Llama& m, model::Llama& frozen, const proto::TrainGroup& g,
                        const config::TrainerSection& c) {
  const int64_t k = g.samples.size();
  int64_t width = 2;
  for (const auto& s : g.samples)
    width = std::max<int64_t>(width, s.prompt_tokens.size() + s.response_tokens.size());
  torch::Tensor ids = torch::zeros({k, width}, torch::kLong);
  torch::Tensor mask = torch::zeros({k, width - 1});
  torch::Tensor behaviour = torch::zeros({k, width - 1});
  torch::Tensor rewards = torch::zeros({k});
  for (int64_t r = 0; r < k; ++r) {
    const auto& s = g.samples[r];
    const int64_t p = s.prompt_tokens.size();
    for (int64_t t = 0; t < p; ++t) ids[r][t] = s.prompt_tokens[t];
    for (size_t j = 0; j < s.response_tokens.size(); ++j) {
      ids[r][p + j] = s.response_tokens[j];
      mask[r][p + j - 1] = s.loss_mask[j];
      behaviour[r][p + j - 1] = s.behaviour_logprobs[j];
    }
    rewards[r] = s.reward;
  }
  torch::Tensor tokens = model::TokenLogprobs(m, ids) * mask;
  torch::Tensor seq = tokens.sum(1);
  if (c.algorithm == config::Algorithm::kKimi) return KimiLoss(seq, seq.detach(), rewards, c.tau);
  if (c.algorithm == config::Algorithm::kReinforce) return ReinforceLoss(seq, rewards);
  if (c.kl_coef == 0) return GrpoLoss(tokens, behaviour * mask, mask, rewards, c.clip_epsilon);
  torch::Tensor frozen_tokens;
  {
    torch::NoGradGuard no_grad;
    frozen_tokens = model::TokenLogprobs(frozen, ids) * mask;
  }
  torch::Tensor objective =
      GrpoRowObjective(tokens, behaviour * mask, mask, GrpoAdvantages(rewards), c.clip_epsilon) -
      c.kl_coef * (K3Divergence(tokens, frozen_tokens) * mask).sum(1);
  return -objective.sum() / mask.sum().clamp_min(1);
}

}  // namespace

TEST_CASE("length-bucketed trainer batches give each group's own gradients", "[trainer]") {
  // Also in micro-batches (trainer.micro_batch_tokens): one row each, and
  // up to 24 tokens, where groups span micro-batches; GRPO with and without
  // its KL term to another random model.
  struct Case {
    config::Algorithm algorithm;
    double kl_coef;
  };
  for (const Case& k : {Case{config::Algorithm::kKimi, 0}, Case{config::Algorithm::kReinforce, 0},
                        Case{config::Algorithm::kGrpo, 0}, Case{config::Algorithm::kGrpo, 0.5}}) {
    for (int64_t micro_batch_tokens : {0, 1, 24}) {
      INFO(config::ChoiceName(k.algorithm)
           << ", kl_coef " << k.kl_coef << ", micro_batch_tokens " << micro_batch_tokens);
      torch::manual_seed(3);
      model::Llama trained(SmallConfig());
      model::Llama reference(SmallConfig());
      model::Llama frozen(SmallConfig());
      {
        torch::NoGradGuard no_grad;
        auto from = trained->parameters();
        auto to = reference->parameters();
        for (size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
      }
      config::TrainerSection c;
      c.algorithm = k.algorithm;
      c.kl_coef = k.kl_coef;
      c.micro_batch_tokens = micro_batch_tokens;
      c.grad_clip = 1e9;
      const auto groups = MakeGroups(11);

      GradientRecorder recorder;
      TrainerOptimizer optimizer(trained->parameters(), LrSchedule{});
      auto stats = UpdatePolicy(trained, c, groups, static_cast<int64_t>(groups.size()), recorder,
                                optimizer, &frozen);
      CHECK(stats.count("loss") == 1);

      reference->train();
      torch::Tensor loss = torch::zeros({});
      for (const auto& g : groups) loss = loss + GroupLoss(reference, frozen, g, c);
      loss = loss / static_cast<double>(groups.size());
      loss.backward();
      CHECK(stats["loss"] == Approx(loss.item<double>()).epsilon(1e-5));
      auto params = reference->parameters();
      REQUIRE(recorder.recorded.size() == params.size());
      double largest = 0;
      for (size_t i = 0; i < params.size(); ++i) {
        INFO("parameter " << i);
        largest = std::max(largest, params[i].grad().abs().max().item<double>());
        CHECK(torch::allclose(recorder.recorded[i], params[i].grad(), 1e-4, 1e-6));
      }
      CHECK(largest > 1e-4);  // the gradients compared are not all zero
    }
  }
}

TEST_CASE("micro-batched steps after the first make the same update as whole ones", "[trainer]") {
  // Three optimizer steps per iteration: from the second on, the Kimi
  // loss's log pi_i and the current log-probs differ, and its micro-batches
  // take their weights from a pass without a graph.
  for (config::Algorithm algorithm :
       {config::Algorithm::kKimi, config::Algorithm::kReinforce, config::Algorithm::kGrpo}) {
    INFO(config::ChoiceName(algorithm));
    std::vector<std::vector<torch::Tensor>> results;
    std::vector<double> losses, changes;
    for (int64_t micro_batch_tokens : {0, 24}) {
      torch::manual_seed(5);
      model::Llama m(SmallConfig());
      config::TrainerSection c;
      c.algorithm = algorithm;
      c.micro_batch_tokens = micro_batch_tokens;
      c.steps_per_iteration = 3;
      c.lr = 1e-2;
      c.grad_clip = 1e9;
      GradientRecorder recorder;
      const auto groups = MakeGroups(13);
      TrainerOptimizer optimizer(m->parameters(), LrSchedule{LrSchedule::Kind::kConstant, c.lr});
      auto stats =
          UpdatePolicy(m, c, groups, static_cast<int64_t>(groups.size()), recorder, optimizer);
      results.push_back(recorder.recorded);
      losses.push_back(stats["loss"]);
      changes.push_back(stats["logp_change"]);
    }
    CHECK(losses[1] == Approx(losses[0]).epsilon(1e-4));
    CHECK(changes[1] == Approx(changes[0]).epsilon(1e-3));
    CHECK(changes[0] != 0.0);
    for (size_t i = 0; i < results[0].size(); ++i) {
      INFO("parameter " << i << " largest difference "
                        << (results[1][i] - results[0][i]).abs().max().item<double>() << " of "
                        << results[0][i].abs().max().item<double>());
      CHECK(torch::allclose(results[1][i], results[0][i], 1e-3, 1e-5));
    }
  }
}

TEST_CASE("a second step reports how far the first moved the log-probabilities", "[trainer]") {
  torch::manual_seed(4);
  model::Llama m(SmallConfig());
  config::TrainerSection c;
  c.steps_per_iteration = 2;
  c.lr = 1e-2;
  GradientRecorder recorder;
  auto groups = MakeGroups(12);
  TrainerOptimizer optimizer(m->parameters(), LrSchedule{LrSchedule::Kind::kConstant, c.lr});
  auto stats = UpdatePolicy(m, c, groups, static_cast<int64_t>(groups.size()), recorder, optimizer);
  REQUIRE(stats.count("logp_change") == 1);
  CHECK(stats["logp_change"] != 0.0);
  c.steps_per_iteration = 1;
  CHECK(UpdatePolicy(m, c, groups, static_cast<int64_t>(groups.size()), recorder, optimizer)
            .count("logp_change") == 0);
}

}  // namespace crescent::trainer
