#include "trainer/policy_loss.hpp"

namespace crescent::trainer {

torch::Tensor KimiLoss(const torch::Tensor& logp, const torch::Tensor& ref_logp,
                       const torch::Tensor& rewards, double tau) {
  TORCH_CHECK(tau > 0, "KimiLoss: tau must be positive, got ", tau);
  TORCH_CHECK(
      logp.dim() == 1 && logp.sizes() == ref_logp.sizes() && logp.sizes() == rewards.sizes(),
      "KimiLoss: expected three [k] tensors, got ", logp.sizes(), ", ", ref_logp.sizes(), ", ",
      rewards.sizes());
  torch::Tensor advantage = rewards - rewards.mean();
  torch::Tensor residual = advantage - tau * (logp - ref_logp.detach());
  return residual.pow(2).mean() / (2 * tau);
}

}  // namespace crescent::trainer

namespace crescent::trainer {

torch::Tensor ReinforceLoss(const torch::Tensor& logp, const torch::Tensor& rewards) {
  TORCH_CHECK(logp.sizes() == rewards.sizes(), "ReinforceLoss: shapes differ: ", logp.sizes(),
              " and ", rewards.sizes());
  return -((rewards - rewards.mean()) * logp).mean();
}

torch::Tensor GrpoAdvantages(const torch::Tensor& rewards) {
  return (rewards - rewards.mean()) / (rewards.std(/*unbiased=*/false) + 1e-6);
}

torch::Tensor GrpoRowObjective(const torch::Tensor& token_logp, const torch::Tensor& behaviour_logp,
                               const torch::Tensor& mask, const torch::Tensor& advantages,
                               double epsilon) {
  TORCH_CHECK(token_logp.dim() == 2 && token_logp.sizes() == behaviour_logp.sizes() &&
                  token_logp.sizes() == mask.sizes() && advantages.size(0) == token_logp.size(0),
              "GRPO: expected [rows, T] log-probs and mask and a value per row");
  torch::Tensor ratio = torch::exp(token_logp - behaviour_logp.detach());
  torch::Tensor a = advantages.unsqueeze(1);
  torch::Tensor surrogate =
      torch::min(ratio * a, torch::clamp(ratio, 1 - epsilon, 1 + epsilon) * a);
  return (surrogate * mask.to(token_logp.dtype())).sum(1);
}

torch::Tensor GrpoLoss(const torch::Tensor& token_logp, const torch::Tensor& behaviour_logp,
                       const torch::Tensor& mask, const torch::Tensor& rewards, double epsilon) {
  torch::Tensor objective =
      GrpoRowObjective(token_logp, behaviour_logp, mask, GrpoAdvantages(rewards), epsilon);
  return -objective.sum() / mask.sum().clamp_min(1);
}

torch::Tensor K3Divergence(const torch::Tensor& token_logp, const torch::Tensor& ref_logp) {
  torch::Tensor d = ref_logp.detach() - token_logp;
  return torch::exp(d) - d - 1;
}

torch::Tensor NormaliseRows(const torch::Tensor& rows, const torch::Tensor& tokens,
                            config::LossNormalisation normalisation) {
  switch (normalisation) {
    case config::LossNormalisation::kSequence:
      return (rows / tokens.clamp_min(1)).mean();
    case config::LossNormalisation::kToken:
      break;
  }
  return rows.sum() / tokens.sum().clamp_min(1);
}

}  // namespace crescent::trainer
