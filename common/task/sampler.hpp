// Prompt samplers (docs/training.md, "Sampling"): they pick indices into a source's
// training pool, deterministically from a seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config/task_options.hpp"
#include "common/task/prompt.hpp"

namespace crescent::task {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The index of the next prompt in the pool.
  virtual size_t Next() = 0;
  // The rewards' verdict on prompt `index`: the fraction of its samples that
  // were correct (0..1). Only the prioritised sampler uses it.
  virtual void Report(size_t index, double success_rate) {}
  // Everything Next() and Report() depend on, as text: a resumed run's
  // sampler continues exactly where the saved one was.
  virtual std::string SaveState() const = 0;
  // Throws std::invalid_argument when the text is not a state of this sampler.
  virtual void LoadState(const std::string& state) = 0;
};

// SamplerOptions: common/config/task_options.hpp (the config's task section
// embeds them).

// Over `pool` (kept by reference: it must outlive the sampler). Throws
// std::invalid_argument for an empty pool, or a curriculum whose prompts lack
// a numeric "difficulty".
std::unique_ptr<Sampler> MakeSampler(const std::vector<Prompt>& pool,
                                     const SamplerOptions& options);

}  // namespace crescent::task
