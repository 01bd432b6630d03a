// `crescent sft`: supervised fine-tuning, so that RL starts from a policy that
// sometimes succeeds: of the built-in model (or model.path) on the built-in
// task's worked answers, or of any policy on a JSONL data file
// (sft.data_file; trainer/sft_documents.hpp). Saves the policy to RUN_DIR/sft.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/model/policy.hpp"
#include "common/task/prompt_source.hpp"
#include "trainer/sft_documents.hpp"

namespace crescent::trainer {

// The worked examples SFT trains on: `source`'s training pool, in order,
// levels up to sft.max_level (0: all), then its first sft.examples (0: all).
std::vector<task::Prompt> SftPool(const config::Config& config, const task::PromptSource& source);

// One supervised step, as TrainSft took it.
struct SftStep {
  double loss = 0;       // mean negative log-likelihood of the batch's answer and eos tokens
  double grad_norm = 0;  // the gradient's global norm before clipping to sft.grad_clip
  int64_t rows = 0;      // rows drawn from the pool for the batch
  int64_t tokens = 0;    // the rows' tokens, padding not counted
};

// Takes sft.steps Adam steps on `policy` (rate sft.lr on SftSchedule), each
// on sft.batch_size rows drawn at random (seed sft.seed) from `pool`,
// clipping the gradient's global norm to sft.grad_clip; logs the mean loss
// every 100 steps and at the last. The parameters' gradients are left as the
// last step used them (clipped). REQUIRES: `pool` is not empty when
// sft.steps > 0.
std::vector<SftStep> TrainSft(model::Policy& policy, const std::vector<task::Prompt>& pool,
                              const config::Config& config);

// The mean negative log-likelihood per trained token (loss mask 1) of
// `documents`, taken in InOrderBatches without gradients: the held-out loss.
double SftLoss(model::Policy& policy, const std::vector<SftDocument>& documents,
               const config::Config& config);

// SFT on documents: what TrainSftOnDocuments did.
struct SftDataRun {
  std::vector<SftStep> steps;
  // (steps taken, SftLoss of the held-out documents) at the start, every 100
  // steps and after the last; empty when there are no held-out documents.
  std::vector<std::pair<int64_t, double>> heldout_losses;
};

// Takes sft.steps Adam steps as TrainSft does (sft.lr on SftSchedule,
// sft.grad_clip), each on the training documents SftBatchSampler draws
// (sft.token_budget, else sft.batch_size documents; seed sft.seed), with the
// loss the mean negative log-likelihood over the batch's trained tokens; logs
// the mean training loss and the held-out loss every 100 steps and at the
// last. REQUIRES: documents.training is not empty.
SftDataRun TrainSftOnDocuments(model::Policy& policy, const SftDocuments& documents,
                               const config::Config& config);

struct SftResult {
  std::string dir;                         // where the policy was saved: RUN_DIR/sft
  std::optional<double> heldout_accuracy;  // built-in task: of the saved policy, greedy
  std::optional<double> heldout_loss;      // sft.data_file with held-out documents: at the end
};

// The whole command. Without sft.data_file: refuses task.name other than
// arithmetic (the error names the key), trains on SftPool, saves, and measures
// the held-out accuracy. With it: loads the policy (model.path, else the
// built-in model), reads and encodes the whole file (LoadSftDocuments: every
// error before training), trains with TrainSftOnDocuments and saves.
SftResult RunSft(const config::Config& config);

}  // namespace crescent::trainer
