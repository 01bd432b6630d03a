// `crescent sft`'s keys: the pool (sft.examples, sft.max_level), the loop
// (sft.steps, sft.batch_size, sft.grad_clip) and the task it accepts
// (task.name).
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "trainer/sft.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "common/model/generator.hpp"
#include "common/task/arithmetic.hpp"

namespace crescent::trainer {
namespace {

// A tiny built-in model and a constant learning rate, with `settings` on top.
config::Config SftConfig(std::vector<std::string> settings) {
  std::vector<std::string> all = {"model.hidden_size=16",     "model.intermediate_size=24",
                                  "model.layers=1",           "model.heads=2",
                                  "model.kv_heads=1",         "model.max_sequence=32",
                                  "sft.lr_schedule=constant", "sft.warmup_steps=0",
                                  "task.heldout_size=5"};
  all.insert(all.end(), settings.begin(), settings.end());
  return config::ParseConfig("", "<test>", all);
}

std::vector<torch::Tensor> Copies(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> out;
  for (const auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

bool Same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

// The global norm of the parameters' gradients.
double GradNorm(model::Policy& policy) {
  double sq = 0;
  for (const auto& p : policy.model->parameters()) sq += p.grad().pow(2).sum().item<double>();
  return std::sqrt(sq);
}

}  // namespace

TEST_CASE("sft.max_level and sft.examples choose SFT's pool from the training pool", "[trainer]") {
  const config::Config all = SftConfig({"task.max_level=3"});
  const auto source = task::MakeTaskSource(all);
  const auto& training = source->Training();
  std::set<int> levels;
  for (const auto& p : SftPool(all, *source)) levels.insert(task::ArithmeticTask::Level(p.text));
  CHECK(SftPool(all, *source).size() == training.size());
  CHECK(levels == std::set<int>{1, 2, 3});

  // sft.max_level 1: exactly the pool's level-1 problems, in order.
  std::vector<std::string> level1;
  for (const auto& p : training)
    if (task::ArithmeticTask::Level(p.text) == 1) level1.push_back(p.id);
  REQUIRE(level1.size() > 10);
  const auto easy = SftPool(SftConfig({"task.max_level=3", "sft.max_level=1"}), *source);
  std::vector<std::string> ids;
  for (const auto& p : easy) ids.push_back(p.id);
  CHECK(ids == level1);

  // sft.examples 10: the first ten of those.
  const auto few =
      SftPool(SftConfig({"task.max_level=3", "sft.max_level=1", "sft.examples=10"}), *source);
  REQUIRE(few.size() == 10);
  for (size_t i = 0; i < few.size(); ++i) CHECK(few[i].id == level1[i]);
}

TEST_CASE("sft.steps steps are taken on sft.batch_size rows each", "[trainer]") {
  torch::set_num_threads(1);
  for (int64_t steps : {0, 3}) {
    for (int64_t batch : {2, 5}) {
      INFO("sft.steps " << steps << ", sft.batch_size " << batch);
      const config::Config c = SftConfig({"task.max_level=1", "sft.steps=" + std::to_string(steps),
                                          "sft.batch_size=" + std::to_string(batch)});
      const auto source = task::MakeTaskSource(c);
      model::Policy policy = model::NewBuiltinPolicy(c);
      const auto before = Copies(policy.model->parameters());
      const auto taken = TrainSft(policy, SftPool(c, *source), c);
      REQUIRE(taken.size() == static_cast<size_t>(steps));
      for (const auto& s : taken) {
        CHECK(s.rows == batch);
        CHECK(s.loss > 0);
      }
      // No steps leave the weights as initialised; steps change them.
      CHECK(Same(before, policy.model->parameters()) == (steps == 0));
    }
  }
}

TEST_CASE("sft.grad_clip clips the gradient's global norm of each step", "[trainer]") {
  // One step from the same weights and batch: the gradient left in the
  // parameters is the one Adam stepped on.
  torch::set_num_threads(1);
  auto step = [](double clip, std::vector<torch::Tensor>* grads) {
    const config::Config c = SftConfig({"task.max_level=1", "sft.steps=1", "sft.batch_size=4",
                                        "sft.grad_clip=" + std::to_string(clip)});
    const auto source = task::MakeTaskSource(c);
    model::Policy policy = model::NewBuiltinPolicy(c);
    const SftStep s = TrainSft(policy, SftPool(c, *source), c).at(0);
    std::vector<torch::Tensor> g;
    for (const auto& p : policy.model->parameters()) g.push_back(p.grad().clone());
    *grads = g;
    return std::make_pair(s.grad_norm, GradNorm(policy));
  };
  std::vector<torch::Tensor> raw, clipped;
  const auto [norm_huge, seen_huge] = step(1e6, &raw);
  const double clip = 1e-3;
  const auto [norm_tiny, seen_tiny] = step(clip, &clipped);
  REQUIRE(norm_huge > 10 * clip);
  CHECK(norm_tiny == Approx(norm_huge));           // before clipping: the same gradient
  CHECK(seen_huge == Approx(norm_huge));           // a clip above the norm leaves it
  CHECK(seen_tiny == Approx(clip).epsilon(1e-4));  // a clip below scales it to the clip
  for (size_t i = 0; i < raw.size(); ++i) {
    INFO("parameter " << i);
    CHECK(torch::allclose(clipped[i], raw[i] * (clip / norm_huge), 1e-4, 1e-12));
  }
}

TEST_CASE("crescent sft refuses task.name jsonl, naming the key", "[trainer]") {
  const config::Config c =
      SftConfig({"task.name=jsonl", "task.prompts_file=/nonexistent/prompts.jsonl"});
  CHECK_THROWS_WITH(RunSft(c), Catch::Contains("task.name is jsonl"));
}

}  // namespace crescent::trainer

namespace crescent::trainer {

TEST_CASE("sft.teacher_error shows carries forgotten in that share of the worked examples",
          "[trainer]") {
  CHECK(task::CarryForgotten("35+48=") == "73");
  CHECK(task::CarryForgotten("7+5=") == "2");
  CHECK(task::CarryForgotten("35+41=") == "76");  // no carry: the right answer
  // One problem with a carry, trained on alone: the model answers as the
  // teacher showed it, right with teacher_error 0, the carry forgotten with 1.
  for (double error : {0.0, 1.0}) {
    INFO("teacher_error " << error);
    config::Config c = SftConfig({"sft.steps=60", "sft.batch_size=8", "sft.lr=0.01",
                                  "sft.teacher_error=" + std::to_string(error)});
    model::Policy policy = model::NewBuiltinPolicy(c);
    const std::vector<task::Prompt> pool = {{"p", "17+25=", {{"answer", "42"}}}};
    TrainSft(policy, pool, c);
    model::GenerationRequest r;
    r.prompt = policy.tokenizer.EncodePrompt("17+25=");
    r.max_new_tokens = 4;
    r.temperature = 0;
    r.stop_tokens = policy.tokenizer.stop_ids();
    const auto out = model::Generate(policy.model, {r}, 1);
    CHECK(policy.tokenizer.DecodeResponse(out[0].tokens) == (error == 0 ? "42" : "32"));
  }
}

}  // namespace crescent::trainer
