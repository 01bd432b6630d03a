#include "trainer/sft.hpp"

#include <chrono>
#include <random>

#include "common/model/generator.hpp"
#include "common/model/policy.hpp"
#include "common/task/arithmetic.hpp"
#include "common/task/prompt_source.hpp"
#include "common/util/log.hpp"
#include "reward/reward_function.hpp"
#include "trainer/optimizer.hpp"

namespace crescent::trainer {
namespace {

// Held-out accuracy of `policy` with greedy decoding, scored by `math`.
double HeldoutAccuracy(model::Policy& policy, const std::vector<task::Prompt>& heldout,
                       const config::Config& c) {
  std::vector<model::GenerationRequest> requests;
  for (const auto& p : heldout) {
    model::GenerationRequest r;
    r.prompt = policy.tokenizer.EncodePrompt(p.text);
    r.max_new_tokens = static_cast<int32_t>(c.rollout.max_response_tokens);
    r.temperature = 0;
    r.vocab_limit = policy.tokenizer.VocabSize();
    r.stop_tokens = policy.tokenizer.stop_ids();
    requests.push_back(std::move(r));
  }
  auto results = model::Generate(policy.model, requests, c.rollout.batch_slots);
  auto math = reward::MakeRewardFunction("math");
  double correct = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    correct += math->Score(heldout[i].text, policy.tokenizer.DecodeResponse(results[i].tokens),
                           heldout[i].metadata)
                   .correct;
  }
  return results.empty() ? 0 : correct / results.size();
}

}  // namespace

std::vector<task::Prompt> SftPool(const config::Config& c, const task::PromptSource& source) {
  std::vector<task::Prompt> pool;
  for (const task::Prompt& p : source.Training())
    if (c.sft.max_level == 0 || task::ArithmeticTask::Level(p.text) <= c.sft.max_level)
      pool.push_back(p);
  if (c.sft.examples > 0 && static_cast<size_t>(c.sft.examples) < pool.size())
    pool.resize(static_cast<size_t>(c.sft.examples));
  return pool;
}

std::vector<SftStep> TrainSft(model::Policy& policy, const std::vector<task::Prompt>& pool,
                              const config::Config& c) {
  using torch::indexing::Slice;
  std::vector<torch::Tensor> params = policy.model->parameters();
  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(c.sft.lr));
  const LrSchedule schedule = SftSchedule(c);
  if (policy.tokenizer.stop_ids().empty())
    throw std::runtime_error("sft: the policy has no stop token to end its answers with");
  const tok::TokenId stop = policy.tokenizer.stop_ids().front();
  std::mt19937_64 rng(c.sft.seed);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<SftStep> steps;
  double loss_sum = 0;
  for (int64_t step = 0; step < c.sft.steps; ++step) {
    // [bos] prompt answer stop, right-padded; loss on answer and stop only.
    std::vector<std::vector<tok::TokenId>> rows;
    std::vector<size_t> prompt_lengths;
    size_t width = 0;
    for (int64_t i = 0; i < c.sft.batch_size; ++i) {
      const task::Prompt& p = pool[pick(rng)];
      std::vector<tok::TokenId> ids = policy.tokenizer.EncodePrompt(p.text);
      prompt_lengths.push_back(ids.size());
      const bool mistaken = c.sft.teacher_error > 0 && coin(rng) < c.sft.teacher_error;
      const std::string answer = mistaken ? task::CarryForgotten(p.text) : task::SftTarget(p.text);
      for (tok::TokenId id : policy.tokenizer.Encode(answer)) ids.push_back(id);
      ids.push_back(stop);
      width = std::max(width, ids.size());
      rows.push_back(std::move(ids));
    }
    torch::Tensor ids = torch::zeros({c.sft.batch_size, static_cast<int64_t>(width)}, torch::kLong);
    torch::Tensor mask = torch::zeros({c.sft.batch_size, static_cast<int64_t>(width) - 1});
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t t = 0; t < rows[r].size(); ++t) ids[r][t] = rows[r][t];
      mask.index_put_({static_cast<int64_t>(r), Slice(prompt_lengths[r] - 1, rows[r].size() - 1)},
                      1.0);
    }
    SetLearningRate(optimizer, LearningRate(schedule, step));
    optimizer.zero_grad();
    torch::Tensor loss = -(model::TokenLogprobs(policy.model, ids) * mask).sum() / mask.sum();
    loss.backward();
    const double grad_norm = torch::nn::utils::clip_grad_norm_(params, c.sft.grad_clip);
    optimizer.step();
    steps.push_back({loss.item<double>(), grad_norm, static_cast<int64_t>(rows.size())});
    loss_sum += steps.back().loss;
    if ((step + 1) % 100 == 0 || step + 1 == c.sft.steps) {
      const int64_t n = (step + 1) % 100 == 0 ? 100 : (step + 1) % 100;
      LogInfo("sft step ", step + 1, "/", c.sft.steps, " loss ", loss_sum / n, " (mean of ", n,
              " steps) lr ", LearningRate(schedule, step));
      loss_sum = 0;
    }
  }
  return steps;
}

double RunSft(const config::Config& c) {
  if (c.task.name != task::SourceKind::kArithmetic) {
    throw std::runtime_error(StrCat("crescent sft trains on the built-in task only; task.name is ",
                                    config::ChoiceName(c.task.name), " (", c.Where("task.name"),
                                    ")"));
  }
  model::SetComputeThreads(static_cast<int>(c.threads.trainer));
  // The training pool RL draws from, and its held-out set.
  const std::unique_ptr<task::PromptSource> source = task::MakeTaskSource(c);
  const std::vector<task::Prompt> pool = SftPool(c, *source);
  if (pool.empty()) {
    throw std::runtime_error(StrCat("sft.max_level: no training problem of level <= ",
                                    c.sft.max_level, " (", c.Where("sft.max_level"), ")"));
  }
  model::Policy policy =
      c.model.path.empty() ? model::NewBuiltinPolicy(c) : model::LoadPolicy(c.model.path);
  auto t0 = std::chrono::steady_clock::now();
  TrainSft(policy, pool, c);
  const std::string dir = c.run.dir + "/sft";
  model::SavePolicy(policy, dir);
  const double accuracy = HeldoutAccuracy(policy, source->Heldout(), c);
  LogInfo("sft: saved ", dir, " after ", c.sft.steps, " steps in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
          " s; held-out accuracy ", accuracy, " (", source->Heldout().size(), " problems)");
  return accuracy;
}

}  // namespace crescent::trainer
