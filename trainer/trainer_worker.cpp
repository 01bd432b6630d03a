#include "trainer/trainer_worker.hpp"

#include <chrono>

#include "common/model/policy.hpp"
#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"
#include "trainer/trainer.hpp"
#include "trainer/trainer_service.hpp"

namespace crescent::trainer {

namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The trainer of one rank: the policy, its optimizer, and its place in the
// gradient all-reduce and the weight broadcast.
class TrainerWorker : public TrainerService {
 public:
  TrainerWorker(const net::JobContext& job, MPI_Comm weights_comm, MPI_Comm trainers_comm)
      : start_(run::StartingPolicy(job.config)),
        weights_(weights::MakeMpiWeightSync(weights_comm, 0)),
        gradients_(weights::MakeMpiWeightSync(trainers_comm, 0)),
        trainer_(job.config, start_, *gradients_),
        params_(trainer_.policy().model->parameters()),
        version_(start_.policy_version) {
    MPI_Comm_rank(trainers_comm, &trainer_rank_);
    if (version_ > 0) {
      LogInfo("starting from checkpoint ", start_.dir, " (policy version ", version_,
              ", optimizer step ", trainer_.optimizer().step, ")");
    }
  }

  proto::TrainResult Train(const proto::TrainRequest& request) override {
    auto t0 = std::chrono::steady_clock::now();
    proto::TrainResult result;
    result.stats = trainer_.Train(request.groups, request.total_groups);
    result.policy_version = request.new_policy_version;
    result.seconds = Since(t0);
    return result;
  }

  proto::WeightsSynced SyncWeights(const proto::SyncWeights& request) override {
    auto t0 = std::chrono::steady_clock::now();
    proto::WeightsSynced reply;
    reply.policy_version = weights_->Broadcast(params_, request.policy_version);
    version_ = reply.policy_version;
    reply.seconds = Since(t0);
    return reply;
  }

  proto::CheckpointSaved SaveCheckpoint(const proto::SaveCheckpoint& request) override {
    auto t0 = std::chrono::steady_clock::now();
    proto::CheckpointSaved reply;
    reply.policy_version = request.policy_version;
    if (request.policy_version != version_) {
      reply.error = StrCat("asked to checkpoint policy version ", request.policy_version,
                           ", but this trainer holds version ", version_);
    } else if (trainer_rank_ == 0) {
      reply.dir = trainer_.SaveCheckpoint(request.iteration, version_).dir;
    }
    reply.seconds = Since(t0);
    return reply;
  }

  // After the job: trainer 0 saves the final policy to RUN_DIR/policy.
  void SaveFinalPolicy(const std::string& run_dir) {
    if (trainer_rank_ != 0) return;
    const std::string dir = run_dir + "/policy";
    model::SavePolicy(trainer_.policy(), dir);
    LogInfo("saved policy version ", version_, " to ", dir);
  }

 private:
  const run::Checkpoint start_;
  std::unique_ptr<weights::WeightSync> weights_, gradients_;
  Trainer trainer_;
  std::vector<torch::Tensor> params_;
  proto::PolicyVersion version_;
  int trainer_rank_ = 0;
};

}  // namespace

int RunTrainerWorker(const net::JobContext& job, MPI_Comm weights_comm, MPI_Comm trainers_comm) {
  model::SetComputeThreads(static_cast<int>(job.config.threads.trainer));
  TrainerWorker worker(job, weights_comm, trainers_comm);
  const int code = net::Serve(job, worker);
  if (code == 0) worker.SaveFinalPolicy(job.config.run.dir);
  return code;
}

}  // namespace crescent::trainer
