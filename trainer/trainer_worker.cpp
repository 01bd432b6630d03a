#include "trainer/trainer_worker.hpp"

#include <chrono>

#include "common/model/policy.hpp"
#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"
#include "trainer/trainer.hpp"

namespace crescent::trainer {

int RunTrainerWorker(const net::JobContext& job, MPI_Comm weights_comm, MPI_Comm trainers_comm) {
  model::SetComputeThreads(static_cast<int>(job.config.threads.trainer));
  const run::Checkpoint start = run::StartingPolicy(job.config);
  auto weights = weights::MakeMpiWeightSync(weights_comm, 0);
  auto gradients = weights::MakeMpiWeightSync(trainers_comm, 0);
  Trainer trainer(job.config, start, *gradients);
  const std::vector<torch::Tensor> params = trainer.policy().model->parameters();
  proto::PolicyVersion version = start.policy_version;
  if (version > 0) {
    LogInfo("starting from checkpoint ", start.dir, " (policy version ", version,
            ", optimizer step ", trainer.optimizer().step, ")");
  }

  int trainer_rank = 0;
  MPI_Comm_rank(trainers_comm, &trainer_rank);
  const int code =
      net::ServeWorker(job, [&](const proto::Message& m) -> std::optional<proto::Message> {
        auto t0 = std::chrono::steady_clock::now();
        auto seconds = [&] {
          return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        if (auto* request = std::get_if<proto::TrainRequest>(&m)) {
          proto::TrainResult result;
          result.request_id = request->request_id;
          result.stats = trainer.Train(request->groups, request->total_groups);
          result.policy_version = request->new_policy_version;
          result.seconds = seconds();
          return result;
        }
        if (auto* sync = std::get_if<proto::SyncWeights>(&m)) {
          proto::WeightsSynced reply;
          reply.policy_version = weights->Broadcast(params, sync->policy_version);
          version = reply.policy_version;
          reply.seconds = seconds();
          return reply;
        }
        if (auto* save = std::get_if<proto::SaveCheckpoint>(&m)) {
          proto::CheckpointSaved reply;
          reply.policy_version = save->policy_version;
          if (save->policy_version != version) {
            reply.error = StrCat("asked to checkpoint policy version ", save->policy_version,
                                 ", but this trainer holds version ", version);
          } else if (trainer_rank == 0) {
            reply.dir = trainer.SaveCheckpoint(save->iteration, version).dir;
          }
          reply.seconds = seconds();
          return reply;
        }
        LogWarn("unexpected ", proto::MessageName(m), " at policy version ", version, ": ignored");
        return std::nullopt;
      });
  if (code == 0 && trainer_rank == 0) {
    const std::string dir = job.config.run.dir + "/policy";
    model::SavePolicy(trainer.policy(), dir);
    LogInfo("saved policy version ", version, " to ", dir);
  }
  return code;
}

}  // namespace crescent::trainer
