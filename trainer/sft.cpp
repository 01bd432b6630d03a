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
  auto math = reward::MakeRewardFunction("math", reward::RewardOptionsOf(c.reward));
  double correct = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    correct += math->Score(heldout[i], policy.tokenizer.DecodeResponse(results[i].tokens)).correct;
  }
  return results.empty() ? 0 : correct / results.size();
}

// A training row: token ids and their loss mask (1: trained).
struct Row {
  std::vector<tok::TokenId> ids;
  std::vector<uint8_t> loss_mask;
};

// Rows right-padded into one batch.
struct Batch {
  torch::Tensor ids;   // [rows, width] token ids, 0 after a row's end
  torch::Tensor mask;  // [rows, width - 1]: 1 where the target ids[:, t + 1] is trained
  int64_t rows = 0;
  int64_t tokens = 0;  // padding not counted
};

Batch MakeBatch(const std::vector<Row>& rows) {
  size_t width = 0;
  Batch b;
  for (const Row& r : rows) {
    width = std::max(width, r.ids.size());
    b.tokens += static_cast<int64_t>(r.ids.size());
  }
  b.rows = static_cast<int64_t>(rows.size());
  std::vector<int64_t> ids(rows.size() * width, 0);
  std::vector<float> mask(rows.size() * (width - 1), 0.0f);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t t = 0; t < rows[r].ids.size(); ++t) ids[r * width + t] = rows[r].ids[t];
    for (size_t t = 1; t < rows[r].ids.size(); ++t)
      mask[r * (width - 1) + t - 1] = rows[r].loss_mask[t] ? 1.0f : 0.0f;
  }
  const auto w = static_cast<int64_t>(width);
  b.ids = torch::tensor(ids, torch::kLong).view({b.rows, w});
  b.mask = torch::tensor(mask, torch::kFloat).view({b.rows, w - 1});
  return b;
}

// Adam at sft.lr on SftSchedule, clipping to sft.grad_clip.
class SftOptimizer {
 public:
  SftOptimizer(model::Policy& policy, const config::Config& c)
      : policy_(policy),
        params_(policy.model->parameters()),
        adam_(params_, torch::optim::AdamOptions(c.sft.lr)),
        schedule_(SftSchedule(c)),
        clip_(c.sft.grad_clip) {}

  // One step on the mean negative log-likelihood of the batch's trained tokens.
  SftStep Step(int64_t step, const Batch& batch) {
    SetLearningRate(adam_, LearningRate(schedule_, step));
    adam_.zero_grad();
    torch::Tensor loss =
        -(model::TokenLogprobsAt(policy_.model, batch.ids, batch.mask) * batch.mask).sum() /
        batch.mask.sum();
    loss.backward();
    const double grad_norm = torch::nn::utils::clip_grad_norm_(params_, clip_);
    adam_.step();
    return {loss.item<double>(), grad_norm, batch.rows, batch.tokens};
  }

 private:
  model::Policy& policy_;
  std::vector<torch::Tensor> params_;
  torch::optim::Adam adam_;
  LrSchedule schedule_;
  double clip_;
};

// Logs the mean loss of every 100 steps and of the last ones.
class StepLog {
 public:
  explicit StepLog(const config::Config& c) : steps_(c.sft.steps), schedule_(SftSchedule(c)) {}
  // Returns whether it logged.
  bool Add(int64_t step, const SftStep& taken) {
    loss_sum_ += taken.loss;
    if ((step + 1) % 100 != 0 && step + 1 != steps_) return false;
    const int64_t n = (step + 1) % 100 == 0 ? 100 : (step + 1) % 100;
    LogInfo("sft step ", step + 1, "/", steps_, " loss ", loss_sum_ / n, " (mean of ", n,
            " steps) lr ", LearningRate(schedule_, step));
    loss_sum_ = 0;
    return true;
  }

 private:
  int64_t steps_;
  LrSchedule schedule_;
  double loss_sum_ = 0;
};

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
  if (policy.tokenizer.stop_ids().empty())
    throw std::runtime_error("sft: the policy has no stop token to end its answers with");
  const tok::TokenId stop = policy.tokenizer.stop_ids().front();
  SftOptimizer optimizer(policy, c);
  std::mt19937_64 rng(c.sft.seed);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<SftStep> steps;
  StepLog log(c);
  for (int64_t step = 0; step < c.sft.steps; ++step) {
    // [bos] prompt answer stop; loss on answer and stop only.
    std::vector<Row> rows;
    for (int64_t i = 0; i < c.sft.batch_size; ++i) {
      const task::Prompt& p = pool[pick(rng)];
      Row row;
      row.ids = policy.tokenizer.EncodePrompt(p.text);
      row.loss_mask.assign(row.ids.size(), 0);
      const bool mistaken = c.sft.teacher_error > 0 && coin(rng) < c.sft.teacher_error;
      const std::string answer = mistaken ? task::CarryForgotten(p.text) : task::SftTarget(p.text);
      for (tok::TokenId id : policy.tokenizer.Encode(answer)) row.ids.push_back(id);
      row.ids.push_back(stop);
      row.loss_mask.resize(row.ids.size(), 1);
      rows.push_back(std::move(row));
    }
    steps.push_back(optimizer.Step(step, MakeBatch(rows)));
    log.Add(step, steps.back());
  }
  return steps;
}

double SftLoss(model::Policy& policy, const std::vector<SftDocument>& documents,
               const config::Config& c) {
  torch::NoGradGuard no_grad;
  double nll = 0, tokens = 0;
  for (const auto& indices :
       InOrderBatches(DocumentLengths(documents), c.sft.token_budget, c.sft.batch_size)) {
    std::vector<Row> rows;
    for (size_t i : indices) rows.push_back({documents[i].ids, documents[i].loss_mask});
    const Batch batch = MakeBatch(rows);
    nll -= (model::TokenLogprobsAt(policy.model, batch.ids, batch.mask) * batch.mask)
               .sum()
               .item<double>();
    tokens += batch.mask.sum().item<double>();
  }
  return tokens > 0 ? nll / tokens : 0;
}

SftDataRun TrainSftOnDocuments(model::Policy& policy, const SftDocuments& documents,
                               const config::Config& c) {
  SftOptimizer optimizer(policy, c);
  SftBatchSampler sampler(DocumentLengths(documents.training), c.sft.token_budget, c.sft.batch_size,
                          static_cast<uint64_t>(c.sft.seed));
  SftDataRun run;
  auto heldout = [&](int64_t taken) {
    if (documents.heldout.empty()) return;
    run.heldout_losses.emplace_back(taken, SftLoss(policy, documents.heldout, c));
    LogInfo("sft step ", taken, "/", c.sft.steps, " held-out loss ",
            run.heldout_losses.back().second, " per trained token (", documents.heldout.size(),
            " documents)");
  };
  heldout(0);
  StepLog log(c);
  for (int64_t step = 0; step < c.sft.steps; ++step) {
    std::vector<Row> rows;
    for (size_t i : sampler.Next())
      rows.push_back({documents.training[i].ids, documents.training[i].loss_mask});
    run.steps.push_back(optimizer.Step(step, MakeBatch(rows)));
    if (log.Add(step, run.steps.back())) heldout(step + 1);
  }
  return run;
}

SftResult RunSft(const config::Config& c) {
  model::SetComputeThreads(static_cast<int>(c.threads.trainer));
  SftResult result;
  result.dir = c.run.dir + "/sft";
  if (!c.sft.data_file.empty()) {
    model::Policy policy =
        c.model.path.empty() ? model::NewBuiltinPolicy(c) : model::LoadPolicy(c.model.path);
    const SftDocuments documents =
        LoadSftDocuments(c, policy.tokenizer, policy.model->config().max_positions,
                         c.model.path.empty() ? "the built-in model" : c.model.path);
    LogInfo("sft: ", documents.training.size(), " training and ", documents.heldout.size(),
            " held-out documents from ", c.sft.data_file);
    const auto t0 = std::chrono::steady_clock::now();
    const SftDataRun run = TrainSftOnDocuments(policy, documents, c);
    model::SavePolicy(policy, result.dir);
    if (!run.heldout_losses.empty()) result.heldout_loss = run.heldout_losses.back().second;
    LogInfo("sft: saved ", result.dir, " after ", c.sft.steps, " steps in ",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), " s",
            result.heldout_loss ? StrCat("; held-out loss ", *result.heldout_loss) : "");
    return result;
  }
  if (c.task.name != task::SourceKind::kArithmetic) {
    throw std::runtime_error(
        StrCat("crescent sft trains on the built-in task, or on sft.data_file; task.name is ",
               config::ChoiceName(c.task.name), " (", c.Where("task.name"),
               ") and sft.data_file is empty"));
  }
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
  model::SavePolicy(policy, result.dir);
  result.heldout_accuracy = HeldoutAccuracy(policy, source->Heldout(), c);
  LogInfo("sft: saved ", result.dir, " after ", c.sft.steps, " steps in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
          " s; held-out accuracy ", *result.heldout_accuracy, " (", source->Heldout().size(),
          " problems)");
  return result;
}

}  // namespace crescent::trainer
