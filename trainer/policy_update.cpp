#include "trainer/policy_update.hpp"

#include <algorithm>
#include <numeric>

#include "common/model/generator.hpp"
#include "trainer/optimizer.hpp"
#include "trainer/policy_loss.hpp"

namespace crescent::trainer {
namespace {

// Rows of similar length from any groups (`rows`: indices among all
// samples), as tensors: ids [R, T]
// right-padded to the longest of them; mask [R, T-1] marks the positions
// that predict trained response tokens; behaviour the rollout's log-probs
// there; advantages the GRPO advantage of each row. One forward pass per
// bucket: per-group batches cost a pass per group (k rows each), and
// padding every row to the batch's longest costs a long tail's length for
// every short one.
struct Bucket {
  torch::Tensor ids, mask, behaviour, advantages;
};

Bucket MakeBucket(const std::vector<const proto::TrainSample*>& samples,
                  const std::vector<double>& advantages, const std::vector<int64_t>& rows) {
  Bucket b;
  const int64_t n = static_cast<int64_t>(rows.size());
  int64_t width = 2;
  for (int64_t r : rows)
    width = std::max<int64_t>(
        width, samples[r]->prompt_tokens.size() + samples[r]->response_tokens.size());
  b.ids = torch::zeros({n, width}, torch::kLong);
  b.mask = torch::zeros({n, width - 1});
  b.behaviour = torch::zeros({n, width - 1});
  b.advantages = torch::zeros({n});
  auto ids = b.ids.accessor<int64_t, 2>();
  auto mask = b.mask.accessor<float, 2>();
  auto behaviour = b.behaviour.accessor<float, 2>();
  for (int64_t row = 0; row < n; ++row) {
    const proto::TrainSample& s = *samples[rows[row]];
    const int64_t p = s.prompt_tokens.size();
    for (int64_t t = 0; t < p; ++t) ids[row][t] = s.prompt_tokens[t];
    for (size_t j = 0; j < s.response_tokens.size(); ++j) {
      ids[row][p + j] = s.response_tokens[j];
      const bool trained = j >= s.loss_mask.size() || s.loss_mask[j];
      mask[row][p + j - 1] = trained ? 1.0f : 0.0f;
      if (j < s.behaviour_logprobs.size()) behaviour[row][p + j - 1] = s.behaviour_logprobs[j];
    }
    b.advantages[row] = advantages[rows[row]];
  }
  return b;
}

}  // namespace

std::map<std::string, double> UpdatePolicy(model::Llama& model, const config::TrainerSection& c,
                                           const std::vector<proto::TrainGroup>& groups,
                                           int64_t total_groups, weights::WeightSync& gradients,
                                           TrainerOptimizer& optimizer, model::Llama* reference) {
  TORCH_CHECK(c.kl_coef == 0 || reference, "UpdatePolicy: kl_coef needs a reference model");
  model->train();
  std::vector<torch::Tensor> params = model->parameters();
  if (c.reset_optimizer) ResetOptimizerState(optimizer.adam);
  const bool grpo = c.algorithm == config::Algorithm::kGrpo;
  // Every sample, group by group: group g is rows offset[g] .. offset[g+1]-1.
  std::vector<const proto::TrainSample*> samples;
  std::vector<int64_t> offset = {0};
  std::vector<torch::Tensor> rewards;
  std::vector<double> advantages;
  for (const auto& g : groups) {
    std::vector<float> r;
    for (const auto& s : g.samples) {
      samples.push_back(&s);
      r.push_back(static_cast<float>(s.reward));
    }
    offset.push_back(static_cast<int64_t>(samples.size()));
    rewards.push_back(torch::tensor(r));
    if (grpo) {
      torch::Tensor a = GrpoAdvantages(rewards.back()).contiguous();
      advantages.insert(advantages.end(), a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
    } else {
      advantages.resize(samples.size(), 0.0);  // only GRPO's loss reads them
    }
  }
  std::vector<int64_t> order(samples.size()), lengths;
  std::iota(order.begin(), order.end(), 0);
  auto length = [&](int64_t r) {
    return static_cast<int64_t>(samples[r]->prompt_tokens.size() +
                                samples[r]->response_tokens.size());
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return length(a) < length(b); });
  for (int64_t r : order) lengths.push_back(length(r));
  std::vector<Bucket> buckets;
  size_t begin = 0;
  for (const size_t end : model::LengthBatches(lengths)) {
    buckets.push_back(MakeBucket(samples, advantages,
                                 std::vector<int64_t>(order.begin() + begin, order.begin() + end)));
    begin = end;
  }
  // The buckets' rows, concatenated, are `order`; `gather` puts them back in
  // sample order.
  std::vector<int64_t> position(samples.size());
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int64_t>(i);
  const torch::Tensor gather = torch::tensor(position, torch::kLong);
  const double share = total_groups > 0 ? 1.0 / total_groups : 0.0;
  // GRPO: the frozen reference's token log-probs (for the KL term) and each
  // row's trained tokens (for the normalisation), in bucket order.
  std::vector<torch::Tensor> reference_logp, row_tokens;
  for (const Bucket& b : buckets) {
    row_tokens.push_back(b.mask.sum(1));
    if (grpo && c.kl_coef > 0) {
      torch::NoGradGuard no_grad;
      reference_logp.push_back(model::TokenLogprobsAt(*reference, b.ids, b.mask) * b.mask);
    }
  }
  // (A trainer's share of a small batch may be empty.)
  const torch::Tensor tokens_per_row =
      row_tokens.empty() ? torch::zeros({0}) : torch::cat(row_tokens).index_select(0, gather);

  // log pi_i: the first step's own forward, detached. The weights have not
  // changed yet, so a separate no-grad pass would compute the same values;
  // with the gradient they carry at theta = theta_i, the Kimi loss's first
  // step is exact.
  torch::Tensor ref_seq;
  std::map<std::string, double> stats;
  for (int64_t step = 0; step < c.steps_per_iteration; ++step) {
    const double lr = LearningRate(optimizer.schedule, optimizer.step);
    SetLearningRate(optimizer.adam, lr);
    optimizer.adam.zero_grad();
    double loss_value = 0, kl_value = 0;
    if (!samples.empty()) {
      // Sequence log-probs (and GRPO's row objectives and KL) of every
      // sample, in sample order.
      std::vector<torch::Tensor> seq_parts, grpo_parts, kl_parts;
      for (size_t i = 0; i < buckets.size(); ++i) {
        const Bucket& b = buckets[i];
        torch::Tensor tokens = model::TokenLogprobsAt(model, b.ids, b.mask) * b.mask;
        seq_parts.push_back(tokens.sum(1));
        if (!grpo) continue;
        torch::Tensor objective =
            GrpoRowObjective(tokens, b.behaviour * b.mask, b.mask, b.advantages, c.clip_epsilon);
        if (c.kl_coef > 0) {
          torch::Tensor kl = (K3Divergence(tokens, reference_logp[i]) * b.mask).sum(1);
          kl_parts.push_back(kl.detach());
          objective = objective - c.kl_coef * kl;
        }
        grpo_parts.push_back(objective);
      }
      torch::Tensor seq = torch::cat(seq_parts).index_select(0, gather);
      torch::Tensor objective, kl;
      if (grpo) objective = torch::cat(grpo_parts).index_select(0, gather);
      if (!kl_parts.empty()) kl = torch::cat(kl_parts).index_select(0, gather);
      if (step == 0) ref_seq = seq.detach();
      if (step > 0) stats["logp_change"] = (seq.detach() - ref_seq).mean().item<double>();
      torch::Tensor loss = torch::zeros({});
      for (size_t g = 0; g < groups.size(); ++g) {
        const int64_t from = offset[g], k = offset[g + 1] - offset[g];
        switch (c.algorithm) {
          case config::Algorithm::kKimi:
            loss = loss +
                   KimiLoss(seq.narrow(0, from, k), ref_seq.narrow(0, from, k), rewards[g], c.tau);
            break;
          case config::Algorithm::kReinforce:
            loss = loss + ReinforceLoss(seq.narrow(0, from, k), rewards[g]);
            break;
          case config::Algorithm::kGrpo: {
            const torch::Tensor n = tokens_per_row.narrow(0, from, k);
            loss = loss - NormaliseRows(objective.narrow(0, from, k), n, c.loss_normalisation);
            if (kl.defined())
              kl_value +=
                  NormaliseRows(kl.narrow(0, from, k), n, c.loss_normalisation).item<double>();
            break;
          }
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
    optimizer.adam.step();
    ++optimizer.step;
    stats["loss"] = loss_value;
    stats["lr"] = lr;
    if (grpo && c.kl_coef > 0) stats["kl"] = groups.empty() ? 0 : kl_value / groups.size();
  }
  return stats;
}

}  // namespace crescent::trainer
