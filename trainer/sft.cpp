#include "trainer/sft.hpp"

#include <chrono>
#include <random>

#include "common/model/generator.hpp"
#include "common/model/policy.hpp"
#include "common/task/arithmetic.hpp"
#include "common/util/log.hpp"
#include "reward/reward_function.hpp"

namespace crescent::trainer {

double RunSft(const config::Config& c) {
  using torch::indexing::Slice;
  model::SetComputeThreads(static_cast<int>(c.threads.trainer));
  task::ArithmeticTask task(c.task.seed, c.task.min_level, c.task.max_level, c.task.heldout_size);
  model::Policy policy = model::NewBuiltinPolicy(c);
  torch::optim::Adam optimizer(policy.model->parameters(), torch::optim::AdamOptions(c.sft.lr));
  std::mt19937_64 rng(c.sft.seed);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 1; step <= c.sft.steps; ++step) {
    // [bos] prompt answer [eos], right-padded; loss on answer and eos only.
    std::vector<std::vector<int64_t>> rows;
    std::vector<size_t> prompt_lengths;
    size_t width = 0;
    for (int64_t i = 0; i < c.sft.batch_size; ++i) {
      task::Problem p = task.Draw(rng);
      std::vector<int64_t> ids = {tok::CharTokenizer::kBos};
      for (int64_t id : policy.tokenizer.Encode(p.prompt)) ids.push_back(id);
      prompt_lengths.push_back(ids.size());
      for (int64_t id : policy.tokenizer.Encode(p.answer)) ids.push_back(id);
      ids.push_back(tok::CharTokenizer::kEos);
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
    optimizer.zero_grad();
    torch::Tensor loss = -(model::TokenLogprobs(policy.model, ids) * mask).sum() / mask.sum();
    loss.backward();
    optimizer.step();
    if (step % 100 == 0 || step == c.sft.steps) {
      LogInfo("sft step ", step, "/", c.sft.steps, " loss ", loss.item<double>());
    }
  }
  const std::string dir = c.run.dir + "/sft";
  model::SavePolicy(policy, dir);

  // Held-out accuracy, greedy.
  std::vector<model::GenerationRequest> requests;
  for (const auto& p : task.Heldout()) {
    model::GenerationRequest r;
    r.prompt = {tok::CharTokenizer::kBos};
    for (int64_t id : policy.tokenizer.Encode(p.prompt)) r.prompt.push_back(id);
    r.max_new_tokens = static_cast<int32_t>(c.rollout.max_response_tokens);
    r.temperature = 0;
    r.stop_tokens = {tok::CharTokenizer::kEos};
    requests.push_back(std::move(r));
  }
  auto results = model::Generate(policy.model, requests, c.rollout.batch_slots);
  auto math = reward::MakeRewardFunction("math");
  double correct = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    correct += math->Score(task.Heldout()[i].prompt, policy.tokenizer.Decode(results[i].tokens),
                           {{"answer", task.Heldout()[i].answer}})
                   .correct;
  }
  const double accuracy = results.empty() ? 0 : correct / results.size();
  LogInfo("sft: saved ", dir, " after ", c.sft.steps, " steps in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
          " s; held-out accuracy ", accuracy, " (", results.size(), " problems)");
  return accuracy;
}

}  // namespace crescent::trainer
