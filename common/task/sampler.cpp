#include "common/task/sampler.hpp"

#include <algorithm>
#include <random>
#include <sstream>
#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::task {
namespace {

// "<kind> <rng> <extra values...>"; LoadState checks the kind and that every
// value parsed.
template <class... T>
std::string SaveFields(const char* kind, const std::mt19937_64& rng, const T&... extra) {
  std::ostringstream out;
  out.precision(17);
  out << kind << ' ' << rng;
  ((out << ' ' << extra), ...);
  return out.str();
}

template <class... T>
void LoadFields(const std::string& state, const char* kind, std::mt19937_64* rng, T*... extra) {
  std::istringstream in(state);
  std::string k;
  in >> k >> *rng;
  ((in >> *extra), ...);
  if (k != kind || in.fail())
    throw std::invalid_argument(StrCat("not a saved state of the ", kind, " sampler"));
}

class UniformSampler : public Sampler {
 public:
  UniformSampler(size_t n, uint64_t seed) : rng_(seed), pick_(0, n - 1) {}
  size_t Next() override { return pick_(rng_); }
  std::string SaveState() const override { return SaveFields("uniform", rng_); }
  void LoadState(const std::string& state) override { LoadFields(state, "uniform", &rng_); }

 private:
  std::mt19937_64 rng_;
  std::uniform_int_distribution<size_t> pick_;
};

// The whole pool for `warmup` draws, then the hard prompts only.
class CurriculumSampler : public Sampler {
 public:
  CurriculumSampler(const std::vector<Prompt>& pool, const SamplerOptions& o)
      : rng_(o.seed), all_(0, pool.size() - 1), warmup_(o.curriculum_warmup) {
    std::vector<double> difficulty;
    for (const Prompt& p : pool) {
      auto it = p.metadata.find("difficulty");
      try {
        if (it == p.metadata.end()) throw std::invalid_argument("missing");
        difficulty.push_back(std::stod(it->second));
      } catch (const std::exception&) {
        throw std::invalid_argument(
            StrCat("curriculum sampler: prompt \"", p.id, "\" has no numeric \"difficulty\""));
      }
    }
    const double hard = o.hard_difficulty >= 0
                            ? o.hard_difficulty
                            : *std::max_element(difficulty.begin(), difficulty.end());
    for (size_t i = 0; i < pool.size(); ++i) {
      if (difficulty[i] >= hard) hard_.push_back(i);
    }
    if (hard_.empty()) {
      throw std::invalid_argument(StrCat("curriculum sampler: no prompt has difficulty >= ", hard));
    }
  }
  size_t Next() override {
    if (drawn_++ < warmup_) return all_(rng_);
    return hard_[std::uniform_int_distribution<size_t>(0, hard_.size() - 1)(rng_)];
  }
  std::string SaveState() const override { return SaveFields("curriculum", rng_, drawn_); }
  void LoadState(const std::string& state) override {
    LoadFields(state, "curriculum", &rng_, &drawn_);
  }

 private:
  std::mt19937_64 rng_;
  std::uniform_int_distribution<size_t> all_;
  int64_t warmup_;
  int64_t drawn_ = 0;
  std::vector<size_t> hard_;
};

// P(i) proportional to max(min_weight, 1 - s_i), s_i a running success rate.
class PrioritisedSampler : public Sampler {
 public:
  PrioritisedSampler(size_t n, const SamplerOptions& o)
      : rng_(o.seed), options_(o), success_(n, o.initial_success), tree_(2 * Leaves(n), 0.0) {
    for (size_t i = 0; i < n; ++i) SetWeight(i);
  }
  size_t Next() override {
    double u = std::uniform_real_distribution<double>(0, tree_[1])(rng_);
    size_t node = 1;
    while (node < tree_.size() / 2) {
      if (u < tree_[2 * node] || tree_[2 * node + 1] <= 0) {
        node = 2 * node;
      } else {
        u -= tree_[2 * node];
        node = 2 * node + 1;
      }
    }
    return std::min(node - tree_.size() / 2, success_.size() - 1);
  }
  void Report(size_t index, double success_rate) override {
    if (index >= success_.size()) return;
    success_rate = std::clamp(success_rate, 0.0, 1.0);
    success_[index] += options_.success_rate_step * (success_rate - success_[index]);
    SetWeight(index);
  }
  std::string SaveState() const override {
    std::ostringstream rates;
    rates.precision(17);
    for (double s : success_) rates << s << ' ';
    return SaveFields("prioritised", rng_, success_.size(), rates.str());
  }
  void LoadState(const std::string& state) override {
    std::istringstream in(state);
    std::string kind;
    size_t n = 0;
    in >> kind >> rng_ >> n;
    std::vector<double> rates(n);
    for (double& r : rates) in >> r;
    if (kind != "prioritised" || in.fail() || n != success_.size())
      throw std::invalid_argument("not a saved state of the prioritised sampler of this pool");
    success_ = std::move(rates);
    for (size_t i = 0; i < success_.size(); ++i) SetWeight(i);
  }

 private:
  static size_t Leaves(size_t n) {
    size_t l = 1;
    while (l < n) l *= 2;
    return l;
  }
  // A sum tree: leaves hold weights, each inner node the sum of its children.
  void SetWeight(size_t i) {
    size_t node = tree_.size() / 2 + i;
    tree_[node] = std::max(options_.min_weight, 1 - success_[i]);
    for (node /= 2; node >= 1; node /= 2) tree_[node] = tree_[2 * node] + tree_[2 * node + 1];
  }
  std::mt19937_64 rng_;
  SamplerOptions options_;
  std::vector<double> success_;
  std::vector<double> tree_;
};

}  // namespace

std::unique_ptr<Sampler> MakeSampler(const std::vector<Prompt>& pool, const SamplerOptions& o) {
  if (pool.empty()) throw std::invalid_argument("sampler: empty prompt pool");
  switch (o.kind) {
    case SamplerKind::kUniform:
      return std::make_unique<UniformSampler>(pool.size(), o.seed);
    case SamplerKind::kCurriculum:
      return std::make_unique<CurriculumSampler>(pool, o);
    case SamplerKind::kPrioritised:
      if (o.min_weight <= 0) throw std::invalid_argument("sampler: min_weight must be > 0");
      return std::make_unique<PrioritisedSampler>(pool.size(), o);
  }
  throw std::invalid_argument(StrCat("unknown sampler kind ", static_cast<int>(o.kind),
                                     " (uniform, curriculum or prioritised)"));
}

}  // namespace crescent::task
