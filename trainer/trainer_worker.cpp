#include "trainer/trainer_worker.hpp"

#include "common/util/log.hpp"

namespace crescent::trainer {

int RunTrainerWorker(const net::JobContext& job) {
  return net::ServeWorker(job, [](const proto::Message& m) -> std::optional<proto::Message> {
    LogWarn("unexpected ", proto::MessageName(m), ": ignored");
    return std::nullopt;
  });
}

}  // namespace crescent::trainer
