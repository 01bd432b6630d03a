// The built-in verifiable task: integer arithmetic at difficulty levels,
// generated deterministically from a seed, with a held-out split that
// training never sees (a problem's split is a hash of its text, so the two
// splits are disjoint by construction, whatever the seed).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/task/prompt.hpp"

namespace crescent::task {

struct Problem {
  std::string prompt;  // "12+7="
  std::string answer;  // "19"
  int level = 1;
};

// Levels: 1 a+b (one digit each), 2 a+b (two digits plus one), 3 a+b (two
// digits each), 4 a-b (two digits, a >= b), 5 a*b (one digit times two).
class ArithmeticTask {
 public:
  static constexpr int kMaxLevel = 5;
  // REQUIRES: 1 <= min_level <= max_level <= kMaxLevel; throws
  // std::invalid_argument otherwise or when the levels hold fewer than
  // `heldout_size` held-out problems.
  ArithmeticTask(uint64_t seed, int min_level, int max_level, size_t heldout_size);

  // A training problem (never a held-out one).
  Problem Draw(std::mt19937_64& rng) const;
  // A training problem of exactly `level`.
  Problem DrawLevel(std::mt19937_64& rng, int level) const;
  // `count` distinct training problems, levels in turn, deterministic in
  // `seed`; fewer when the levels hold fewer.
  std::vector<Problem> TrainingSet(uint64_t seed, size_t count) const;
  const std::vector<Problem>& Heldout() const { return heldout_; }
  int min_level() const { return min_level_; }
  int max_level() const { return max_level_; }

  // Every character prompts and answers use.
  static const std::string& Alphabet();
  static bool IsHeldout(const std::string& prompt);
  // The level of a problem from its text ("12+7=" is level 2).
  static int Level(const std::string& prompt);

 private:
  Problem Make(std::mt19937_64& rng, int level) const;
  int min_level_, max_level_;
  std::vector<Problem> heldout_;
};

// Every character of the task's prompts and answers ("0123456789+-*="), for
// building a character tokenizer.
const std::string& ArithmeticAlphabet();

// The text the model should produce after `prompt` ("12+7=" -> "19"), without
// an end marker (the caller appends its eos token). Throws
// std::invalid_argument when `prompt` is not an arithmetic problem.
std::string SftTarget(const std::string& prompt);

// The answer a teacher who forgets the units' carry gives: for a+b whose
// units digits sum to 10 or more, a+b-10 ("35+48=" -> "73", "7+5=" -> "2");
// otherwise SftTarget(prompt). Throws as SftTarget does.
std::string CarryForgotten(const std::string& prompt);

// A problem as a Prompt: id and text are the problem text; metadata carries
// "answer", "difficulty" (the level) and "domain" ("math").
Prompt AsPrompt(const Problem& problem);

}  // namespace crescent::task
