// Evaluation in a run: the task's held-out prompts and those of
// eval.data_file, generated greedily (no budget, temperature 0) by the
// rollout workers and scored by the reward services; the accuracy goes to
// metrics.jsonl. `crescent eval` builds its tasks with the same functions
// (docs/evaluation.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "master/metrics.hpp"
#include "master/prompt_encoder.hpp"
#include "master/workers.hpp"

namespace crescent::master {

// A greedy evaluation task for `prompt`: rollout.max_response_tokens,
// rollout.stop_strings and the repetition detector, no budget, temperature 0
// (no top-k, top-p or seed). No prompt tokens yet (PromptEncoder::Fill).
proto::GenerationTask GreedyTask(const config::RolloutSection& rollout, uint64_t id,
                                 const proto::Prompt& prompt);
// A sampled evaluation task: GreedyTask's, with rollout.temperature, top_k,
// top_p and `seed`.
proto::GenerationTask SampledTask(const config::RolloutSection& rollout, uint64_t id,
                                  const proto::Prompt& prompt, uint64_t seed);

// The unbiased estimator of pass@k from n samples of which c are correct
// (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"):
// 1 - C(n-c, k) / C(n, k), the probability that k samples drawn without
// replacement from the n hold a correct one; 1 when n - c < k. Computed as
// 1 - prod_{i=n-c+1..n} (1 - k/i). REQUIRES: 0 <= c <= n, 1 <= k <= n.
double PassAtK(int64_t n, int64_t c, int64_t k);

// Which set an evaluation is of: the names in metrics.jsonl and the log.
enum class EvalSet { kHeldout, kDataFile };

class Evaluation {
 public:
  Evaluation(const config::Config& config, WorkerPool& workers, PromptEncoder& prompts,
             MetricsLog& metrics, env::Env* env);
  // The accuracy of policy `version` on `prompts` (the held-out set or
  // eval.data_file's), written to metrics.jsonl and logged; -1 when it is
  // empty.
  double Run(const std::vector<proto::Prompt>& prompts, EvalSet set, const std::string& when,
             proto::PolicyVersion version);

 private:
  // Evaluation trajectories are not in the replay buffer: their ids come
  // from a range of their own.
  static constexpr uint64_t kIdBase = uint64_t{1} << 62;

  const config::Config& config_;
  WorkerPool& workers_;
  PromptEncoder& prompts_;
  MetricsLog& metrics_;
  env::Env* env_;
  uint64_t next_id_ = kIdBase;
};

}  // namespace crescent::master
