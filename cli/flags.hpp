// Command-line flags of the tool subcommands: "--name VALUE" or
// "--name=VALUE", "--set key=value" (repeatable), the rest positional.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/config/config.hpp"

namespace crescent::cli {

class Flags {
 public:
  // Throws std::runtime_error with `usage` for a flag not in `known` (names
  // without "--") or one without its value.
  Flags(const std::vector<std::string>& args, const std::set<std::string>& known,
        const std::string& usage);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The value of --name (the last, when given more than once), or `fallback`
  // when it is not given.
  std::string String(const std::string& name, const std::string& fallback = "") const;
  // Every value of a repeatable --name, in order.
  std::vector<std::string> All(const std::string& name) const;
  // Throw std::runtime_error naming the flag and the value when it is not one.
  int64_t Int(const std::string& name, int64_t fallback) const;
  double Number(const std::string& name, double fallback) const;
  bool Bool(const std::string& name, bool fallback) const;  // true or false

  const std::vector<std::string>& positional() const { return positional_; }
  const std::vector<std::string>& overrides() const { return overrides_; }  // --set

 private:
  std::string usage_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_, overrides_;
};

// The config a tool subcommand runs with: the file its first positional
// argument names, else the embedded quickstart; --set overrides applied.
config::Config CommandConfig(const Flags& flags);

}  // namespace crescent::cli
