// What the launch tests with a real tokenizer share: running a crescent
// command to its end, `crescent model init` of a small random model, and
// the config of a tiny run.
// Include after Catch2.
#pragma once

#include <string>
#include <vector>

#include "tests/common/process.hpp"

namespace crescent::testing {

// Runs `argv` to its end (8 minutes at most); returns its output, which must
// say it succeeded.
inline std::string Succeed(const std::vector<std::string>& argv, const std::string& log) {
  Process p(argv, log);
  const int code = p.Wait(std::chrono::minutes(8));
  INFO(p.Output());
  REQUIRE(code == 0);
  return p.Output();
}

// `crescent model init` into `out`: 2 layers of hidden 32 (MLP 64, 4 heads)
// around the tokenizer tests/fixtures/tokenizer/TOKENIZER; `flags` add to
// or override those (--kv-heads, --max-positions, --arch, ...).
inline void InitTinyModel(const std::string& tokenizer, const std::string& out,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {
      CRESCENT_BINARY,
      "model",
      "init",
      "--tokenizer",
      std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tokenizer/" + tokenizer,
      "--out",
      out,
      "--hidden",
      "32",
      "--intermediate",
      "64",
      "--layers",
      "2",
      "--heads",
      "4"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  Succeed(argv, out + "-init.log");
}

// A tiny run in `root`: writes ROOT/run.yaml (one rank of each role, chat
// prompts from ROOT/train.jsonl, a short SFT on ROOT/sft.jsonl, 3
// iterations of 2 groups of 4 samples) and returns the argv of `crescent
// VERB` on it with `model` and `run_dir`, then `sets` (key=value each).
inline std::vector<std::string> TinyRunCommand(const std::string& verb, const std::string& root,
                                               const std::string& model, const std::string& run_dir,
                                               const std::vector<std::string>& sets) {
  WriteFile(root + "/run.yaml", R"(run:
  iterations: 3
cluster:
  trainers: 1
  rollout_workers: 1
  reward_services: 1
  heartbeat_interval_s: 0.5
  heartbeat_timeout_s: 30
task:
  name: jsonl
  enable_thinking: false
sft:
  steps: 60
  lr: 1.0e-2
  warmup_steps: 5
  token_budget: 512
  heldout_fraction: 0.1
rollout:
  samples_per_prompt: 4
  max_response_tokens: 24
  batch_slots: 16
trainer:
  groups_per_step: 2
eval:
  every: 0
)");
  std::vector<std::string> argv = {CRESCENT_BINARY, verb, root + "/run.yaml"};
  for (const std::string& s :
       {"run.dir=" + run_dir, "model.path=" + model, "task.prompts_file=" + root + "/train.jsonl",
        "sft.data_file=" + root + "/sft.jsonl"}) {
    argv.insert(argv.end(), {"--set", s});
  }
  for (const std::string& s : sets) argv.insert(argv.end(), {"--set", s});
  return argv;
}

}  // namespace crescent::testing
