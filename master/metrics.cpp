#include "master/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/util/log.hpp"

namespace crescent::master {

MetricsLog::MetricsLog(env::Env* env, const std::string& path)
    : out_(env->NewAppendableFile(path)) {}

void MetricsLog::Iteration(const IterationMetrics& m) {
  const double n = std::max<double>(1, m.samples);
  const double tokens_per_s = m.generate_s > 0 ? m.generated_tokens / m.generate_s : 0.0;
  nlohmann::json rollouts = {{"restarted", m.restarted},
                             {"new_groups", m.new_groups},
                             {"continued", m.continued},
                             {"finish", m.finish},
                             {"generated_tokens", m.generated_tokens},
                             {"dropped_equal_reward", m.dropped_equal_reward},
                             {"unfinished", m.unfinished},
                             {"groups_trained", m.groups_trained},
                             {"groups_waiting", m.groups_waiting}};
  nlohmann::json line = {{"iteration", m.iteration},
                         {"policy_version", m.policy_version},
                         {"generated_with_policy_versions", m.generated_with},
                         {"samples_scored", m.samples_scored},
                         {"reward_errors", m.reward_errors},
                         {"samples_trained", m.samples_trained},
                         {"mean_reward", m.reward_sum / n},
                         {"mean_length_reward", m.length_reward_sum / n},
                         {"accuracy", m.correct / n},
                         {"mean_response_length", m.tokens / n},
                         {"tokens_per_s", tokens_per_s},
                         {"rollouts", rollouts},
                         {"seconds",
                          {{"generate", m.generate_s},
                           {"score", m.score_s},
                           {"train", m.train_s},
                           {"sync", m.sync_s}}}};
  for (const auto& [k, v] : m.train) line["train"][k] = v;
  out_->Append(line.dump() + "\n");
  char text[320];
  std::snprintf(text, sizeof text,
                "iter %lld | reward %.3f | acc %.3f | len %.1f | %.0f tok/s | %zu unfinished | "
                "gen %.2fs score %.2fs train %.2fs sync %.2fs",
                static_cast<long long>(m.iteration), m.reward_sum / n, m.correct / n, m.tokens / n,
                tokens_per_s, m.unfinished, m.generate_s, m.score_s, m.train_s, m.sync_s);
  LogInfo(text);
}

void MetricsLog::Eval(const std::string& when, proto::PolicyVersion version, double accuracy,
                      size_t problems) {
  const nlohmann::json line = {{"eval", when},
                               {"policy_version", version},
                               {"heldout_accuracy", accuracy},
                               {"problems", problems}};
  out_->Append(line.dump() + "\n");
}

void MetricsLog::EvalDataFile(const std::string& when, proto::PolicyVersion version,
                              double accuracy, double mean_reward, size_t problems) {
  const nlohmann::json line = {{"eval", when},
                               {"policy_version", version},
                               {"data_file_accuracy", accuracy},
                               {"data_file_mean_reward", mean_reward},
                               {"problems", problems}};
  out_->Append(line.dump() + "\n");
}

}  // namespace crescent::master
