#include "trainer/policy_update.hpp"

#include "trainer/policy_loss.hpp"

namespace crescent::trainer {
namespace {

using torch::indexing::Slice;

// The batch as tensors: ids [N, T] right-padded; mask [N, T-1] marks the
// positions that predict trained response tokens.
struct Batch {
  torch::Tensor ids, mask, behaviour, rewards;
  std::vector<std::pair<int64_t, int64_t>> groups;  // [begin, end) rows
};

Batch MakeBatch(const std::vector<proto::TrainGroup>& groups) {
  Batch b;
  int64_t rows = 0, width = 2;
  for (const auto& g : groups) {
    b.groups.emplace_back(rows, rows + static_cast<int64_t>(g.samples.size()));
    rows += g.samples.size();
    for (const auto& s : g.samples) {
      width = std::max<int64_t>(width, s.prompt_tokens.size() + s.response_tokens.size());
    }
  }
  b.ids = torch::zeros({rows, width}, torch::kLong);
  b.mask = torch::zeros({rows, width - 1});
  b.behaviour = torch::zeros({rows, width - 1});
  b.rewards = torch::zeros({rows});
  auto ids = b.ids.accessor<int64_t, 2>();
  auto mask = b.mask.accessor<float, 2>();
  auto behaviour = b.behaviour.accessor<float, 2>();
  int64_t row = 0;
  for (const auto& g : groups) {
    for (const auto& s : g.samples) {
      const int64_t p = s.prompt_tokens.size();
      for (int64_t t = 0; t < p; ++t) ids[row][t] = s.prompt_tokens[t];
      for (size_t j = 0; j < s.response_tokens.size(); ++j) {
        ids[row][p + j] = s.response_tokens[j];
        const bool trained = j >= s.loss_mask.size() || s.loss_mask[j];
        mask[row][p + j - 1] = trained ? 1.0f : 0.0f;
        if (j < s.behaviour_logprobs.size()) behaviour[row][p + j - 1] = s.behaviour_logprobs[j];
      }
      b.rewards[row] = s.reward;
      ++row;
    }
  }
  return b;
}

}  // namespace

std::map<std::string, double> UpdatePolicy(model::Llama& model, const config::TrainerSection& c,
                                           const std::vector<proto::TrainGroup>& groups,
                                           int64_t total_groups, weights::WeightSync& gradients) {
  model->train();
  std::vector<torch::Tensor> params = model->parameters();
  torch::optim::Adam optimizer(params, torch::optim::AdamOptions(c.lr));
  Batch b = MakeBatch(groups);
  const double share = total_groups > 0 ? 1.0 / total_groups : 0.0;
  torch::Tensor ref_tokens;
  {
    torch::NoGradGuard no_grad;
    ref_tokens = groups.empty() ? torch::Tensor() : model::TokenLogprobs(model, b.ids) * b.mask;
  }
  std::map<std::string, double> stats;
  for (int64_t step = 0; step < c.steps_per_iteration; ++step) {
    optimizer.zero_grad();
    double loss_value = 0;
    if (!groups.empty()) {
      torch::Tensor tokens = model::TokenLogprobs(model, b.ids) * b.mask;
      torch::Tensor seq = tokens.sum(1), ref_seq = ref_tokens.sum(1);
      torch::Tensor loss = torch::zeros({});
      for (auto [begin, end] : b.groups) {
        auto rows = Slice(begin, end);
        if (c.algorithm == "kimi") {
          loss = loss +
                 KimiLoss(seq.index({rows}), ref_seq.index({rows}), b.rewards.index({rows}), c.tau);
        } else if (c.algorithm == "reinforce") {
          loss = loss + ReinforceLoss(seq.index({rows}), b.rewards.index({rows}));
        } else {
          loss = loss + GrpoLoss(tokens.index({rows}),
                                 b.behaviour.index({rows}) * b.mask.index({rows}),
                                 b.mask.index({rows}), b.rewards.index({rows}), c.clip_epsilon);
        }
      }
      loss = loss * share;
      loss.backward();
      loss_value = loss.item<double>();
    }
    std::vector<torch::Tensor> grads;
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    gradients.AllReduceSum(grads);
    stats["grad_norm"] = torch::nn::utils::clip_grad_norm_(params, c.grad_clip);
    optimizer.step();
    stats["loss"] = loss_value;
  }
  if (!groups.empty()) {
    torch::NoGradGuard no_grad;
    torch::Tensor after = (model::TokenLogprobs(model, b.ids) * b.mask).sum(1);
    stats["logp_change"] = (after - ref_tokens.sum(1)).mean().item<double>();
  }
  return stats;
}

}  // namespace crescent::trainer
