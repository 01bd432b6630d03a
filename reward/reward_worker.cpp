#include "reward/reward_worker.hpp"

#include <chrono>
#include <stdexcept>

#include "common/util/log.hpp"
#include "reward/reward_function.hpp"
#include "reward/reward_service.hpp"

namespace crescent::reward {
namespace {

// The configured reward functions of one rank; a sample's reward is their sum.
class RewardWorker : public RewardService {
 public:
  explicit RewardWorker(const net::JobContext& job) : options_(RewardOptionsOf(job.config.reward)) {
    for (const auto& name : job.config.reward.functions) {
      try {
        functions_.push_back(MakeRewardFunction(name, options_));
      } catch (const std::exception& e) {
        throw std::runtime_error(StrCat("reward.functions: ", e.what(), " (",
                                        job.config.Where("reward.functions"), ")"));
      }
    }
  }

  proto::ScoreResult Score(const proto::ScoreRequest& request) override {
    auto t0 = std::chrono::steady_clock::now();
    proto::ScoreResult result;
    for (const auto& item : request.items) {
      proto::Score score;
      score.trajectory_id = item.trajectory_id;
      score.correct = true;
      for (const auto& f : functions_) {
        Outcome o;
        try {
          o = f->Score(item.prompt.text, item.response, item.prompt.metadata);
        } catch (const std::exception& e) {
          o = {options_.failure_reward, false, e.what()};
        }
        score.reward += o.reward;
        score.correct = score.correct && o.correct;
        if (!o.error.empty()) score.error += (score.error.empty() ? "" : "; ") + o.error;
      }
      result.scores.push_back(std::move(score));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }

 private:
  RewardOptions options_;
  std::vector<std::unique_ptr<RewardFunction>> functions_;
};

}  // namespace

int RunRewardWorker(const net::JobContext& job) {
  RewardWorker worker(job);
  return net::Serve(job, worker);
}

}  // namespace crescent::reward
