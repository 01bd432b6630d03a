// `crescent generate`: a policy's responses to a JSONL file of prompts, the
// prompts rendered and encoded as a run does (master::PromptEncoder) and
// generated as a rollout worker does (rollout::GenerateSamples).
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "cli/policy_tasks.hpp"
#include "common/task/prompt_source.hpp"
#include "common/util/log.hpp"
#include "master/evaluation.hpp"
#include "master/prompt_encoder.hpp"
#include "rollout/generation.hpp"

namespace crescent::cli {
namespace {

constexpr const char* kUsage =
    "usage: crescent generate --model DIR --input FILE [--output FILE] [--max-tokens N] "
    "[--temperature T] [--top-k K] [--top-p P] [--samples N] [--seed S] "
    "[--chat-template true|false] [--enable-thinking true|false] [--batch-slots N]";

}  // namespace

model::Policy LoadPolicyFrom(const std::string& dir) {
  try {
    model::Policy policy = model::LoadPolicy(dir);
    policy.model->eval();
    return policy;
  } catch (const std::exception& e) {
    throw std::runtime_error(StrCat("policy directory ", dir, ": ", e.what()));
  }
}

std::vector<proto::GenerationTask> EncodeTasks(master::PromptEncoder& encoder,
                                               std::vector<proto::GenerationTask> tasks,
                                               const std::string& file) {
  for (auto& task : tasks) {
    try {
      task.prompt_tokens = encoder.Encode(task.prompt).ids;
    } catch (const std::exception& e) {
      throw std::runtime_error(StrCat(file, ": ", e.what()));
    }
  }
  return tasks;
}

int GenerateCommand(const std::vector<std::string>& args, std::ostream& out) {
  const Flags flags(args,
                    {"model", "input", "output", "max-tokens", "temperature", "top-k", "top-p",
                     "samples", "seed", "chat-template", "enable-thinking", "batch-slots"},
                    kUsage);
  if (!flags.positional().empty() || !flags.overrides().empty() || !flags.Has("model") ||
      !flags.Has("input"))
    throw std::runtime_error(kUsage);
  const std::string input = flags.String("input");
  config::RolloutSection rollout;
  rollout.max_response_tokens = flags.Int("max-tokens", 256);
  rollout.temperature = flags.Number("temperature", 0.0);
  rollout.top_k = flags.Int("top-k", 0);
  rollout.top_p = flags.Number("top-p", 1.0);
  const int64_t samples = flags.Int("samples", 1);
  const int64_t seed = flags.Int("seed", 1);
  const int64_t slots = flags.Int("batch-slots", 64);
  if (rollout.max_response_tokens < 1) throw std::runtime_error("--max-tokens: expected >= 1");
  if (rollout.temperature < 0) throw std::runtime_error("--temperature: expected >= 0");
  if (samples < 1) throw std::runtime_error("--samples: expected >= 1");
  if (slots < 1) throw std::runtime_error("--batch-slots: expected >= 1");
  config::TaskSection task;
  task.chat_template = flags.Bool("chat-template", true);
  task.enable_thinking = flags.Bool("enable-thinking", true);

  // The input first: its errors (file:line) come before loading weights.
  const std::vector<proto::Prompt> prompts = task::MakeJsonlSource(input)->Training();
  model::Policy policy = LoadPolicyFrom(flags.String("model"));
  master::PromptEncoder encoder(task, policy.tokenizer);
  std::vector<proto::GenerationTask> tasks;
  for (size_t i = 0; i < prompts.size(); ++i) {
    for (int64_t j = 0; j < samples; ++j) {
      const uint64_t id = i * samples + j;
      tasks.push_back(master::SampledTask(rollout, id, prompts[i],
                                          static_cast<uint64_t>(seed) * 1000003u + id));
    }
  }
  tasks = EncodeTasks(encoder, std::move(tasks), input);
  const std::vector<proto::Sample> results = rollout::GenerateSamples(policy, tasks, slots, 0);

  std::ofstream file;
  if (flags.Has("output")) {
    file.open(flags.String("output"));
    if (!file) throw std::runtime_error(StrCat("--output: cannot write ", flags.String("output")));
  }
  std::ostream& to = flags.Has("output") ? file : out;
  for (size_t t = 0; t < results.size(); ++t) {
    const proto::Prompt& prompt = prompts[t / samples];
    const proto::Sample& s = results[t];
    nlohmann::json line = {{"id", prompt.id},
                           {"sample", t % samples},
                           {"prompt", encoder.Encode(prompt).text},
                           {"response", s.text},
                           {"prompt_tokens", s.prompt_tokens.size()},
                           {"response_tokens", s.tokens.size()},
                           {"finish_reason", proto::FinishReasonName(s.finish_reason)},
                           {"metadata", prompt.metadata}};
    to << line.dump() << "\n";
  }
  to.flush();
  if (!to) throw std::runtime_error("cannot write the output");
  if (flags.Has("output")) {
    std::cerr << "crescent generate: " << results.size() << " responses to " << prompts.size()
              << " prompts written to " << flags.String("output") << "\n";
  }
  return 0;
}

}  // namespace crescent::cli
