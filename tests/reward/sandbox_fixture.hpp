// What the sandbox tests share: one sandbox for the whole program (made on
// first use; without bubblewrap every test fails saying to install it), and
// running a Python program in a fresh directory of its own.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reward/sandbox.hpp"

namespace crescent::reward::testing {

inline Sandbox& TheSandbox() {
  static std::unique_ptr<Sandbox> sandbox;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    try {
      sandbox = Sandbox::Make();
      WARN("sandbox: " << sandbox->Enforcement());
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (!sandbox) {
    FAIL("no sandbox: " << error
                        << "\nInstall bubblewrap: apt-get install bubblewrap (scripts/setup.sh "
                           "installs it).");
  }
  return *sandbox;
}

// Runs `code` as prog.py with `args` in a directory of its own.
inline SandboxResult Python(const std::string& code, const SandboxLimits& limits = {},
                            const std::vector<std::string>& args = {},
                            const std::string& stdin_text = "") {
  Sandbox& sandbox = TheSandbox();
  auto dir = sandbox.NewDir();
  dir->Write("prog.py", code);
  std::vector<std::string> argv = {"python3", "prog.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return sandbox.Run(*dir, argv, stdin_text, limits);
}

// What a failed check should show of a run.
inline std::string Show(const SandboxResult& r) {
  return r.Describe() + "\n--- stdout:\n" + r.out.substr(0, 2000) + "\n--- stderr:\n" +
         r.err.substr(0, 2000);
}

// The host's processes whose command line contains `token`.
inline int ProcessesWith(const std::string& token) {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (!proc) return -1;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    // read(), not a stream: a process that exits mid-read makes it fail
    // with ESRCH, which libstdc++'s streams turn into an exception.
    const int fd = open((std::string("/proc/") + e->d_name + "/cmdline").c_str(), O_RDONLY);
    if (fd < 0) continue;
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    close(fd);
    if (n > 0)
      count += std::string(buffer, static_cast<size_t>(n)).find(token) != std::string::npos;
  }
  closedir(proc);
  return count;
}

// The most processes with `token` in their command line seen at once, from
// construction until Stop(), counted every 20 ms on a thread of its own.
class ProcessPeak {
 public:
  explicit ProcessPeak(std::string token)
      : token_(std::move(token)), watch_([this] {
          while (!done_) {
            most_ = std::max(most_.load(), ProcessesWith(token_));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }) {}
  ~ProcessPeak() { Stop(); }
  int Stop() {
    done_ = true;
    if (watch_.joinable()) watch_.join();
    return most_;
  }

 private:
  const std::string token_;
  std::atomic<bool> done_{false};
  std::atomic<int> most_{0};
  std::thread watch_;  // last: started once the members it reads exist
};

// All of the host's processes.
inline int HostProcesses() {
  int count = 0;
  DIR* proc = opendir("/proc");
  if (!proc) return -1;
  while (dirent* e = readdir(proc)) count += e->d_name[0] >= '0' && e->d_name[0] <= '9';
  closedir(proc);
  return count;
}

}  // namespace crescent::reward::testing
