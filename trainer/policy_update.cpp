#include "trainer/policy_update.hpp"

#include "trainer/policy_loss.hpp"

namespace crescent::trainer {
namespace {

using torch::indexing::Slice;

// One group as tensors: ids [k, T] right-padded to the group's longest
// sample (not the batch's: groups differ in length far more than the samples
// of one group, and padding costs a full forward and backward); mask [k, T-1]
// marks the positions that predict trained response tokens.
struct GroupBatch {
  torch::Tensor ids, mask, behaviour, rewards;
};

GroupBatch MakeGroupBatch(const proto::TrainGroup& g) {
  GroupBatch b;
  const int64_t rows = static_cast<int64_t>(g.samples.size());
  int64_t width = 2;
  for (const auto& s : g.samples)
    width = std::max<int64_t>(width, s.prompt_tokens.size() + s.response_tokens.size());
  b.ids = torch::zeros({rows, width}, torch::kLong);
  b.mask = torch::zeros({rows, width - 1});
  b.behaviour = torch::zeros({rows, width - 1});
  b.rewards = torch::zeros({rows});
  auto ids = b.ids.accessor<int64_t, 2>();
  auto mask = b.mask.accessor<float, 2>();
  auto behaviour = b.behaviour.accessor<float, 2>();
  for (int64_t row = 0; row < rows; ++row) {
    const auto& s = g.samples[row];
    const int64_t p = s.prompt_tokens.size();
    for (int64_t t = 0; t < p; ++t) ids[row][t] = s.prompt_tokens[t];
    for (size_t j = 0; j < s.response_tokens.size(); ++j) {
      ids[row][p + j] = s.response_tokens[j];
      const bool trained = j >= s.loss_mask.size() || s.loss_mask[j];
      mask[row][p + j - 1] = trained ? 1.0f : 0.0f;
      if (j < s.behaviour_logprobs.size()) behaviour[row][p + j - 1] = s.behaviour_logprobs[j];
    }
    b.rewards[row] = s.reward;
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
  std::vector<GroupBatch> batches;
  for (const auto& g : groups) batches.push_back(MakeGroupBatch(g));
  const double share = total_groups > 0 ? 1.0 / total_groups : 0.0;
  // Log-probs of the trained tokens, [k, T-1] per group.
  auto token_logprobs = [&](const GroupBatch& b) {
    return model::TokenLogprobs(model, b.ids) * b.mask;
  };
  // log pi_i: the first step's own forward, detached. The weights have not
  // changed yet, so a separate no-grad pass would compute the same values;
  // with the gradient they carry at theta = theta_i, the Kimi loss's first
  // step is exact.
  std::vector<torch::Tensor> ref_seq(batches.size());
  std::map<std::string, double> stats;
  for (int64_t step = 0; step < c.steps_per_iteration; ++step) {
    optimizer.zero_grad();
    double loss_value = 0;
    torch::Tensor change = torch::zeros({});
    int64_t rows = 0;
    if (!batches.empty()) {
      torch::Tensor loss = torch::zeros({});
      for (size_t i = 0; i < batches.size(); ++i) {
        const GroupBatch& b = batches[i];
        torch::Tensor tokens = token_logprobs(b);
        torch::Tensor seq = tokens.sum(1);
        if (step == 0) ref_seq[i] = seq.detach();
        if (step > 0) change = change + (seq.detach() - ref_seq[i]).sum();
        rows += b.ids.size(0);
        if (c.algorithm == "kimi") {
          loss = loss + KimiLoss(seq, ref_seq[i], b.rewards, c.tau);
        } else if (c.algorithm == "reinforce") {
          loss = loss + ReinforceLoss(seq, b.rewards);
        } else {
          loss = loss + GrpoLoss(tokens, b.behaviour * b.mask, b.mask, b.rewards, c.clip_epsilon);
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
    // How far the steps before this one moved the batch's log-probability
    // (no extra forward pass: 0 on the first step).
    if (step > 0 && rows > 0) stats["logp_change"] = change.item<double>() / rows;
  }
  return stats;
}

}  // namespace crescent::trainer
