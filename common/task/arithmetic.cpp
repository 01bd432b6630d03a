#include "common/task/arithmetic.hpp"

#include <set>
#include <stdexcept>

namespace crescent::task {
namespace {

// FNV-1a: stable across platforms and runs (std::hash is not).
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

int Uniform(std::mt19937_64& rng, int low, int high) {
  return std::uniform_int_distribution<int>(low, high)(rng);
}

}  // namespace

const std::string& ArithmeticAlphabet() {
  static const std::string alphabet = "0123456789+-*=";
  return alphabet;
}

const std::string& ArithmeticTask::Alphabet() { return ArithmeticAlphabet(); }

bool ArithmeticTask::IsHeldout(const std::string& prompt) { return Fnv1a(prompt) % 8 == 0; }

int ArithmeticTask::Level(const std::string& prompt) {
  if (prompt.find('*') != std::string::npos) return 5;
  if (prompt.find('-') != std::string::npos) return 4;
  const size_t digits = prompt.size() - 2;  // without '+' and '='
  return digits <= 2 ? 1 : digits == 3 ? 2 : 3;
}

ArithmeticTask::ArithmeticTask(uint64_t seed, int min_level, int max_level, size_t heldout_size)
    : min_level_(min_level), max_level_(max_level) {
  if (min_level < 1 || max_level > kMaxLevel || min_level > max_level) {
    throw std::invalid_argument("arithmetic task: levels must satisfy 1 <= min <= max <= 5");
  }
  std::mt19937_64 rng(seed ^ 0x5eedf00dull);
  std::set<std::string> seen;
  // Level 1 has only 100 problems, about 12 of them held out: draw held-out
  // problems from every level in turn, skipping exhausted ones.
  for (size_t tries = 0; heldout_.size() < heldout_size && tries < 200000; ++tries) {
    int level = min_level + static_cast<int>(tries % (max_level - min_level + 1));
    Problem p = Make(rng, level);
    if (IsHeldout(p.prompt) && seen.insert(p.prompt).second) heldout_.push_back(p);
  }
  if (heldout_.size() < heldout_size) {
    throw std::invalid_argument(
        "arithmetic task: these levels have too few problems for the "
        "held-out size");
  }
}

Problem ArithmeticTask::Make(std::mt19937_64& rng, int level) const {
  int a = 0, b = 0;
  Problem p;
  p.level = level;
  switch (level) {
    case 1:
      a = Uniform(rng, 0, 9), b = Uniform(rng, 0, 9);
      p.prompt = std::to_string(a) + "+" + std::to_string(b) + "=";
      p.answer = std::to_string(a + b);
      break;
    case 2:
      a = Uniform(rng, 10, 99), b = Uniform(rng, 0, 9);
      p.prompt = std::to_string(a) + "+" + std::to_string(b) + "=";
      p.answer = std::to_string(a + b);
      break;
    case 3:
      a = Uniform(rng, 10, 99), b = Uniform(rng, 10, 99);
      p.prompt = std::to_string(a) + "+" + std::to_string(b) + "=";
      p.answer = std::to_string(a + b);
      break;
    case 4:
      a = Uniform(rng, 0, 99), b = Uniform(rng, 0, a);
      p.prompt = std::to_string(a) + "-" + std::to_string(b) + "=";
      p.answer = std::to_string(a - b);
      break;
    default:
      a = Uniform(rng, 2, 9), b = Uniform(rng, 10, 99);
      p.prompt = std::to_string(a) + "*" + std::to_string(b) + "=";
      p.answer = std::to_string(a * b);
      break;
  }
  return p;
}

Problem ArithmeticTask::DrawLevel(std::mt19937_64& rng, int level) const {
  while (true) {
    Problem p = Make(rng, level);
    if (!IsHeldout(p.prompt)) return p;
  }
}

Problem ArithmeticTask::Draw(std::mt19937_64& rng) const {
  return DrawLevel(rng, Uniform(rng, min_level_, max_level_));
}

std::vector<Problem> ArithmeticTask::TrainingSet(uint64_t seed, size_t count) const {
  std::mt19937_64 rng(seed ^ 0x7a11ab1eull);
  std::set<std::string> seen;
  std::vector<Problem> out;
  const int levels = max_level_ - min_level_ + 1;
  // Give up on a level after many repeats in a row (level 1 has ~88 problems).
  std::vector<int> misses(levels, 0);
  for (size_t i = 0; out.size() < count; ++i) {
    const int slot = static_cast<int>(i % levels);
    bool all_exhausted = true;
    for (int m : misses) all_exhausted = all_exhausted && m > 2000;
    if (all_exhausted) break;
    if (misses[slot] > 2000) continue;
    Problem p = DrawLevel(rng, min_level_ + slot);
    if (seen.insert(p.prompt).second) {
      misses[slot] = 0;
      out.push_back(std::move(p));
    } else {
      ++misses[slot];
    }
  }
  return out;
}

std::string SftTarget(const std::string& prompt) {
  const size_t op = prompt.find_first_of("+-*", 1);
  auto is_number = [](const std::string& s) {
    return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (op == std::string::npos || prompt.empty() || prompt.back() != '=') {
    throw std::invalid_argument("not an arithmetic problem: \"" + prompt + "\"");
  }
  const std::string a = prompt.substr(0, op), b = prompt.substr(op + 1, prompt.size() - op - 2);
  if (!is_number(a) || !is_number(b)) {
    throw std::invalid_argument("not an arithmetic problem: \"" + prompt + "\"");
  }
  const long long x = std::stoll(a), y = std::stoll(b);
  switch (prompt[op]) {
    case '+':
      return std::to_string(x + y);
    case '-':
      return std::to_string(x - y);
    default:
      return std::to_string(x * y);
  }
}

Prompt AsPrompt(const Problem& problem) {
  return {problem.prompt,
          problem.prompt,
          {{"answer", problem.answer},
           {"difficulty", std::to_string(problem.level)},
           {"domain", "math"}}};
}

std::string CarryForgotten(const std::string& prompt) {
  const std::string right = SftTarget(prompt);
  const size_t plus = prompt.find('+');
  if (plus == std::string::npos) return right;
  const int units = (prompt[plus - 1] - '0') + (prompt[prompt.size() - 2] - '0');
  return units >= 10 ? std::to_string(std::stoll(right) - 10) : right;
}

}  // namespace crescent::task
