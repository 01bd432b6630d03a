// The prompt task's options (common/task/), here so that the config's task
// section can embed them: the defaults below are the documented defaults of
// the task.* keys.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crescent::task {

// task.name: arithmetic (the built-in task) or jsonl (task.prompts_file).
enum class SourceKind { kArithmetic, kJsonl };

// task.sampler: uniform, curriculum or prioritised.
enum class SamplerKind { kUniform, kCurriculum, kPrioritised };

// The built-in arithmetic task (common/task/prompt_source.hpp).
struct ArithmeticSourceOptions {
  uint64_t seed = 1;          // task.seed (also of prompt sampling)
  int min_level = 1;          // task.min_level
  int max_level = 3;          // task.max_level
  size_t heldout_size = 200;  // task.heldout_size
  // Distinct training problems in the pool, at most (no key).
  size_t training_size = 5000;
};

struct SamplerOptions {
  SamplerKind kind = SamplerKind::kUniform;  // task.sampler
  // Set by the master from task.seed and run.seed (no key of its own).
  uint64_t seed = 0;
  // task.curriculum_warmup: draws from the whole pool before drawing hard
  // prompts only.
  int64_t curriculum_warmup = 200;
  // curriculum: prompts whose metadata "difficulty" (a number) is >= this are
  // hard; when unset (< 0), the highest difficulty in the pool (no key).
  double hard_difficulty = -1;
  // prioritised: s_i starts here and moves by s_i += rate * (observed - s_i)
  // (no keys).
  double initial_success = 0.5;
  double success_rate_step = 0.1;
  // prioritised: weight floor so that solved prompts keep a small chance.
  double min_weight = 1e-3;
};

}  // namespace crescent::task
