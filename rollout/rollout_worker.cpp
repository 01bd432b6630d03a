#include "rollout/rollout_worker.hpp"

#include <chrono>

#include "common/model/generator.hpp"
#include "common/model/policy.hpp"
#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"
#include "common/weights/weight_sync.hpp"
#include "rollout/rollout_service.hpp"

namespace crescent::rollout {
namespace {

proto::FinishReason ToFinishReason(model::Finish f) {
  switch (f) {
    case model::Finish::kStop:
      return proto::FinishReason::kStop;
    case model::Finish::kLength:
      return proto::FinishReason::kLength;
    case model::Finish::kBudget:
      return proto::FinishReason::kBudget;
    case model::Finish::kRepeat:
      return proto::FinishReason::kRepeat;
  }
  return proto::FinishReason::kStop;
}

// The rollout worker of one rank: a copy of the policy, taking new weights
// from the first trainer between generation batches.
class RolloutWorker : public RolloutService {
 public:
  RolloutWorker(const net::JobContext& job, MPI_Comm weights_comm)
      : job_(job), start_(run::StartingPolicy(job.config)), policy_(model::LoadPolicy(start_.dir)) {
    policy_.model->eval();
    weights_ = weights::MakeMpiWeightSync(weights_comm, 0);
    params_ = policy_.model->parameters();
    version_ = start_.policy_version;
  }

  proto::GenerateResult Generate(const proto::GenerateRequest& request) override {
    auto t0 = std::chrono::steady_clock::now();
    auto detokenize = [&](const std::vector<tok::TokenId>& ids) {
      return policy_.tokenizer.Decode(ids);
    };
    std::vector<model::GenerationRequest> batch;
    std::vector<std::vector<tok::TokenId>> prompt_tokens;
    for (const auto& task : request.tasks) {
      if (task.prompt_tokens.empty()) {
        throw std::invalid_argument(StrCat("trajectory ", task.trajectory_id, " (prompt \"",
                                           task.prompt.id, "\") came without prompt tokens"));
      }
      const std::vector<tok::TokenId>& prompt = task.prompt_tokens;
      prompt_tokens.push_back(prompt);
      model::GenerationRequest g;
      g.prompt = prompt;
      g.prompt.insert(g.prompt.end(), task.prefix.begin(), task.prefix.end());
      g.max_new_tokens = task.max_response_tokens - static_cast<int32_t>(task.prefix.size());
      g.budget = task.budget;
      g.temperature = task.sampling.temperature;
      g.top_k = task.sampling.top_k;
      g.top_p = task.sampling.top_p;
      g.seed = task.sampling.seed;
      g.vocab_limit = policy_.tokenizer.VocabSize();
      g.stop_tokens = policy_.tokenizer.stop_ids();
      g.stop_strings = task.stop_strings;
      if (!g.stop_strings.empty()) g.detokenize = detokenize;
      g.repeat_ngram = task.repeat_ngram;
      g.repeat_count = task.repeat_count;
      batch.push_back(std::move(g));
    }
    std::vector<model::GenerationResult> results =
        model::Generate(policy_.model, batch, job_.config.rollout.batch_slots);
    proto::GenerateResult out;
    out.policy_version = version_;
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& task = request.tasks[i];
      proto::Sample s;
      s.trajectory_id = task.trajectory_id;
      s.prompt_tokens = prompt_tokens[i];
      s.tokens = results[i].tokens;
      s.logprobs = results[i].logprobs;
      std::vector<tok::TokenId> response = task.prefix;
      response.insert(response.end(), results[i].tokens.begin(), results[i].tokens.end());
      s.text = policy_.tokenizer.DecodeResponse(response);
      s.finish_reason = ToFinishReason(results[i].finish);
      s.policy_version = version_;
      out.samples.push_back(std::move(s));
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  proto::WeightsSynced SyncWeights(const proto::SyncWeights& request) override {
    auto t0 = std::chrono::steady_clock::now();
    proto::WeightsSynced reply;
    reply.policy_version = weights_->Broadcast(params_, request.policy_version);
    if (reply.policy_version != request.policy_version) {
      reply.error = StrCat("received weights of version ", reply.policy_version, ", expected ",
                           request.policy_version);
    }
    version_ = reply.policy_version;
    reply.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return reply;
  }

 private:
  const net::JobContext& job_;
  const run::Checkpoint start_;
  model::Policy policy_;
  std::unique_ptr<weights::WeightSync> weights_;
  std::vector<torch::Tensor> params_;
  proto::PolicyVersion version_ = 0;
};

}  // namespace

int RunRolloutWorker(const net::JobContext& job, MPI_Comm weights_comm) {
  model::SetComputeThreads(static_cast<int>(job.config.threads.rollout));
  RolloutWorker worker(job, weights_comm);
  return net::Serve(job, worker);
}

}  // namespace crescent::rollout
