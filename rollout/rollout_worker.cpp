#include "rollout/rollout_worker.hpp"

#include "common/util/log.hpp"

namespace crescent::rollout {

int RunRolloutWorker(const net::JobContext& job) {
  return net::ServeWorker(job, [](const proto::Message& m) -> std::optional<proto::Message> {
    LogWarn("unexpected ", proto::MessageName(m), ": ignored");
    return std::nullopt;
  });
}

}  // namespace crescent::rollout
