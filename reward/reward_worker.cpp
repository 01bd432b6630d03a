#include "reward/reward_worker.hpp"

#include <chrono>
#include <stdexcept>

#include "common/util/log.hpp"
#include "reward/reward_function.hpp"

namespace crescent::reward {

int RunRewardWorker(const net::JobContext& job) {
  const RewardOptions options = RewardOptionsOf(job.config.reward);
  std::vector<std::unique_ptr<RewardFunction>> functions;
  for (const auto& name : job.config.reward.functions) {
    try {
      functions.push_back(MakeRewardFunction(name, options));
    } catch (const std::exception& e) {
      throw std::runtime_error(
          StrCat("reward.functions: ", e.what(), " (", job.config.Where("reward.functions"), ")"));
    }
  }
  return net::ServeWorker(job, [&](const proto::Message& m) -> std::optional<proto::Message> {
    auto* request = std::get_if<proto::ScoreRequest>(&m);
    if (!request) {
      LogWarn("unexpected ", proto::MessageName(m), ": ignored");
      return std::nullopt;
    }
    auto t0 = std::chrono::steady_clock::now();
    proto::ScoreResult result;
    result.request_id = request->request_id;
    for (const auto& item : request->items) {
      proto::Score score;
      score.trajectory_id = item.trajectory_id;
      score.correct = true;
      for (const auto& f : functions) {
        Outcome o;
        try {
          o = f->Score(item.prompt.text, item.response, item.prompt.metadata);
        } catch (const std::exception& e) {
          o = {options.failure_reward, false, e.what()};
        }
        score.reward += o.reward;
        score.correct = score.correct && o.correct;
        if (!o.error.empty()) score.error += (score.error.empty() ? "" : "; ") + o.error;
      }
      result.scores.push_back(std::move(score));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  });
}

}  // namespace crescent::reward
