#include "trainer/policy_loss.hpp"

#include <catch2/catch.hpp>
#include <cmath>

using crescent::trainer::KimiLoss;

TEST_CASE("Kimi loss and gradient equal hand-computed values", "[trainer]") {
  // k = 3, rewards (1, 0, 0): rbar = 1/3. tau = 0.5.
  // logp - ref = (0.5, 0, -0.5); residual r - rbar - tau*d = (5/12, -1/3, -1/12).
  // L = mean(residual^2) = (25/144 + 16/144 + 1/144) / 3 = 42/432; L/(2 tau) = 42/432.
  // dLoss/dlogp_j = (1/(2 tau)) * (2/k) * residual_j * (-tau) = -residual_j / k.
  torch::Tensor logp = torch::tensor({-1.0, -2.0, -3.0}, torch::kFloat64).requires_grad_(true);
  torch::Tensor ref = torch::tensor({-1.5, -2.0, -2.5}, torch::kFloat64);
  torch::Tensor rewards = torch::tensor({1.0, 0.0, 0.0}, torch::kFloat64);
  torch::Tensor loss = KimiLoss(logp, ref, rewards, 0.5);
  CHECK(loss.item<double>() == Approx(42.0 / 432.0).epsilon(1e-12));
  loss.backward();
  auto g = logp.grad();
  CHECK(g[0].item<double>() == Approx(-5.0 / 36.0).epsilon(1e-12));
  CHECK(g[1].item<double>() == Approx(1.0 / 9.0).epsilon(1e-12));
  CHECK(g[2].item<double>() == Approx(1.0 / 36.0).epsilon(1e-12));
}

TEST_CASE("the negative gradient is the paper's direction g for another tau", "[trainer]") {
  // g_j = (1/k) [ (r_j - rbar) - tau * (logp_j - ref_j) ] per unit of grad log pi.
  const double tau = 0.2;
  torch::Tensor logp = torch::tensor({-4.0, -1.0}, torch::kFloat64).requires_grad_(true);
  torch::Tensor ref = torch::tensor({-3.0, -1.5}, torch::kFloat64);
  torch::Tensor rewards = torch::tensor({0.0, 1.0}, torch::kFloat64);
  KimiLoss(logp, ref, rewards, tau).backward();
  // rbar = 0.5: g = (1/2) * ((-0.5 - 0.2*(-1)), (0.5 - 0.2*0.5)) = (-0.15, 0.2)
  CHECK(-logp.grad()[0].item<double>() == Approx(-0.15).epsilon(1e-12));
  CHECK(-logp.grad()[1].item<double>() == Approx(0.2).epsilon(1e-12));
}

TEST_CASE("equal rewards and unchanged policy give zero loss", "[trainer]") {
  torch::Tensor logp = torch::tensor({-2.0, -3.0}).requires_grad_(true);
  CHECK(KimiLoss(logp, logp.detach().clone(), torch::tensor({1.0, 1.0}), 1.0).item<double>() ==
        0.0);
  CHECK_THROWS_WITH(KimiLoss(logp, logp, torch::tensor({1.0}), 1.0),
                    Catch::Contains("expected three [k] tensors"));
}

TEST_CASE("REINFORCE with a group-mean baseline", "[trainer]") {
  torch::Tensor logp = torch::tensor({-1.0, -2.0}, torch::kFloat64).requires_grad_(true);
  torch::Tensor loss =
      crescent::trainer::ReinforceLoss(logp, torch::tensor({1.0, 0.0}, torch::kFloat64));
  // advantages (0.5, -0.5): loss = -(0.5*-1 + -0.5*-2)/2 = -0.25
  CHECK(loss.item<double>() == Approx(-0.25));
  loss.backward();
  CHECK(logp.grad()[0].item<double>() == Approx(-0.25));
  CHECK(logp.grad()[1].item<double>() == Approx(0.25));
}

TEST_CASE("GRPO clips the ratio on the side the advantage favours", "[trainer]") {
  // Two samples, one token each; rewards (1, 0): advantages (+1, -1) (population std 0.5).
  torch::Tensor token =
      torch::tensor({{std::log(1.5)}, {std::log(1.1)}}, torch::kFloat64).requires_grad_(true);
  torch::Tensor mask = torch::ones({2, 1});
  torch::Tensor loss =
      crescent::trainer::GrpoLoss(token, torch::zeros({2, 1}, torch::kFloat64), mask,
                                  torch::tensor({1.0, 0.0}, torch::kFloat64), 0.2);
  // sample 0: min(1.5, 1.2) * 1 = 1.2 (clipped: no gradient); sample 1: min(-1.1, -1.1) = -1.1
  // loss = -(1.2 - 1.1) / 2 = -0.05
  CHECK(loss.item<double>() == Approx(-0.05).margin(1e-5));
  loss.backward();
  CHECK(token.grad()[0][0].item<double>() == 0.0);
  CHECK(token.grad()[1][0].item<double>() == Approx(0.5 * 1.1).margin(1e-5));
}
