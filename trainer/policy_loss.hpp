// Policy losses over groups of k samples of one prompt (docs/training.md,
// "The design: losses, pi_i, the length penalty, sampling").
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/config/config.hpp"

namespace crescent::trainer {

// Kimi k1.5's online mirror-descent loss for one group, already divided by
// 2*tau so that its negative gradient is the paper's update direction g:
//
//   L(theta) / (2 tau),  L = mean_j (r_j - rbar - tau * (logp_j - ref_logp_j))^2
//
// logp: [k] sequence log-probs log pi_theta(y_j|x) (with gradient);
// ref_logp: [k] log pi_i(y_j|x), recomputed by the trainer at the start of the
// iteration (no gradient); rewards: [k]. rbar is the group's mean reward.
torch::Tensor KimiLoss(const torch::Tensor& logp, const torch::Tensor& ref_logp,
                       const torch::Tensor& rewards, double tau);

}  // namespace crescent::trainer

namespace crescent::trainer {

// REINFORCE with the group-mean baseline: -mean_j (r_j - rbar) * logp_j.
torch::Tensor ReinforceLoss(const torch::Tensor& logp, const torch::Tensor& rewards);

// GRPO for one group, per token: advantages A_j = (r_j - rbar) / (std(r) + 1e-6);
// loss = -mean over the group's trained tokens of
// min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A), ratio = exp(token_logp - behaviour_logp).
// token_logp, behaviour_logp, mask: [k, T] (mask 1 where a token is trained).
// The pieces of GrpoLoss for rows of several groups at once: a group's
// advantages, and each row's clipped surrogate summed over its trained
// tokens (token_logp, behaviour_logp, mask: [rows, T]; advantages: [rows]).
torch::Tensor GrpoAdvantages(const torch::Tensor& rewards);
torch::Tensor GrpoRowObjective(const torch::Tensor& token_logp, const torch::Tensor& behaviour_logp,
                               const torch::Tensor& mask, const torch::Tensor& advantages,
                               double epsilon);

torch::Tensor GrpoLoss(const torch::Tensor& token_logp, const torch::Tensor& behaviour_logp,
                       const torch::Tensor& mask, const torch::Tensor& rewards, double epsilon);

// The k3 estimator of KL(pi_theta || pi_ref) per token (Schulman): with
// d = ref_logp - token_logp, exp(d) - d - 1 (>= 0, zero where they agree).
torch::Tensor K3Divergence(const torch::Tensor& token_logp, const torch::Tensor& ref_logp);

// A group's per-row sums over trained tokens (`rows`: [k]) normalised as
// configured: kToken divides their total by the group's trained tokens
// (`tokens`: [k], per row); kSequence averages each row's per-token mean.
torch::Tensor NormaliseRows(const torch::Tensor& rows, const torch::Tensor& tokens,
                            config::LossNormalisation normalisation);

}  // namespace crescent::trainer
