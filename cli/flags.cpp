#include "cli/flags.hpp"

#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::cli {

Flags::Flags(const std::vector<std::string>& args, const std::set<std::string>& known,
             const std::string& usage)
    : usage_(usage) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (name == "set" || known.count(name)) {
      if (i + 1 >= args.size())
        throw std::runtime_error(StrCat("--", name, " needs a value; ", usage));
      value = args[++i];
    }
    if (name == "set") {
      overrides_.push_back(value);
    } else if (known.count(name)) {
      values_[name].push_back(value);
    } else {
      throw std::runtime_error(StrCat("unknown argument \"", a, "\"; ", usage));
    }
  }
}

std::string Flags::String(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Flags::All(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Flags::Int(const std::string& name, int64_t fallback) const {
  if (!Has(name)) return fallback;
  const std::string value = String(name);
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    throw std::runtime_error(StrCat("--", name, ": \"", value, "\" is not an integer; ", usage_));
  return n;
}

double Flags::Number(const std::string& name, double fallback) const {
  if (!Has(name)) return fallback;
  const std::string value = String(name);
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size())
    throw std::runtime_error(StrCat("--", name, ": \"", value, "\" is not a number; ", usage_));
  return x;
}

bool Flags::Bool(const std::string& name, bool fallback) const {
  if (!Has(name)) return fallback;
  const std::string value = String(name);
  if (value == "true") return true;
  if (value == "false") return false;
  throw std::runtime_error(
      StrCat("--", name, ": expected true or false, got \"", value, "\"; ", usage_));
}

config::Config CommandConfig(const Flags& flags) {
  if (flags.positional().empty()) {
    return config::ParseConfig(config::EmbeddedDefaultConfig(), "<embedded quickstart>",
                               flags.overrides());
  }
  return config::LoadConfigFile(flags.positional()[0], flags.overrides());
}

}  // namespace crescent::cli
