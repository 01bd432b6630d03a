#include "master/evaluation.hpp"

#include "common/util/log.hpp"
#include "master/scheduling.hpp"

namespace crescent::master {

proto::GenerationTask GreedyTask(const config::RolloutSection& rollout, uint64_t id,
                                 const proto::Prompt& prompt) {
  proto::GenerationTask task = NewTask(rollout, id, prompt);
  task.budget = 0;
  task.sampling = {};
  task.sampling.temperature = 0;  // greedy
  return task;
}

proto::GenerationTask SampledTask(const config::RolloutSection& rollout, uint64_t id,
                                  const proto::Prompt& prompt, uint64_t seed) {
  proto::GenerationTask task = NewTask(rollout, id, prompt);
  task.budget = 0;
  task.sampling.seed = seed;
  return task;
}

double PassAtK(int64_t n, int64_t c, int64_t k) {
  if (n - c < k) return 1.0;
  double none = 1.0;  // C(n-c, k) / C(n, k)
  for (int64_t i = n - c + 1; i <= n; ++i) none *= 1.0 - static_cast<double>(k) / i;
  return 1.0 - none;
}

Evaluation::Evaluation(const config::Config& config, WorkerPool& workers, PromptEncoder& prompts,
                       MetricsLog& metrics, env::Env* env)
    : config_(config), workers_(workers), prompts_(prompts), metrics_(metrics), env_(env) {}

double Evaluation::Run(const std::vector<proto::Prompt>& set_prompts, EvalSet set,
                       const std::string& when, proto::PolicyVersion version) {
  if (set_prompts.empty()) return -1;
  const Clock::time_point t0 = Now(env_);
  std::vector<proto::GenerationTask> tasks;
  std::map<uint64_t, const proto::Prompt*> prompts;
  for (const auto& prompt : set_prompts) {
    proto::GenerationTask task = GreedyTask(config_.rollout, next_id_++, prompt);
    prompts[task.trajectory_id] = &prompt;
    tasks.push_back(std::move(task));
  }
  prompts_.Fill(tasks);
  std::vector<proto::ScoreItem> items;
  for (const auto& s : workers_.Generate(std::move(tasks), version))
    items.push_back({s.trajectory_id, prompts_.ForReward(*prompts.at(s.trajectory_id)), s.text});
  double correct = 0, reward = 0;
  for (const auto& [id, score] : workers_.Score(items)) {
    correct += score.correct;
    reward += score.reward;
  }
  const double n = static_cast<double>(set_prompts.size());
  const double accuracy = correct / n;
  if (set == EvalSet::kHeldout) {
    metrics_.Eval(when, version, accuracy, set_prompts.size());
    LogInfo("eval ", when, ": held-out accuracy ", accuracy, " (", set_prompts.size(),
            " problems, ", SecondsSince(env_, t0), " s)");
  } else {
    metrics_.EvalDataFile(when, version, accuracy, reward / n, set_prompts.size());
    LogInfo("eval ", when, ": eval.data_file accuracy ", accuracy, ", mean reward ", reward / n,
            " (", set_prompts.size(), " prompts, ", SecondsSince(env_, t0), " s)");
  }
  return accuracy;
}

}  // namespace crescent::master
