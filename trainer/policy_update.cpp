#include "trainer/policy_update.hpp"

#include <algorithm>
#include <numeric>

#include "common/model/generator.hpp"
#include "trainer/optimizer.hpp"
#include "trainer/policy_loss.hpp"

namespace crescent::trainer {
namespace {

// Rows of similar length from any groups (`rows`: indices among all
// samples), as tensors: ids [R, T] right-padded to the longest of them; mask
// [R, T-1] marks the positions that predict trained response tokens;
// behaviour the rollout's log-probs there; advantages the GRPO advantage of
// each row; reference the frozen reference's token log-probs (GRPO with a KL
// term). One forward pass per bucket: per-group batches cost a pass per
// group (k rows each), and padding every row to the batch's longest costs a
// long tail's length for every short one.
struct Bucket {
  torch::Tensor ids, mask, behaviour, advantages, reference;
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

// What a step's loss depends on, one value per sample: its sequence
// log-prob (the sum over its trained tokens), and for GRPO its clipped
// surrogate and its KL to the reference, each summed over its trained
// tokens. The loss is a function of these alone (undefined ones: unused).
struct RowValues {
  torch::Tensor seq, objective, kl;
  template <class F>
  RowValues Map(F f) const {
    RowValues out;
    if (seq.defined()) out.seq = f(seq);
    if (objective.defined()) out.objective = f(objective);
    if (kl.defined()) out.kl = f(kl);
    return out;
  }
};

// A bucket's row values, with gradient when recording.
RowValues BucketValues(model::Llama& model, const config::TrainerSection& c, const Bucket& b) {
  const torch::Tensor tokens = model::TokenLogprobsAt(model, b.ids, b.mask) * b.mask;
  RowValues v;
  v.seq = tokens.sum(1);
  if (c.algorithm != config::Algorithm::kGrpo) return v;
  v.objective =
      GrpoRowObjective(tokens, b.behaviour * b.mask, b.mask, b.advantages, c.clip_epsilon);
  if (c.kl_coef > 0) v.kl = (K3Divergence(tokens, b.reference) * b.mask).sum(1);
  return v;
}

// The groups of a step: group g is samples offset[g] .. offset[g+1]-1.
struct StepGroups {
  std::vector<int64_t> offset;
  std::vector<torch::Tensor> rewards;  // [k] per group
  torch::Tensor tokens_per_row;        // [N] trained tokens of each sample
  double share = 0;                    // this trainer's weight in the global mean
};

// The step's loss from the samples' values (`ref_seq`: log pi_i, the Kimi
// loss's reference); `kl`, when given, receives GRPO's mean KL per group.
torch::Tensor StepLoss(const RowValues& v, const torch::Tensor& ref_seq, const StepGroups& s,
                       const config::TrainerSection& c, double* kl = nullptr) {
  torch::Tensor loss = torch::zeros({});
  double kl_sum = 0;
  const size_t groups = s.rewards.size();
  for (size_t g = 0; g < groups; ++g) {
    const int64_t from = s.offset[g], k = s.offset[g + 1] - s.offset[g];
    switch (c.algorithm) {
      case config::Algorithm::kKimi:
        loss = loss +
               KimiLoss(v.seq.narrow(0, from, k), ref_seq.narrow(0, from, k), s.rewards[g], c.tau);
        break;
      case config::Algorithm::kReinforce:
        loss = loss + ReinforceLoss(v.seq.narrow(0, from, k), s.rewards[g]);
        break;
      case config::Algorithm::kGrpo: {
        const torch::Tensor n = s.tokens_per_row.narrow(0, from, k);
        torch::Tensor objective = v.objective.narrow(0, from, k);
        if (v.kl.defined()) {
          const torch::Tensor group_kl = v.kl.narrow(0, from, k);
          objective = objective - c.kl_coef * group_kl;
          kl_sum += NormaliseRows(group_kl.detach(), n, c.loss_normalisation).item<double>();
        }
        loss = loss - NormaliseRows(objective, n, c.loss_normalisation);
        break;
      }
    }
  }
  if (kl) *kl = groups > 0 ? kl_sum / groups : 0.0;
  return loss * s.share;
}

// d loss / d value for every sample's values, at `at`.
RowValues LossWeights(const RowValues& at, const torch::Tensor& ref_seq, const StepGroups& s,
                      const config::TrainerSection& c) {
  torch::AutoGradMode record(true);
  const RowValues leaf =
      at.Map([](const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); });
  std::vector<torch::Tensor> inputs;
  leaf.Map([&](const torch::Tensor& t) {
    inputs.push_back(t);
    return t;
  });
  const std::vector<torch::Tensor> grads =
      torch::autograd::grad({StepLoss(leaf, ref_seq, s, c)}, inputs, {}, /*retain_graph=*/false,
                            /*create_graph=*/false, /*allow_unused=*/true);
  size_t i = 0;
  return leaf.Map([&](const torch::Tensor& t) {
    const torch::Tensor& g = grads[i++];
    return g.defined() ? g : torch::zeros_like(t, t.options().requires_grad(false));
  });
}

// Zero values of the fields the configured loss reads, for `n` samples.
RowValues ZeroValues(int64_t n, const config::TrainerSection& c) {
  RowValues v;
  v.seq = torch::zeros({n});
  if (c.algorithm != config::Algorithm::kGrpo) return v;
  v.objective = torch::zeros({n});
  if (c.kl_coef > 0) v.kl = torch::zeros({n});
  return v;
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
  // Every sample, group by group.
  std::vector<const proto::TrainSample*> samples;
  StepGroups step_groups;
  step_groups.offset = {0};
  step_groups.share = total_groups > 0 ? 1.0 / total_groups : 0.0;
  std::vector<double> advantages;
  for (const auto& g : groups) {
    std::vector<float> r;
    for (const auto& s : g.samples) {
      samples.push_back(&s);
      r.push_back(static_cast<float>(s.reward));
    }
    step_groups.offset.push_back(static_cast<int64_t>(samples.size()));
    step_groups.rewards.push_back(torch::tensor(r));
    if (grpo) {
      torch::Tensor a = GrpoAdvantages(step_groups.rewards.back()).contiguous();
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
  // Length buckets, each cut into micro-batches of at most
  // micro_batch_tokens tokens, padding included (a longer sample is one of
  // its own). Their rows, concatenated, are `order`.
  std::vector<Bucket> buckets;
  std::vector<int64_t> bucket_start;  // where each bucket's rows begin in `order`
  size_t begin = 0;
  for (const size_t end : model::LengthBatches(lengths)) {
    for (size_t from = begin, to; from < end; from = to) {
      to = from + 1;
      while (to < end &&
             (c.micro_batch_tokens == 0 ||
              static_cast<int64_t>(to - from + 1) * lengths[to] <= c.micro_batch_tokens))
        ++to;
      bucket_start.push_back(static_cast<int64_t>(from));
      buckets.push_back(MakeBucket(samples, advantages,
                                   std::vector<int64_t>(order.begin() + from, order.begin() + to)));
    }
    begin = end;
  }
  // `gather` puts rows in bucket order back in sample order; `order_rows`
  // takes sample-order values to bucket order.
  std::vector<int64_t> position(samples.size());
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int64_t>(i);
  const torch::Tensor gather = torch::tensor(position, torch::kLong);
  const torch::Tensor order_rows = torch::tensor(order, torch::kLong);
  // GRPO: each row's trained tokens (for the normalisation) and the frozen
  // reference's token log-probs (for the KL term).
  std::vector<torch::Tensor> row_tokens;
  for (Bucket& b : buckets) {
    row_tokens.push_back(b.mask.sum(1));
    if (grpo && c.kl_coef > 0) {
      torch::NoGradGuard no_grad;
      b.reference = model::TokenLogprobsAt(*reference, b.ids, b.mask) * b.mask;
    }
  }
  // (A trainer's share of a small batch may be empty.)
  step_groups.tokens_per_row =
      row_tokens.empty() ? torch::zeros({0}) : torch::cat(row_tokens).index_select(0, gather);
  auto in_sample_order = [&](const std::vector<RowValues>& parts) {
    RowValues all;
    auto cat = [&](torch::Tensor RowValues::*field) {
      if (!(parts.front().*field).defined()) return;
      std::vector<torch::Tensor> list;
      for (const RowValues& p : parts) list.push_back(p.*field);
      all.*field = torch::cat(list).index_select(0, gather);
    };
    cat(&RowValues::seq);
    cat(&RowValues::objective);
    cat(&RowValues::kl);
    return all;
  };
  // With one micro-batch the step's loss is built on one graph and
  // backpropagated once. With several, each runs its own forward and
  // backward on the loss's linearisation in its rows' values (the weights
  // d loss / d value), and the gradients add up to the same. REINFORCE's
  // and GRPO's losses are linear in their values, so the weights need no
  // values; the Kimi loss is quadratic in log pi(y) - log pi_i(y), which is
  // 0 at the first step, and from the second step on the sequence log-probs
  // are computed first, without a graph.
  const bool accumulate = buckets.size() > 1 && c.micro_batch_tokens > 0;

  // log pi_i: the first step's sequence log-probs, detached. The weights
  // have not changed yet; with the gradient taken at theta = theta_i, the
  // Kimi loss's first step is exact.
  torch::Tensor ref_seq;
  std::map<std::string, double> stats;
  for (int64_t step = 0; step < c.steps_per_iteration; ++step) {
    const double lr = LearningRate(optimizer.schedule, optimizer.step);
    SetLearningRate(optimizer.adam, lr);
    optimizer.adam.zero_grad();
    double loss_value = 0, kl_value = 0;
    if (!samples.empty()) {
      auto all_buckets = [&] {
        std::vector<RowValues> parts;
        for (const Bucket& b : buckets) parts.push_back(BucketValues(model, c, b));
        return in_sample_order(parts);
      };
      RowValues values;  // detached
      if (!accumulate) {
        const RowValues live = all_buckets();
        values = live.Map([](const torch::Tensor& t) { return t.detach(); });
        if (step == 0) ref_seq = values.seq;
        const torch::Tensor loss = StepLoss(live, ref_seq, step_groups, c, &kl_value);
        loss.backward();
        loss_value = loss.item<double>();
      } else {
        const bool values_first = c.algorithm == config::Algorithm::kKimi && step > 0;
        if (values_first) {
          torch::NoGradGuard no_grad;
          values = all_buckets();
        }
        // At the first step, zeros for the values and log pi_i alike.
        const RowValues at =
            values_first ? values : ZeroValues(static_cast<int64_t>(samples.size()), c);
        const RowValues weights = LossWeights(at, step == 0 ? at.seq : ref_seq, step_groups, c);
        std::vector<RowValues> parts;
        for (size_t i = 0; i < buckets.size(); ++i) {
          const RowValues live = BucketValues(model, c, buckets[i]);
          const torch::Tensor rows = order_rows.narrow(0, bucket_start[i], buckets[i].ids.size(0));
          torch::Tensor surrogate = torch::zeros({});
          auto add = [&](torch::Tensor RowValues::*field) {
            if ((live.*field).defined())
              surrogate = surrogate + ((weights.*field).index_select(0, rows) * live.*field).sum();
          };
          add(&RowValues::seq);
          add(&RowValues::objective);
          add(&RowValues::kl);
          surrogate.backward();
          parts.push_back(live.Map([](const torch::Tensor& t) { return t.detach(); }));
        }
        if (!values_first) {
          values = in_sample_order(parts);
          if (step == 0) ref_seq = values.seq;
        }
        loss_value = StepLoss(values, ref_seq, step_groups, c, &kl_value).item<double>();
      }
      if (step > 0) stats["logp_change"] = (values.seq - ref_seq).mean().item<double>();
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
    if (grpo && c.kl_coef > 0) stats["kl"] = kl_value;
  }
  return stats;
}

}  // namespace crescent::trainer
