// Runs untrusted programs (a policy's code, its compiler) in a bubblewrap
// sandbox: no network, a read-only view of the system, a private writable
// /tmp of bounded size, a fresh PID namespace, an unprivileged host user, and
// limits on CPU time, wall time, memory, file size, output and processes.
// What it guarantees and what it does not: docs/sandbox.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crescent::reward {

struct SandboxLimits {
  double cpu_s = 2.0;        // CPU seconds of each process (RLIMIT_CPU)
  double wall_s = 5.0;       // the whole run is killed after this
  int64_t memory_mb = 512;   // memory of the run
  int64_t file_mb = 16;      // the largest file it may write (RLIMIT_FSIZE)
  int64_t tmp_mb = 64;       // its private /tmp (a tmpfs of this size)
  int64_t output_kb = 1024;  // stdout + stderr together; more ends the run
  int64_t processes = 32;    // processes and threads at once (bwrap's own two not counted)
};

enum class SandboxStatus {
  kExited,       // exit_code says how
  kSignaled,     // killed by `signal` (a crash, or SIGXFSZ past file_mb); a
                 // program that exits with 129-192 itself reads as signal
                 // status-128 (bubblewrap reports a death by signal so)
  kTimeLimit,    // wall_s or cpu_s ran out
  kMemoryLimit,  // memory_mb ran out
  kOutputLimit,  // output_kb ran out
  kError,        // the sandbox itself failed; `error` says why
};

struct SandboxResult {
  SandboxStatus status = SandboxStatus::kError;
  int exit_code = -1;    // kExited
  int signal = 0;        // kSignaled
  std::string out, err;  // what it wrote, at most output_kb together
  double wall_s = 0;
  std::string error;      // kError
  bool cpu_time = false;  // kTimeLimit: cpu_s ran out rather than wall_s
  SandboxLimits limits;   // what the run was given, for Describe
  bool Passed() const { return status == SandboxStatus::kExited && exit_code == 0; }
  // "exit status 1", "killed by signal 11 (Segmentation fault)", "time limit
  // (5 s wall)", "CPU time limit (2 s)", "memory limit (512 MiB)", "output
  // limit (1024 KiB)", "file size limit (16 MiB)", "sandbox error: ...".
  std::string Describe() const;
};

struct SandboxOptions {
  std::string bwrap = "bwrap";  // looked up on PATH
  // Started as root, runs are made as this host user (root inside bubblewrap
  // would be root on the host). Otherwise they run as the caller's user.
  std::string user = "nobody";
  // Whether to use cgroups where they are writable (pids, memory, cpuacct);
  // false: the rlimit fallbacks of docs/sandbox.md only.
  bool cgroups = true;
};

// A host directory for one sample's files (a program's source, a compiled
// binary), seen inside the sandbox as /box: writable by runs that say so (a
// compile), read-only to the others (the program's tests). Removed with
// everything in it when destroyed. Files that a writable run made belong to
// the sandbox user and may be symbolic links: open them with O_NOFOLLOW.
class SandboxDir {
 public:
  virtual ~SandboxDir() = default;
  virtual const std::string& path() const = 0;
  // Writes `name` (no '/') into the directory, readable by the sandbox user.
  virtual void Write(const std::string& name, const std::string& content,
                     bool executable = false) = 0;
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;

  // Throws std::runtime_error naming what is missing: bwrap not found or not
  // working (no unprivileged user namespaces), the user unknown.
  static std::unique_ptr<Sandbox> Make(const SandboxOptions& options = {});

  // Throws std::runtime_error naming the directory it could not make.
  virtual std::unique_ptr<SandboxDir> NewDir() const = 0;

  // How the limits are enforced here: the user runs are made as, and the
  // cgroups or, where none is writable, the rlimits standing in for them.
  virtual std::string Enforcement() const = 0;

  // Runs argv (argv[0] on PATH=/usr/local/bin:/usr/bin:/bin inside) with
  // /box as its working directory and `stdin_text` as its stdin. Never
  // throws; thread-safe: runs may go on concurrently.
  virtual SandboxResult Run(const SandboxDir& dir, const std::vector<std::string>& argv,
                            const std::string& stdin_text, const SandboxLimits& limits,
                            bool writable_dir = false) const = 0;
};

}  // namespace crescent::reward
