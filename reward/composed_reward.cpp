#include "reward/composed_reward.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/util/log.hpp"
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

Composed ComposedReward::Score(const task::Prompt& prompt, const std::string& response) const {
  const std::vector<Entry>* entries = &defaults_;
  if (auto d = prompt.metadata.find("domain"); d != prompt.metadata.end()) {
    if (auto it = domains_.find(d->second); it != domains_.end()) entries = &it->second;
  }
  Composed sum;
  json details = json::object();
  bool judged = false, correct = true;
  for (const Entry& e : *entries) {
    Outcome o;
    try {
      o = e.function->Score(prompt, response);
    } catch (const std::exception& ex) {
      o.error = StrCat(e.name, ": ", ex.what());
    }
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
