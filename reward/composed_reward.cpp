#include "reward/composed_reward.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/util/log.hpp"
#include "common/util/parallel.hpp"
#include "reward/command_reward.hpp"

namespace crescent::reward {
namespace {

using json = nlohmann::json;

std::unique_ptr<RewardFunction> Make(const config::RewardFunctionSpec& spec,
                                     RewardOptions options) {
  if (!spec.cmd.empty()) return MakeCommandReward(spec.cmd, options);
  options.pattern = spec.pattern;
  return MakeRewardFunction(spec.fn, options);
}

}  // namespace

ComposedReward::ComposedReward(const config::Config& config) {
  const RewardOptions options = RewardOptionsOf(config.reward);
  auto make = [&](const std::vector<config::RewardFunctionSpec>& specs, const std::string& key) {
    std::vector<Entry> entries;
    std::map<std::string, int> seen;
    for (const auto& spec : specs) {
      std::string name = spec.Name();
      if (const int n = ++seen[name]; n > 1) name += StrCat("#", n);
      try {
        entries.push_back({name, spec.weight, spec.fallback.value_or(config.reward.failure_reward),
                           Make(spec, options)});
      } catch (const std::exception& e) {
        throw std::runtime_error(StrCat(key, ": ", e.what(), " (", config.Where(key), ")"));
      }
    }
    return entries;
  };
  defaults_ = make(config.reward.functions, "reward.functions");
  for (const auto& [domain, specs] : config.reward.domains) {
    domains_[domain] = make(specs, "reward.domains");
  }
}

ComposedReward::~ComposedReward() = default;

const std::vector<ComposedReward::Entry>& ComposedReward::EntriesFor(
    const task::Prompt& prompt) const {
  if (auto d = prompt.metadata.find("domain"); d != prompt.metadata.end()) {
    if (auto it = domains_.find(d->second); it != domains_.end()) return it->second;
  }
  return defaults_;
}

Composed ComposedReward::Score(const task::Prompt& prompt, const std::string& response) const {
  return ScoreBatch({{&prompt, &response}}, 1)[0];
}

std::vector<Composed> ComposedReward::ScoreBatch(const std::vector<Sample>& samples,
                                                 int64_t threads) const {
  // Every function's outcome on every sample that uses it: a concurrent
  // function's samples on up to `threads` threads, the others' in turn.
  std::vector<std::vector<Outcome>> outcomes(samples.size());
  std::map<const Entry*, std::vector<std::pair<size_t, size_t>>> work;  // entry -> (sample, slot)
  for (size_t i = 0; i < samples.size(); ++i) {
    const std::vector<Entry>& entries = EntriesFor(*samples[i].first);
    outcomes[i].resize(entries.size());
    for (size_t e = 0; e < entries.size(); ++e) work[&entries[e]].push_back({i, e});
  }
  for (const auto& [entry, items] : work) {
    auto score = [&, entry = entry](size_t k) {
      const auto [i, e] = items[k];
      Outcome& o = outcomes[i][e];
      try {
        o = entry->function->Score(*samples[i].first, *samples[i].second);
      } catch (const std::exception& ex) {
        o = {};
        o.error = StrCat(entry->name, ": ", ex.what());
      }
    };
    ParallelFor(items.size(), entry->function->concurrent() ? threads : 1, score);
  }
  std::vector<Composed> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    out.push_back(Combine(EntriesFor(*samples[i].first), outcomes[i]));
  }
  return out;
}

Composed ComposedReward::Combine(const std::vector<Entry>& entries,
                                 std::vector<Outcome>& outcomes) {
  Composed sum;
  json details = json::object();
  bool judged = false, correct = true;
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    Outcome& o = outcomes[k];
    json d = o.details.empty() ? json::object() : json::parse(o.details, nullptr, false);
    if (!d.is_object()) d = json::object();
    if (!o.error.empty()) {
      o.reward = e.fallback;
      o.correct = false;
      o.judged = true;
      d["error"] = o.error;
      sum.error += (sum.error.empty() ? "" : "; ") + o.error;
      sum.failed.push_back(e.name);
    }
    d["reward"] = o.reward;
    if (o.judged) d["correct"] = o.correct;
    details[e.name] = std::move(d);
    sum.reward += e.weight * o.reward;
    judged = judged || o.judged;
    correct = correct && (!o.judged || o.correct);
  }
  sum.correct = judged ? correct : sum.reward > 0;
  sum.details = details.dump();
  return sum;
}

}  // namespace crescent::reward
