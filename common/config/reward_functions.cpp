// The reward section's structured keys: reward.functions (a list of reward
// functions) and reward.domains (a map of domains to such lists), read,
// printed and documented as the other keys are (visitors.hpp).
#include <cmath>
#include <sstream>

#include "common/config/visitors.hpp"

namespace crescent::config {

std::string RewardFunctionSpec::Name() const {
  if (!fn.empty()) return fn;
  std::string name;
  for (const auto& part : cmd) name += (name.empty() ? "" : " ") + part;
  return name;
}

namespace internal {
namespace {

const char* const kKeys = "fn, cmd, weight, fallback, pattern";

// One entry; "" or what is wrong with it.
std::string ParseSpec(const YAML::Node& n, RewardFunctionSpec* spec) {
  *spec = {};
  if (n.IsScalar()) {
    spec->fn = n.Scalar();
    if (spec->fn.empty()) return "expected a function name";
  } else if (!n.IsMap()) {
    return StrCat("expected a name or a map of ", kKeys, ", got ", Describe(n));
  }
  for (const auto& kv : n.IsMap() ? n : YAML::Node()) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    bool ok = true;
    if (key == "fn") {
      ok = ParseScalar(v, &spec->fn) && !spec->fn.empty();
    } else if (key == "cmd") {
      ok = ParseScalar(v, &spec->cmd) && !spec->cmd.empty();
    } else if (key == "weight") {
      ok = ParseScalar(v, &spec->weight) && std::isfinite(spec->weight);
    } else if (key == "fallback") {
      double fallback = 0;
      ok = ParseScalar(v, &fallback) && std::isfinite(fallback);
      spec->fallback = fallback;
    } else if (key == "pattern") {
      ok = ParseScalar(v, &spec->pattern) && !spec->pattern.empty();
    } else {
      return StrCat("unknown key \"", key, "\" (expected ", kKeys, ")");
    }
    if (!ok) {
      const char* expected = key == "cmd"                           ? "a non-empty list"
                             : key == "weight" || key == "fallback" ? "a finite number"
                                                                    : "a non-empty string";
      return StrCat(key, ": expected ", expected, ", got ", Describe(v));
    }
  }
  if (spec->fn.empty() == spec->cmd.empty()) return "expected exactly one of fn and cmd";
  if (!spec->pattern.empty() != (spec->fn == "regex")) {
    return spec->fn == "regex" ? "fn: regex needs a pattern" : "pattern is for fn: regex only";
  }
  return "";
}

std::string Number(double x) {
  std::ostringstream os;
  os.precision(15);
  os << x;
  return os.str();
}

YAML::Node SpecNode(const RewardFunctionSpec& s) {
  YAML::Node n;
  if (!s.fn.empty() && s.weight == 1.0 && !s.fallback && s.pattern.empty()) {
    n = s.fn;
    return n;
  }
  if (!s.fn.empty()) n["fn"] = s.fn;
  for (const auto& part : s.cmd) n["cmd"].push_back(part);
  if (!s.cmd.empty()) n["cmd"].SetStyle(YAML::EmitterStyle::Flow);
  n["weight"] = Number(s.weight);
  if (s.fallback) n["fallback"] = Number(*s.fallback);
  if (!s.pattern.empty()) n["pattern"] = s.pattern;
  return n;
}

YAML::Node ListNode(const std::vector<RewardFunctionSpec>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const auto& s : v) n.push_back(SpecNode(s));
  return n;
}

YAML::Node DomainsNode(const std::map<std::string, std::vector<RewardFunctionSpec>>& v) {
  YAML::Node n(YAML::NodeType::Map);
  for (const auto& [domain, list] : v) n[domain] = ListNode(list);
  return n;
}

std::string FlowText(const YAML::Node& n) {
  YAML::Emitter e;
  e.SetDoublePrecision(15);
  e << YAML::Flow << n;
  return e.c_str();
}

}  // namespace

const char* TypeName(const std::vector<RewardFunctionSpec>*) { return "list of reward functions"; }
const char* TypeName(const std::map<std::string, std::vector<RewardFunctionSpec>>*) {
  return "map of domains to reward functions";
}

std::string ParseYaml(const YAML::Node& n, std::vector<RewardFunctionSpec>* out) {
  if (n.IsNull()) {
    out->clear();
    return "";
  }
  if (!n.IsSequence()) return "expected a list of reward functions";
  std::vector<RewardFunctionSpec> v(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string problem = ParseSpec(n[i], &v[i]);
    if (!problem.empty()) return StrCat("item ", i + 1, ": ", problem);
  }
  *out = std::move(v);
  return "";
}

std::string ParseYaml(const YAML::Node& n,
                      std::map<std::string, std::vector<RewardFunctionSpec>>* out) {
  if (n.IsNull()) {
    out->clear();
    return "";
  }
  if (!n.IsMap()) return "expected a map of domains to lists of reward functions";
  std::map<std::string, std::vector<RewardFunctionSpec>> v;
  for (const auto& kv : n) {
    const std::string domain = kv.first.as<std::string>();
    const std::string problem = ParseYaml(kv.second, &v[domain]);
    if (!problem.empty()) return StrCat("domain \"", domain, "\": ", problem);
    if (v[domain].empty()) return StrCat("domain \"", domain, "\": expected at least one function");
  }
  *out = std::move(v);
  return "";
}

void Emitter::Emit(const std::vector<RewardFunctionSpec>& v) { out_ << YAML::Flow << ListNode(v); }
void Emitter::Emit(const std::map<std::string, std::vector<RewardFunctionSpec>>& v) {
  out_ << YAML::Flow << DomainsNode(v);
}

std::string Documenter::Default(const std::vector<RewardFunctionSpec>& v) {
  return FlowText(ListNode(v));
}
std::string Documenter::Default(const std::map<std::string, std::vector<RewardFunctionSpec>>& v) {
  return FlowText(DomainsNode(v));
}

}  // namespace internal
}  // namespace crescent::config
