// JSON Lines text (one JSON value per line; blank lines skipped) parsed, for
// tests that read crescent's .jsonl outputs: ParseJsonLines(ReadFile(path)).
#pragma once

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace crescent::testing {

inline std::vector<nlohmann::json> ParseJsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace crescent::testing
