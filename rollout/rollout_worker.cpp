#include "rollout/rollout_worker.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "common/model/policy.hpp"
#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"
#include "common/weights/weight_sync.hpp"
#include "rollout/generation.hpp"
#include "rollout/rollout_service.hpp"

namespace crescent::rollout {
namespace {

// rollout.kv_cache_mb must fit this host's memory (beside the model).
void CheckCacheFitsHost(const config::Config& c) {
  const int64_t host_mb = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                          static_cast<int64_t>(sysconf(_SC_PAGE_SIZE)) / (int64_t{1} << 20);
  if (c.rollout.kv_cache_mb > host_mb) {
    throw std::runtime_error(StrCat("rollout.kv_cache_mb (", c.Where("rollout.kv_cache_mb"),
                                    ") is ", c.rollout.kv_cache_mb, " MiB, more than this host's ",
                                    host_mb, " MiB of memory"));
  }
}

// The rollout worker of one rank: a copy of the policy, taking new weights
// from the first trainer between generation batches.
class RolloutWorker : public RolloutService {
 public:
  RolloutWorker(const net::JobContext& job, MPI_Comm weights_comm)
      : job_(job), start_(run::StartingPolicy(job.config)), policy_(model::LoadPolicy(start_.dir)) {
    policy_.model->eval();
    CheckCacheFitsHost(job.config);
    weights_ = weights::MakeMpiWeightSync(weights_comm, 0);
    params_ = policy_.model->parameters();
    version_ = start_.policy_version;
  }

  proto::GenerateResult Generate(const proto::GenerateRequest& request) override {
    auto t0 = std::chrono::steady_clock::now();
    proto::GenerateResult out;
    out.policy_version = version_;
    out.samples = GenerateSamples(policy_, request.tasks, job_.config.rollout.batch_slots, version_,
                                  job_.config.rollout.kv_cache_mb);
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
