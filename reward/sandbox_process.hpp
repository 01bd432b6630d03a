// One sandbox run's process (reward/sandbox_process.cpp): vforks a child that
// joins the run's cgroups, sets its rlimits, becomes the sandbox user and
// execs bubblewrap; feeds its stdin, collects its stdout and stderr, and
// kills it at the wall deadline or past the output limit.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace crescent::reward::sandbox_internal {

struct Launch {
  // bwrap's command line, argv[0] a path; RunProcess adds --json-status-fd.
  std::vector<std::string> argv;
  struct Limit {
    decltype(RLIMIT_CPU) resource;
    rlimit value;
  };
  std::vector<Limit> limits;
  std::vector<int> join;  // cgroup.procs files the child writes "0" to
  bool drop = false;      // become uid:gid (started as root)
  uid_t uid = 0;
  gid_t gid = 0;
  size_t output_cap = 0;                           // stdout + stderr bytes kept; more kills the run
  std::chrono::steady_clock::time_point deadline;  // wall time
};

struct Ended {
  int status = 0;  // bwrap's, as waitpid gives it
  bool timed_out = false, overflow = false, killed = false;
  // Whether bwrap made the sandbox's first process (its --json-status-fd
  // said "child-pid"): else it failed before the program could run.
  bool started = false;
  pid_t init_pid = -1;  // that process (the PID namespace's init), as the host sees it
  std::string out, err;
};

// Runs `launch`. `kill_all` is called (after bwrap's process group is
// SIGKILLed) to kill whatever else belongs to the run. Throws
// std::runtime_error when bwrap could not be started.
Ended RunProcess(const Launch& launch, const std::string& stdin_text,
                 const std::function<void()>& kill_all);

}  // namespace crescent::reward::sandbox_internal
