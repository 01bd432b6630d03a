// The benchmarks of `crescent bench`: each prints one JSON object of ratios
// against a reference measured in the same run (docs/perf.md).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace crescent::bench {

// `crescent bench model`: decode and training throughput of a ~30M-parameter
// Llama at batch 32 on this process's threads, with MFU against a large square
// matmul and efficiency against the model's own linear layers (its weights,
// in its order, at the same shapes) timed alone.
// Options: --hidden N --layers N --vocab N --batch N --seq N --new N (defaults
// 512, 8, 8000, 32, 128, 32), --threads N (default 1), --train 0 / --decode 0
// to leave a part out, --rounds N (default 3: the model and its references
// are timed in turn, once each per round, and every figure is the median
// over rounds of that round's ratio). --shape qwen3-0.6b: Qwen3-0.6B's
// architecture instead (28 layers, hidden 1024, 16 query and 8 key/value
// heads of 128, MLP 3072, q/k norms, 151,936-row tied embedding; 596M
// parameters), random weights, batch 4 and 16 new tokens by default (the
// other options still apply). Prints one JSON object. Returns 0, or 2 for
// bad arguments.
int ModelBenchCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent bench journal [--records N] [--bytes B] [--fsync every|never|ms]
// [--dir D]`: appends/s and MB/s against raw writes, recovery against a scan.
int JournalBenchCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent bench partial`: training tokens per second with partial rollouts
// against waiting for every rollout to finish, with the real model on a
// prompt set whose answers have a long tail (seven in eight short, one in
// eight eight times longer), the same prompts, batch and maximum length, in
// one run.
// Options: --groups B --k K --max TOKENS --budget TOKENS --slots N
// --groups-trained N --sft-steps N --rounds N --seed S. Prints one JSON object; returns
// 0, or 2 for bad arguments.
int PartialBenchCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent bench memory`: the memory of one training step at a large
// vocabulary. Each step runs in a fresh (forked) process: the model (Qwen3's
// shape: --vocab 151936 rows, --hidden 64, --layers 2) and Adam are loaded
// and one small step taken, so the gradients and Adam's moments exist; then
// the step's peak resident memory above that point is measured for one
// group of --responses 8 samples of --length 1024 tokens under the kimi
// loss: unsplit (trainer.micro_batch_tokens 0), micro-batched (the
// --micro-batch-tokens 2048 budget), and, with --whole-logits 1, the step
// as it was before the vocabulary-block log-probs (the whole logits tensor
// and its log-softmax). --threads N (default 1). Prints one JSON object
// with each step's extra memory and time and their ratios; returns 0, 1
// when a step's process failed, or 2 for bad arguments.
int MemoryBenchCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent bench reward`: math verifications per second (MathEquivalent
// over tests/reward/math_pairs.jsonl's pairs, both ways round, a boxed side's
// box extracted first, as tests/reward/math_verify_test.cpp checks them;
// --math-passes 5 passes a round), and plug-in round trips per second, --calls 1000 a
// round, of a trivial command plug-in (--python python3 running a script
// that echoes the id with reward 1) against the trivial C plug-in (--plugin,
// default the example library reward/examples/length_format_reward.c as
// built), with their ratio. --rounds 3: every figure is the median over
// rounds. Prints one JSON object; returns 0, 1 when a plug-in cannot be used
// or a call fails, or 2 for bad arguments.
int RewardBenchCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent bench sandbox`: what the code sandbox (reward/sandbox.hpp)
// costs. Sandboxed executions per second of a trivial Python program
// (--executions 60 a round, shared by --workers 2 threads), and the start-up
// of a full sandbox run against a plain fork, exec and wait of the same
// binary, and against posix_spawn (--runs 30 of each a round), for /bin/true
// and `python3 -c pass`.
// --rounds 3: every figure is the median over rounds. Prints one JSON
// object; returns 0, 1 when the sandbox cannot be made or a run fails, or 2
// for bad arguments.
int SandboxBenchCommand(const std::vector<std::string>& args, std::ostream& out);

}  // namespace crescent::bench
