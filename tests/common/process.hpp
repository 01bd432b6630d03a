// Real child processes for multi-process tests: start, read output, signal, wait.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace crescent::testing {

class Process {
 public:
  // Starts argv[0] (searched in PATH) with stdout and stderr into a log file,
  // in its own process group.
  explicit Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();  // kills the whole group if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Exit code (128+signal if killed), or -1 if still running after `timeout`.
  int Wait(std::chrono::milliseconds timeout);
  void Signal(int sig);        // to the whole process group
  std::string Output() const;  // everything written so far
  // Waits until Output() contains `text`; false after `timeout`.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool done_ = false;
  std::string log_path_;
};

// SIGKILLs `root` and every process descended from it at once, as losing
// the machine would (a launcher's children may sit in other process groups).
void KillProcessTree(pid_t root);

// A fresh directory under the system temp dir.
std::string TempDir(const std::string& name);
// The whole file, bytes as they are; and replacing it with `data`.
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

}  // namespace crescent::testing
