// Logging: one line per event on stderr, prefixed with time, role, rank, host
// and pid so that interleaved multi-process logs stay readable.
#pragma once

#include <sstream>
#include <string>

namespace crescent {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the prefix every later line carries, e.g. "rollout[2]@node1".
void SetLogIdentity(const std::string& identity);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const std::string& message);

namespace detail {
inline void Append(std::ostringstream&) {}
template <class T, class... Rest>
void Append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  Append(os, rest...);
}
}  // namespace detail

template <class... Args>
void Log(LogLevel level, const Args&... args) {
  if (!LogEnabled(level)) return;
  std::ostringstream os;
  detail::Append(os, args...);
  LogLine(level, os.str());
}
template <class... Args>
void LogInfo(const Args&... args) {
  Log(LogLevel::kInfo, args...);
}
template <class... Args>
void LogWarn(const Args&... args) {
  Log(LogLevel::kWarn, args...);
}
template <class... Args>
void LogError(const Args&... args) {
  Log(LogLevel::kError, args...);
}
template <class... Args>
void LogDebug(const Args&... args) {
  Log(LogLevel::kDebug, args...);
}

// Concatenates its arguments with operator<<.
template <class... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream os;
  detail::Append(os, args...);
  return os.str();
}

}  // namespace crescent
