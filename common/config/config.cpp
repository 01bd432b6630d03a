// Loading, printing and comparing configurations. The schema (every key) is
// in schema.cpp, the visitors that walk it in visitors.hpp, the rules between
// keys in validate.cpp.
#include "common/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "common/config/visitors.hpp"

namespace crescent::config {
namespace {

void ApplyOverride(YAML::Node& root, const std::string& assignment, std::set<std::string>* keys) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(StrCat("--set ", assignment, ": expected key.path=value"));
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(StrCat("--set ", assignment, ": value is not valid YAML: ", e.msg));
  }
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  // yaml-cpp nodes are handles: walk down by reassigning copies.
  std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
    if (i + 1 == parts.size()) {
      node[parts[i]] = value;
      return;
    }
    if (!node[parts[i]] || !node[parts[i]].IsMap())
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    set(node[parts[i]], i + 1);
  };
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  set(root, 0);
  keys->insert(key);
}

}  // namespace

std::string Config::Where(const std::string& key) const {
  auto it = provenance.find(key);
  return it == provenance.end() ? "default" : it->second;
}

const char* RoleName(Role role) { return ChoiceName(role); }

std::vector<Role> RankRoles(const ClusterSection& cluster) {
  std::vector<Role> roles;
  for (const Role role : cluster.rank_order) {
    switch (role) {
      case Role::kMaster:
        roles.push_back(Role::kMaster);
        break;
      case Role::kTrainer:
        roles.insert(roles.end(), cluster.trainers, Role::kTrainer);
        break;
      case Role::kRollout:
        roles.insert(roles.end(), cluster.rollout_workers, Role::kRollout);
        break;
      case Role::kReward:
        roles.insert(roles.end(), cluster.reward_services, Role::kReward);
        break;
    }
  }
  return roles;
}

Config ParseConfig(const std::string& yaml_text, const std::string& source,
                   const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
  if (root && !root.IsMap() && !root.IsNull()) {
    throw ConfigError(StrCat(source, ": expected a map of sections at the top level"));
  }
  std::set<std::string> overridden;
  for (const auto& o : overrides) ApplyOverride(root, o, &overridden);
  Config config;
  internal::Parser parser(root, "", source, overridden, &config.provenance);
  config.Visit(parser);
  parser.RejectUnknown();
  internal::Validate(config);
  return config;
}

Config LoadConfigFile(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(StrCat(path, ": cannot read the config file"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, overrides);
}

std::string ToYaml(const Config& config) {
  YAML::Emitter out;
  out.SetDoublePrecision(15);  // 0.0003, not 0.00029999999999999997
  out << YAML::BeginMap;
  internal::Emitter emitter(out);
  const_cast<Config&>(config).Visit(emitter);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> Differences(const Config& before, const Config& after,
                                     const std::set<std::string>& ignored) {
  // Every key as "section.key" -> its YAML text.
  auto flatten = [](const Config& c) {
    std::map<std::string, std::string> keys;
    YAML::Node root = YAML::Load(ToYaml(c));
    for (const auto& section : root) {
      for (const auto& key : section.second) {
        YAML::Emitter e;
        e.SetDoublePrecision(15);
        e << YAML::Flow << key.second;
        keys[section.first.as<std::string>() + "." + key.first.as<std::string>()] = e.c_str();
      }
    }
    return keys;
  };
  std::map<std::string, std::string> a = flatten(before), b = flatten(after);
  std::vector<std::string> out;
  for (const auto& [key, value] : b) {
    if (ignored.count(key)) continue;
    auto it = a.find(key);
    const std::string old = it == a.end() ? "(absent)" : it->second;
    if (old != value) out.push_back(StrCat(key, ": ", old, " -> ", value));
  }
  return out;
}

std::string ConfigReference() {
  std::ostringstream os;
  Config defaults;
  internal::Documenter doc(os);
  defaults.Visit(doc);
  return os.str();
}

}  // namespace crescent::config
