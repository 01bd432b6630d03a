// Learning-rate schedules; gradient clipping; Adam's state kept across iterations (or reset)
// and through a checkpoint file; GRPO's KL term and loss normalisation
// against hand-computed values.
#include "trainer/optimizer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "tests/common/process.hpp"
#include "tests/trainer/adam_state.hpp"
#include "trainer/lr_schedule.hpp"
#include "trainer/policy_loss.hpp"
#include "trainer/policy_update.hpp"

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

std::vector<proto::TrainGroup> Groups(uint64_t seed) {
  std::mt19937_64 rng(seed);
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

// Adam's per-parameter step count (0 when it holds no state).
int64_t AdamSteps(torch::optim::Adam& adam, const torch::Tensor& p) {
  const auto* state = testing::AdamStateOf(adam, p);
  return state ? state->step() : 0;
}

bool SameTensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
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
  auto stats = UpdatePolicy(m, c, Groups(1), 3, one, optimizer);
  OneStep out;
  out.grad_norm = stats.at("grad_norm");
  for (const auto& p : m->parameters()) {
    out.grads.push_back(p.grad().clone());
    out.exp_avg_sq.push_back(testing::AdamStateOf(optimizer.adam, p)->exp_avg_sq().clone());
  }
  return out;
}

}  // namespace

TEST_CASE("learning-rate schedules: warm-up, constant, cosine to the floor", "[trainer]") {
  LrSchedule s{LrSchedule::Kind::kConstant, 1.0, 4, 100, 0.1};
  CHECK(LearningRate(s, 0) == Approx(0.25));
  CHECK(LearningRate(s, 3) == Approx(1.0));
  CHECK(LearningRate(s, 50) == Approx(1.0));
  s.kind = LrSchedule::Kind::kCosine;
  CHECK(LearningRate(s, 1) == Approx(0.5));
  CHECK(LearningRate(s, 4) == Approx(1.0));               // decay starts
  CHECK(LearningRate(s, 52) == Approx(0.1 + 0.9 * 0.5));  // half way
  CHECK(LearningRate(s, 100) == Approx(0.1));             // the floor
  CHECK(LearningRate(s, 1000) == Approx(0.1));
  CHECK_THROWS_AS(config::ParseConfig("", "<test>", {"trainer.lr_schedule=linear"}),
                  config::ConfigError);

  // The keys that set them: RL's over the run's optimizer steps, SFT's over
  // its steps.
  const config::Config c = config::ParseConfig(
      "", "<test>",
      {"trainer.lr=0.02", "trainer.lr_schedule=cosine", "trainer.warmup_steps=3",
       "trainer.min_lr_ratio=0.5", "run.iterations=10", "trainer.steps_per_iteration=2",
       "sft.lr=0.5", "sft.lr_schedule=constant", "sft.warmup_steps=7", "sft.steps=40"});
  const LrSchedule rl = RlSchedule(c);
  CHECK(LearningRate(rl, 0) == Approx(0.02 / 3));
  CHECK(LearningRate(rl, 2) == Approx(0.02));
  CHECK(LearningRate(rl, 19) == Approx(0.01 + 0.01 * 0.5 * (1 + std::cos(M_PI * 16 / 17))));
  CHECK(LearningRate(rl, 20) == Approx(0.01));
  const LrSchedule sft = SftSchedule(c);
  CHECK(LearningRate(sft, 0) == Approx(0.5 / 7));
  CHECK(LearningRate(sft, 39) == Approx(0.5));
}

TEST_CASE("reset_optimizer: false keeps Adam's moments from one iteration to the next",
          "[trainer]") {
  for (bool reset : {true, false}) {
    INFO("reset_optimizer " << reset);
    torch::manual_seed(1);
    model::Llama m(Tiny());
    config::TrainerSection c;
    c.reset_optimizer = reset;
    OneRank one;
    TrainerOptimizer optimizer(m->parameters(), LrSchedule{});
    const auto groups = Groups(1);
    UpdatePolicy(m, c, groups, 3, one, optimizer);
    torch::Tensor first_moment =
        testing::AdamStateOf(optimizer.adam, m->parameters()[0])->exp_avg().clone();
    UpdatePolicy(m, c, Groups(2), 3, one, optimizer);
    CHECK(optimizer.step == 2);  // the schedule counts every step either way
    CHECK(AdamSteps(optimizer.adam, m->parameters()[0]) == (reset ? 1 : 2));
    // Carried: the second step's first moment is 0.9 * the first's plus the
    // new gradient's share; reset: the new gradient's share alone.
    torch::Tensor second = testing::AdamStateOf(optimizer.adam, m->parameters()[0])->exp_avg();
    torch::Tensor grad = m->parameters()[0].grad();
    torch::Tensor expected = reset ? 0.1 * grad : 0.9 * first_moment + 0.1 * grad;
    CHECK(torch::allclose(second, expected, 1e-5, 1e-8));
  }
}

TEST_CASE("Adam's state and the schedule step survive a checkpoint file", "[trainer]") {
  const std::string dir = testing::TempDir("crescent-optimizer");
  config::TrainerSection c;
  c.reset_optimizer = false;
  OneRank one;
  const LrSchedule schedule{LrSchedule::Kind::kCosine, 1e-2, 2, 6, 0.1};
  torch::manual_seed(2);
  model::Llama a(Tiny());
  TrainerOptimizer oa(a->parameters(), schedule);
  UpdatePolicy(a, c, Groups(1), 3, one, oa);
  UpdatePolicy(a, c, Groups(2), 3, one, oa);
  SaveOptimizer(oa, dir + "/optimizer.pt");

  // A second model with a's weights and the saved optimizer.
  model::Llama b(Tiny());
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a->parameters().size(); ++i)
      b->parameters()[i].copy_(a->parameters()[i]);
  }
  TrainerOptimizer ob(b->parameters(), schedule);
  LoadOptimizer(ob, dir + "/optimizer.pt");
  CHECK(ob.step == 2);
  UpdatePolicy(a, c, Groups(3), 3, one, oa);
  UpdatePolicy(b, c, Groups(3), 3, one, ob);
  CHECK(SameTensors(a->parameters(), b->parameters()));
  CHECK(ob.step == 3);

  TrainerOptimizer other(b->parameters(), schedule);
  CHECK_THROWS_WITH(LoadOptimizer(other, dir + "/missing.pt"),
                    Catch::Contains("missing.pt") && Catch::Contains("no optimizer state"));
}

TEST_CASE("the k3 KL estimator and its gradient equal hand-computed values", "[trainer]") {
  // pi_theta = 0.5, pi_ref = 0.25 on one token: d = log(0.25 / 0.5) = -ln 2,
  // k3 = e^d - d - 1 = 0.5 + ln 2 - 1; d k3 / d logp = 1 - e^d = 0.5.
  // Where they agree k3 and its gradient are 0.
  torch::Tensor logp = torch::tensor({std::log(0.5), std::log(0.3)}, torch::kFloat64);
  logp.set_requires_grad(true);
  torch::Tensor ref = torch::tensor({std::log(0.25), std::log(0.3)}, torch::kFloat64);
  torch::Tensor kl = K3Divergence(logp, ref);
  CHECK(kl[0].item<double>() == Approx(0.5 + std::log(2.0) - 1));
  CHECK(kl[1].item<double>() == Approx(0.0).margin(1e-12));
  kl.sum().backward();
  CHECK(logp.grad()[0].item<double>() == Approx(0.5));
  CHECK(logp.grad()[1].item<double>() == Approx(0.0).margin(1e-12));
}

TEST_CASE("GRPO's loss with kl_coef adds the KL term, normalised like the policy term",
          "[trainer]") {
  // All rewards equal: advantages are 0 and the clipped surrogate is 0, so
  // the loss is kl_coef * the group's normalised k3 sum, and its gradient is
  // kl_coef's share of that. The reference is another random model.
  torch::manual_seed(5);
  model::Llama m(Tiny());
  model::Llama reference(Tiny());
  auto groups = Groups(4);
  for (auto& g : groups)
    for (auto& s : g.samples) s.reward = 1.0;
  config::TrainerSection c;
  c.algorithm = config::Algorithm::kGrpo;
  c.kl_coef = 0.3;
  c.grad_clip = 1e9;
  for (config::LossNormalisation normalisation :
       {config::LossNormalisation::kToken, config::LossNormalisation::kSequence}) {
    INFO(config::ChoiceName(normalisation));
    c.loss_normalisation = normalisation;
    torch::manual_seed(5);
    model::Llama trained(Tiny());
    OneRank one;
    TrainerOptimizer optimizer(trained->parameters(), LrSchedule{});
    auto stats = UpdatePolicy(trained, c, groups, 3, one, optimizer, &reference);
    // By hand: per sample, k3 summed over its response tokens.
    double expected = 0, kl_mean = 0;
    for (const auto& g : groups) {
      double group_sum = 0, tokens = 0, per_row = 0;
      for (const auto& s : g.samples) {
        std::vector<tok::TokenId> ids = s.prompt_tokens;
        ids.insert(ids.end(), s.response_tokens.begin(), s.response_tokens.end());
        torch::Tensor t = torch::tensor(ids).to(torch::kLong).unsqueeze(0);
        torch::NoGradGuard no_grad;
        torch::Tensor lp = model::TokenLogprobs(m, t)[0];
        torch::Tensor rp = model::TokenLogprobs(reference, t)[0];
        const int64_t p = s.prompt_tokens.size(), n = s.response_tokens.size();
        double row = 0;
        for (int64_t j = 0; j < n; ++j) {
          const double d = rp[p - 1 + j].item<double>() - lp[p - 1 + j].item<double>();
          row += std::exp(d) - d - 1;
        }
        group_sum += row;
        tokens += n;
        per_row += row / n;
      }
      const double kl = normalisation == config::LossNormalisation::kToken
                            ? group_sum / tokens
                            : per_row / g.samples.size();
      expected += c.kl_coef * kl / groups.size();
      kl_mean += kl / groups.size();
    }
    CHECK(stats["loss"] == Approx(expected).epsilon(1e-4));
    CHECK(stats["kl"] == Approx(kl_mean).epsilon(1e-4));
    CHECK(stats["grad_norm"] > 0);
  }
}

TEST_CASE("token and sequence normalisation of a group's rows", "[trainer]") {
  // Rows summing 2 over 1 token and 6 over 3 tokens.
  torch::Tensor rows = torch::tensor({2.0, 6.0});
  torch::Tensor tokens = torch::tensor({1.0, 3.0});
  CHECK(NormaliseRows(rows, tokens, config::LossNormalisation::kToken).item<double>() ==
        Approx(8.0 / 4));
  CHECK(NormaliseRows(rows, tokens, config::LossNormalisation::kSequence).item<double>() ==
        Approx((2.0 + 2.0) / 2));
}

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

namespace crescent::trainer {

TEST_CASE("a trainer whose share of the batch is empty still takes its step", "[trainer]") {
  // With more trainers than groups some get none: they must join the
  // gradient all-reduce with zeros, and count the step.
  for (config::Algorithm algorithm : {config::Algorithm::kKimi, config::Algorithm::kGrpo}) {
    INFO(config::ChoiceName(algorithm));
    torch::manual_seed(6);
    model::Llama m(Tiny());
    config::TrainerSection c;
    c.algorithm = algorithm;
    OneRank one;
    TrainerOptimizer optimizer(m->parameters(), LrSchedule{});
    const auto stats = UpdatePolicy(m, c, {}, 1, one, optimizer);
    CHECK(stats.at("loss") == 0);
    CHECK(stats.at("grad_norm") == 0);
    CHECK(optimizer.step == 1);
  }
}

}  // namespace crescent::trainer
