// Integer options of the form `--name N` for the benchmark commands.
#pragma once

#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace crescent::bench {

// Sets `options` (their defaults filled in) from `args`, leaving out the
// flags of `skip` and the value after each. On an unknown, incomplete or
// non-numeric option, says so on stderr for `command` and returns false.
inline bool ParseIntOptions(const std::vector<std::string>& args, const std::string& command,
                            std::map<std::string, int64_t>& options,
                            const std::vector<std::string>& skip = {}) {
  for (size_t i = 0; i < args.size(); ++i) {
    bool skipped = false;
    for (const std::string& s : skip) skipped = skipped || args[i] == s;
    if (skipped) {
      ++i;
      continue;
    }
    auto it = options.find(args[i]);
    if (it == options.end() || i + 1 >= args.size()) {
      std::cerr << "crescent " << command << ": unknown or incomplete option \"" << args[i]
                << "\"\n";
      return false;
    }
    try {
      it->second = std::stoll(args[++i]);
    } catch (const std::exception&) {
      std::cerr << "crescent " << command << ": " << args[i - 1] << " needs a number\n";
      return false;
    }
  }
  return true;
}

}  // namespace crescent::bench
