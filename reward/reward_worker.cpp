#include "reward/reward_worker.hpp"

#include <chrono>
#include <stdexcept>

#include "common/util/log.hpp"
#include "reward/composed_reward.hpp"
#include "reward/reward_service.hpp"

namespace crescent::reward {
namespace {

// The configured reward functions of one rank (ComposedReward: their weighted sum).
class RewardWorker : public RewardService {
 public:
  explicit RewardWorker(const net::JobContext& job)
      : reward_(job.config), threads_(job.config.reward.sandboxes) {}

  proto::ScoreResult Score(const proto::ScoreRequest& request) override {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<ComposedReward::Sample> samples;
    for (const auto& item : request.items) samples.push_back({&item.prompt, &item.response});
    std::vector<Composed> scored = reward_.ScoreBatch(samples, threads_);
    proto::ScoreResult result;
    for (size_t i = 0; i < request.items.size(); ++i) {
      const proto::ScoreItem& item = request.items[i];
      Composed& o = scored[i];
      proto::Score score;
      score.trajectory_id = item.trajectory_id;
      score.reward = o.reward;
      score.correct = o.correct;
      score.error = std::move(o.error);
      score.details = std::move(o.details);
      score.failed = std::move(o.failed);
      result.scores.push_back(std::move(score));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }

 private:
  ComposedReward reward_;
  int64_t threads_;  // reward.sandboxes: the `code` function's samples at once
};

}  // namespace

int RunRewardWorker(const net::JobContext& job) {
  RewardWorker worker(job);
  return net::Serve(job, worker);
}

}  // namespace crescent::reward
