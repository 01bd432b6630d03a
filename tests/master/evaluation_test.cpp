// What a run's evaluations and `crescent eval` share: the greedy and sampled
// evaluation tasks, and the pass@k estimator.
#include "master/evaluation.hpp"

#include <catch2/catch.hpp>

using namespace crescent;

TEST_CASE("pass@k is the unbiased estimator 1 - C(n-c,k)/C(n,k)", "[master]") {
  using master::PassAtK;
  CHECK(PassAtK(4, 1, 2) == Approx(1.0 - 3.0 / 6.0));   // C(3,2)/C(4,2)
  CHECK(PassAtK(5, 2, 2) == Approx(1.0 - 3.0 / 10.0));  // C(3,2)/C(5,2)
  CHECK(PassAtK(10, 3, 5) == Approx(1.0 - 21.0 / 252.0));
  for (int64_t c = 0; c <= 8; ++c) CHECK(PassAtK(8, c, 1) == Approx(c / 8.0));  // mean@n
  CHECK(PassAtK(8, 0, 8) == 0.0);
  CHECK(PassAtK(8, 1, 8) == 1.0);  // n - c < k: every draw of 8 holds the correct one
  CHECK(PassAtK(8, 8, 3) == 1.0);
}

TEST_CASE("evaluation tasks: greedy, or sampled with the rollout section's settings", "[master]") {
  config::RolloutSection rollout;
  rollout.max_response_tokens = 12;
  rollout.budget = 3;
  rollout.temperature = 0.7;
  rollout.top_k = 5;
  rollout.top_p = 0.9;
  rollout.stop_strings = {"\n"};
  rollout.repeat_ngram = 2;
  proto::Prompt prompt{"p", "1+2=", {{"answer", "3"}}};
  const proto::GenerationTask greedy = master::GreedyTask(rollout, 7, prompt);
  CHECK(greedy.trajectory_id == 7);
  CHECK(greedy.prompt.text == "1+2=");
  CHECK(greedy.max_response_tokens == 12);
  CHECK(greedy.budget == 0);
  CHECK(greedy.sampling.temperature == 0);
  CHECK(greedy.sampling.top_k == 0);
  CHECK(greedy.sampling.top_p == 1.0f);
  CHECK(greedy.stop_strings == std::vector<std::string>{"\n"});
  CHECK(greedy.repeat_ngram == 2);
  const proto::GenerationTask sampled = master::SampledTask(rollout, 8, prompt, 99);
  CHECK(sampled.budget == 0);
  CHECK(sampled.sampling.temperature == 0.7f);
  CHECK(sampled.sampling.top_k == 5);
  CHECK(sampled.sampling.top_p == 0.9f);
  CHECK(sampled.sampling.seed == 99);
  CHECK(sampled.max_response_tokens == 12);
}
