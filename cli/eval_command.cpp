// `crescent eval`: a policy's accuracy on a JSONL set, scored with the
// config's rewards, in one process: greedy as a run's evaluations are
// (master::GreedyTask, master::PromptEncoder, rollout::GenerateSamples,
// reward::ComposedReward), and with --samples N also pass@k and mean@N.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "cli/policy_tasks.hpp"
#include "common/config/config.hpp"
#include "common/run/run_dir.hpp"
#include "common/task/prompt_source.hpp"
#include "common/util/log.hpp"
#include "master/evaluation.hpp"
#include "reward/composed_reward.hpp"
#include "rollout/generation.hpp"

namespace crescent::cli {
namespace {

constexpr const char* kUsage =
    "usage: crescent eval [CONFIG] --data FILE [--model DIR] [--samples N] [--set key=value]...";

// The ks pass@k is reported for: 1, 2, 4, ... below n, and n.
std::vector<int64_t> PassKs(int64_t n) {
  std::vector<int64_t> ks;
  for (int64_t k = 1; k < n; k *= 2) ks.push_back(k);
  ks.push_back(n);
  return ks;
}

struct Scored {
  double correct = 0, reward = 0;
  size_t failures = 0;      // samples whose reward function reported an error
  std::string first_error;  // the first of those errors
};

// Generates `tasks` (prompt_tokens set) and scores each response against its
// prompt (prompts[task id / per_prompt]); returns one result per task.
std::vector<reward::Composed> GenerateAndScore(const config::Config& c, model::Policy& policy,
                                               master::PromptEncoder& encoder,
                                               const reward::ComposedReward& composed,
                                               const std::vector<proto::Prompt>& prompts,
                                               const std::vector<proto::GenerationTask>& tasks,
                                               int64_t per_prompt, Scored& totals) {
  const std::vector<proto::Sample> generated =
      rollout::GenerateSamples(policy, tasks, c.rollout.batch_slots, 0, c.rollout.kv_cache_mb);
  // Scored as a reward service scores (reward.sandboxes `code` runs at once).
  std::vector<proto::Prompt> reward_prompts;
  reward_prompts.reserve(generated.size());
  std::vector<reward::ComposedReward::Sample> pairs;
  for (const proto::Sample& s : generated) {
    reward_prompts.push_back(encoder.ForReward(prompts[s.trajectory_id / per_prompt]));
    pairs.push_back({&reward_prompts.back(), &s.text});
  }
  std::vector<reward::Composed> outcomes = composed.ScoreBatch(pairs, c.reward.sandboxes);
  for (const reward::Composed& o : outcomes) {
    totals.correct += o.correct;
    totals.reward += o.reward;
    if (!o.error.empty() && totals.failures++ == 0) totals.first_error = o.error;
  }
  return outcomes;
}

void ReportFailures(const Scored& s, const std::string& what, std::ostream& out) {
  if (s.failures == 0) return;
  out << what << ": " << s.failures
      << " samples' reward functions reported an error; the first: " << s.first_error << "\n";
}

}  // namespace

int EvalCommand(const std::vector<std::string>& args, std::ostream& out) {
  const Flags flags(args, {"data", "model", "samples"}, kUsage);
  if (flags.positional().size() > 1 || !flags.Has("data")) throw std::runtime_error(kUsage);
  const config::Config c = CommandConfig(flags);
  const std::string data = flags.String("data");
  const int64_t samples = flags.Int("samples", 1);
  if (samples < 1) throw std::runtime_error(StrCat("--samples: expected >= 1; ", kUsage));

  // Inputs before weights: the data file (file:line errors), the rewards.
  const std::vector<proto::Prompt> prompts = task::MakeJsonlSource(data)->Training();
  const reward::ComposedReward composed(c);
  // The policy the run stands at, unless --model names one.
  const std::string dir = flags.Has("model") ? flags.String("model") : run::StartingPolicy(c).dir;
  model::SetComputeThreads(static_cast<int>(c.threads.rollout));
  model::Policy policy = LoadPolicyFrom(dir);
  master::PromptEncoder encoder(c.task, policy.tokenizer);
  const double n = static_cast<double>(prompts.size());

  std::vector<proto::GenerationTask> greedy;
  for (size_t i = 0; i < prompts.size(); ++i)
    greedy.push_back(master::GreedyTask(c.rollout, i, prompts[i]));
  Scored g;
  GenerateAndScore(c, policy, encoder, composed, prompts, EncodeTasks(encoder, greedy, data), 1, g);
  nlohmann::json summary = {{"policy", dir},
                            {"data", data},
                            {"prompts", prompts.size()},
                            {"max_response_tokens", c.rollout.max_response_tokens},
                            {"greedy_accuracy", g.correct / n},
                            {"greedy_mean_reward", g.reward / n},
                            {"samples", samples}};
  out << "crescent eval: policy " << dir << " on " << data << " (" << prompts.size()
      << " prompts, reward.functions summed, responses up to " << c.rollout.max_response_tokens
      << " tokens)\n";
  out << "greedy: accuracy " << g.correct / n << " (" << g.correct << " of " << prompts.size()
      << "), mean reward " << g.reward / n << "\n";
  ReportFailures(g, "greedy", out);

  if (samples > 1) {
    std::vector<proto::GenerationTask> sampled;
    for (size_t i = 0; i < prompts.size(); ++i) {
      for (int64_t j = 0; j < samples; ++j) {
        const uint64_t id = i * samples + j;
        const uint64_t seed = static_cast<uint64_t>(c.run.seed) * 1000003u + id;
        sampled.push_back(master::SampledTask(c.rollout, id, prompts[i], seed));
      }
    }
    Scored s;
    const std::vector<reward::Composed> outcomes = GenerateAndScore(
        c, policy, encoder, composed, prompts, EncodeTasks(encoder, sampled, data), samples, s);
    std::vector<int64_t> correct(prompts.size(), 0);
    for (size_t t = 0; t < outcomes.size(); ++t) correct[t / samples] += outcomes[t].correct;
    const std::string at = StrCat("@", samples);
    summary["mean" + at] = s.correct / (n * samples);
    summary["mean_reward" + at] = s.reward / (n * samples);
    out << "sampled (" << samples << " per prompt, temperature " << c.rollout.temperature
        << ", top_k " << c.rollout.top_k << ", top_p " << c.rollout.top_p << "): mean" << at << " "
        << s.correct / (n * samples) << ", mean reward" << at << " " << s.reward / (n * samples);
    for (int64_t k : PassKs(samples)) {
      double pass = 0;
      for (int64_t ci : correct) pass += master::PassAtK(samples, ci, k);
      summary[StrCat("pass@", k)] = pass / n;
      out << ", pass@" << k << " " << pass / n;
    }
    out << "\n";
    ReportFailures(s, "sampled", out);
  }
  out << summary.dump() << "\n";
  return 0;
}

}  // namespace crescent::cli
