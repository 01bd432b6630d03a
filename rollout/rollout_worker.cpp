#include "rollout/rollout_worker.hpp"

#include <chrono>

#include "common/model/generator.hpp"
#include "common/model/policy.hpp"
#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"
#include "common/weights/weight_sync.hpp"

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

std::vector<int32_t> To32(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

}  // namespace

int RunRolloutWorker(const net::JobContext& job, MPI_Comm weights_comm) {
  model::SetComputeThreads(static_cast<int>(job.config.threads.rollout));
  const run::Checkpoint start = run::StartingPolicy(job.config);
  model::Policy policy = model::LoadPolicy(start.dir);
  policy.model->eval();
  auto weights = weights::MakeMpiWeightSync(weights_comm, 0);
  const std::vector<torch::Tensor> params = policy.model->parameters();
  proto::PolicyVersion version = start.policy_version;
  auto detokenize = [&](const std::vector<int64_t>& ids) { return policy.tokenizer.Decode(ids); };

  auto generate = [&](const proto::GenerateRequest& request) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<model::GenerationRequest> batch;
    std::vector<std::vector<int64_t>> prompt_tokens;
    for (const auto& task : request.tasks) {
      std::vector<int64_t> prompt = {tok::CharTokenizer::kBos};
      for (int64_t id : policy.tokenizer.Encode(task.prompt.text)) prompt.push_back(id);
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
      g.stop_tokens = {tok::CharTokenizer::kEos};
      g.stop_strings = task.stop_strings;
      if (!g.stop_strings.empty()) g.detokenize = detokenize;
      g.repeat_ngram = task.repeat_ngram;
      g.repeat_count = task.repeat_count;
      batch.push_back(std::move(g));
    }
    std::vector<model::GenerationResult> results =
        model::Generate(policy.model, batch, job.config.rollout.batch_slots);
    proto::GenerateResult out;
    out.request_id = request.request_id;
    out.policy_version = version;
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& task = request.tasks[i];
      proto::Sample s;
      s.trajectory_id = task.trajectory_id;
      s.prompt_tokens = To32(prompt_tokens[i]);
      s.tokens = To32(results[i].tokens);
      s.logprobs = results[i].logprobs;
      std::vector<int64_t> response(task.prefix.begin(), task.prefix.end());
      response.insert(response.end(), results[i].tokens.begin(), results[i].tokens.end());
      s.text = policy.tokenizer.Decode(response);
      s.finish_reason = ToFinishReason(results[i].finish);
      s.policy_version = version;
      out.samples.push_back(std::move(s));
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  };

  return net::ServeWorker(job, [&](const proto::Message& m) -> std::optional<proto::Message> {
    if (auto* request = std::get_if<proto::GenerateRequest>(&m)) return generate(*request);
    if (auto* sync = std::get_if<proto::SyncWeights>(&m)) {
      auto t0 = std::chrono::steady_clock::now();
      proto::WeightsSynced reply;
      reply.policy_version = weights->Broadcast(params, sync->policy_version);
      if (reply.policy_version != sync->policy_version) {
        reply.error = StrCat("received weights of version ", reply.policy_version, ", expected ",
                             sync->policy_version);
      }
      version = reply.policy_version;
      reply.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return reply;
    }
    LogWarn("unexpected ", proto::MessageName(m), ": ignored");
    return std::nullopt;
  });
}

}  // namespace crescent::rollout
