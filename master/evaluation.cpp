#include "master/evaluation.hpp"

#include "common/util/log.hpp"
#include "master/scheduling.hpp"

namespace crescent::master {

Evaluation::Evaluation(const config::Config& config, WorkerPool& workers, PromptEncoder& prompts,
                       MetricsLog& metrics, env::Env* env)
    : config_(config), workers_(workers), prompts_(prompts), metrics_(metrics), env_(env) {}

double Evaluation::Run(const std::vector<proto::Prompt>& heldout, const std::string& when,
                       proto::PolicyVersion version) {
  if (heldout.empty()) return -1;
  const Clock::time_point t0 = Now(env_);
  std::vector<proto::GenerationTask> tasks;
  std::map<uint64_t, const proto::Prompt*> prompts;
  for (const auto& prompt : heldout) {
    proto::GenerationTask task = NewTask(config_.rollout, next_id_++, prompt);
    task.budget = 0;
    task.sampling = {};
    task.sampling.temperature = 0;  // greedy
    prompts[task.trajectory_id] = &prompt;
    tasks.push_back(std::move(task));
  }
  prompts_.Fill(tasks);
  std::vector<proto::ScoreItem> items;
  for (const auto& s : workers_.Generate(std::move(tasks), version))
    items.push_back({s.trajectory_id, prompts_.ForReward(*prompts.at(s.trajectory_id)), s.text});
  double correct = 0;
  for (const auto& [id, score] : workers_.Score(items)) correct += score.correct;
  const double accuracy = correct / heldout.size();
  metrics_.Eval(when, version, accuracy, heldout.size());
  LogInfo("eval ", when, ": held-out accuracy ", accuracy, " (", heldout.size(), " problems, ",
          SecondsSince(env_, t0), " s)");
  return accuracy;
}

}  // namespace crescent::master
