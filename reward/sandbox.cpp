// The code sandbox: each run vforks a child that joins the run's cgroups,
// sets its rlimits, becomes the sandbox user and execs bubblewrap, which
// builds the sandbox (namespaces, mounts) and runs the program in it. The
// parent feeds stdin, reads stdout and stderr, enforces the wall time and the
// output limit, and reads how it ended. docs/sandbox.md says what this
// guarantees and what it does not.
#include "reward/sandbox.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "common/util/log.hpp"
#include "reward/process_io.hpp"
#include "reward/sandbox_cgroup.hpp"
#include "reward/sandbox_dir.hpp"
#include "reward/sandbox_process.hpp"

namespace crescent::reward {
namespace {

using Clock = std::chrono::steady_clock;
using namespace sandbox_internal;
using process_io::FindProgram;

// bwrap's own processes in a run: itself and the PID namespace's init.
constexpr int64_t kBwrapProcesses = 2;

// The read-only view of the system every run gets: /usr, the top-level
// directories that hold programs and libraries (links into /usr on a
// merged-/usr system, kept as links), /etc; then /proc and /dev of its own.
std::vector<std::string> SystemView() {
  std::vector<std::string> args = {"--ro-bind", "/usr", "/usr"};
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st;
    if (lstat(top, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      const ssize_t n = readlink(top, target, sizeof(target) - 1);
      if (n <= 0) continue;
      args.insert(args.end(), {"--symlink", std::string(target, static_cast<size_t>(n)), top});
    } else if (S_ISDIR(st.st_mode)) {
      args.insert(args.end(), {"--ro-bind", top, top});
    }
  }
  args.insert(args.end(), {"--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev"});
  return args;
}

std::string Validate(const std::vector<std::string>& argv, const SandboxLimits& l) {
  if (argv.empty() || argv[0].empty()) return "no program to run";
  if (!(l.cpu_s > 0) || !(l.wall_s > 0)) return "cpu_s and wall_s must be > 0";
  if (l.memory_mb < 1 || l.file_mb < 1 || l.tmp_mb < 1 || l.output_kb < 1 || l.processes < 1) {
    return "memory_mb, file_mb, tmp_mb, output_kb and processes must be >= 1";
  }
  return "";
}

class BwrapSandbox : public Sandbox {
 public:
  BwrapSandbox(std::string bwrap, bool drop, uid_t uid, gid_t gid, std::string user,
               bool use_cgroups)
      : bwrap_(std::move(bwrap)),
        drop_(drop),
        uid_(uid),
        gid_(gid),
        user_(std::move(user)),
        view_(SystemView()) {
    std::vector<std::string> notes;
    if (use_cgroups) {
      cgroups_ = FindCgroups(&notes);
    } else {
      notes.push_back("cgroups not used (SandboxOptions::cgroups)");
    }
    enforcement_ = StrCat("bubblewrap ", bwrap_, " as ", user_, " (uid ", uid_, "); processes: ");
    if (!cgroups_.pids.dir.empty()) {
      enforcement_ += StrCat("pids cgroup v", cgroups_.pids.version, " under ", cgroups_.pids.dir);
    } else {
      enforcement_ += drop_ ? "RLIMIT_NPROC of the sandbox user (no pids cgroup)"
                            : "only the wall time (no pids cgroup, and RLIMIT_NPROC would count "
                              "all of this user's processes)";
    }
    enforcement_ += "; memory: ";
    if (!cgroups_.memory.dir.empty()) {
      enforcement_ +=
          StrCat("memory cgroup v", cgroups_.memory.version, " under ", cgroups_.memory.dir);
    } else {
      enforcement_ += "RLIMIT_AS of each process (no memory cgroup)";
    }
    enforcement_ += "; CPU time: RLIMIT_CPU of each process";
    if (!cgroups_.cpu.dir.empty()) {
      enforcement_ += StrCat(", counted by a ", cgroups_.cpu.version == 1 ? "cpuacct" : "v2",
                             " cgroup under ", cgroups_.cpu.dir);
    }
    for (const std::string& note : notes) enforcement_ += "; " + note;
    if (use_cgroups && (cgroups_.pids.dir.empty() || cgroups_.memory.dir.empty())) {
      LogWarn("sandbox: ", enforcement_);
    }
  }

  std::unique_ptr<SandboxDir> NewDir() const override { return MakeSandboxDir(drop_, uid_, gid_); }

  std::string Enforcement() const override { return enforcement_; }

  SandboxResult Run(const SandboxDir& dir, const std::vector<std::string>& argv,
                    const std::string& stdin_text, const SandboxLimits& limits,
                    bool writable_dir) const override {
    SandboxResult r;
    r.limits = limits;
    const auto start = Clock::now();
    try {
      if (std::string e = Validate(argv, limits); !e.empty()) throw std::invalid_argument(e);
      RunIn(dir, argv, stdin_text, limits, writable_dir, start, &r);
    } catch (const std::exception& e) {
      r.status = SandboxStatus::kError;
      r.error = e.what();
    }
    r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    return r;
  }

 private:
  std::vector<std::string> CommandLine(const SandboxDir& dir, const std::vector<std::string>& argv,
                                       const SandboxLimits& limits, bool writable_dir) const {
    // --unshare-all: user, PID, network (its own loopback only), IPC, UTS
    // and cgroup namespaces. --disable-userns: no nested user namespaces,
    // the way into much of the kernel's attack surface. --new-session: no
    // TIOCSTI into a terminal outside. --die-with-parent: the namespace dies
    // with bwrap.
    std::vector<std::string> args = {
        bwrap_,         "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
        "--new-session"};
    args.insert(args.end(), {"--cap-drop", "ALL", "--hostname", "sandbox", "--clearenv"});
    args.insert(args.end(), {"--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"});
    args.insert(args.end(), {"--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8"});
    args.insert(args.end(), view_.begin(), view_.end());
    args.insert(args.end(), {"--size", std::to_string(limits.tmp_mb << 20), "--tmpfs", "/tmp"});
    args.insert(args.end(), {writable_dir ? "--bind" : "--ro-bind", dir.path(), "/box"});
    // The root and /dev are tmpfs that bwrap leaves writable (and of no
    // bounded size): only /tmp and /box may be written.
    args.insert(args.end(), {"--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/box"});
    args.push_back("--");
    args.insert(args.end(), argv.begin(), argv.end());
    return args;
  }

  void RunIn(const SandboxDir& dir, const std::vector<std::string>& argv,
             const std::string& stdin_text, const SandboxLimits& limits, bool writable_dir,
             Clock::time_point start, SandboxResult* r) const {
    RunCgroups cgroups(cgroups_, limits.processes + kBwrapProcesses, limits.memory_mb << 20);
    Launch launch;
    launch.argv = CommandLine(dir, argv, limits, writable_dir);
    launch.join = cgroups.procs_fds();
    auto limit = [&](decltype(RLIMIT_CPU) resource, rlim_t soft, rlim_t hard) {
      launch.limits.push_back({resource, {soft, hard}});
    };
    // SIGXCPU at the soft limit, SIGKILL a second later for a program that
    // ignores it.
    const rlim_t cpu = static_cast<rlim_t>(std::ceil(limits.cpu_s));
    limit(RLIMIT_CPU, cpu, cpu + 1);
    const rlim_t file = static_cast<rlim_t>(limits.file_mb) << 20;
    limit(RLIMIT_FSIZE, file, file);
    limit(RLIMIT_CORE, 0, 0);
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    limit(RLIMIT_NOFILE, std::min<rlim_t>(files.rlim_cur, 1024),
          std::min<rlim_t>(files.rlim_max, 1024));
    // The fallbacks where there is no cgroup (docs/sandbox.md).
    if (cgroups_.pids.dir.empty() && drop_) {
      const rlim_t n = static_cast<rlim_t>(limits.processes + kBwrapProcesses);
      limit(RLIMIT_NPROC, n, n);
    }
    if (cgroups_.memory.dir.empty()) {
      const rlim_t bytes = static_cast<rlim_t>(limits.memory_mb) << 20;
      limit(RLIMIT_AS, bytes, bytes);
    }
    launch.drop = drop_;
    launch.uid = uid_;
    launch.gid = gid_;
    launch.output_cap = static_cast<size_t>(limits.output_kb) << 10;
    launch.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(limits.wall_s));
    Ended e = RunProcess(launch, stdin_text, [&] { cgroups.KillAll(); });
    r->out = std::move(e.out);
    r->err = std::move(e.err);
    if (!e.started) {
      // bwrap failed before the program existed (it could not make the
      // namespaces: no processes or memory left, say): not the program's
      // doing.
      const std::string how =
          e.killed ? "killed"
                   : StrCat("exit status ", WIFEXITED(e.status) ? WEXITSTATUS(e.status) : -1);
      throw std::runtime_error(StrCat("bwrap did not start the sandbox (", how,
                                      "): ", r->err.substr(0, r->err.find('\n'))));
    }
    // A SIGKILL is the CPU limit's hard end when the run used that much CPU
    // time. bwrap does not reap the program (its init reports the status and
    // bwrap exits), so wait4's rusage misses it: the cgroup counts it.
    const double cpu_used = cgroups.CpuSeconds();
    Classify(e.status, e.timed_out, e.overflow, cgroups.OomKills(),
             cpu_used >= static_cast<double>(cpu), r);
  }

  static void Classify(int status, bool timed_out, bool overflow, int64_t oom_kills, bool cpu_spent,
                       SandboxResult* r) {
    // bwrap exits with the program's status, or 128 + the signal that
    // killed it; bwrap itself killed (by the out-of-memory killer, or by
    // us) shows as a signal directly.
    int code = -1, sig = 0;
    if (WIFSIGNALED(status)) {
      sig = WTERMSIG(status);
    } else if (WIFEXITED(status)) {
      code = WEXITSTATUS(status);
      if (code > 128 && code <= 128 + 64) sig = code - 128;
    }
    const bool passed = sig == 0 && code == 0;
    if (overflow) {
      r->status = SandboxStatus::kOutputLimit;
    } else if (timed_out) {
      r->status = SandboxStatus::kTimeLimit;
    } else if (oom_kills > 0 && !passed) {
      r->status = SandboxStatus::kMemoryLimit;
    } else if (sig == SIGXCPU || (sig == SIGKILL && cpu_spent)) {
      r->status = SandboxStatus::kTimeLimit;
      r->cpu_time = true;
    } else if (sig != 0) {
      r->status = SandboxStatus::kSignaled;
      r->signal = sig;
    } else {
      r->status = SandboxStatus::kExited;
      r->exit_code = code;
    }
    // An allocation that failed rather than being killed: Python's
    // MemoryError, C++'s std::bad_alloc (which aborts when not caught).
    const bool failed_run = (r->status == SandboxStatus::kExited && code != 0) ||
                            (r->status == SandboxStatus::kSignaled && sig == SIGABRT);
    if (failed_run) {
      for (const char* what : {"MemoryError", "std::bad_alloc", "Cannot allocate memory"}) {
        if (r->err.find(what) != std::string::npos) r->status = SandboxStatus::kMemoryLimit;
      }
    }
  }

  std::string bwrap_;
  bool drop_;
  uid_t uid_;
  gid_t gid_;
  std::string user_;
  std::vector<std::string> view_;
  CgroupPlan cgroups_;
  std::string enforcement_;
};

}  // namespace

std::string SandboxResult::Describe() const {
  switch (status) {
    case SandboxStatus::kExited:
      return StrCat("exit status ", exit_code);
    case SandboxStatus::kSignaled:
      if (signal == SIGXFSZ) return StrCat("file size limit (", limits.file_mb, " MiB)");
      return StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
    case SandboxStatus::kTimeLimit:
      if (cpu_time) return StrCat("CPU time limit (", limits.cpu_s, " s)");
      return StrCat("time limit (", limits.wall_s, " s wall)");
    case SandboxStatus::kMemoryLimit:
      return StrCat("memory limit (", limits.memory_mb, " MiB)");
    case SandboxStatus::kOutputLimit:
      return StrCat("output limit (", limits.output_kb, " KiB)");
    case SandboxStatus::kError:
      return StrCat("sandbox error: ", error);
  }
  return "unknown status";
}

std::unique_ptr<Sandbox> Sandbox::Make(const SandboxOptions& options) {
  const std::string bwrap = FindProgram(options.bwrap);
  if (bwrap.empty()) {
    throw std::runtime_error(StrCat("sandbox: ", options.bwrap,
                                    " not found (install bubblewrap: apt-get install bubblewrap)"));
  }
  const bool root = geteuid() == 0;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  std::string user = options.user;
  if (root) {
    passwd pw{}, *found = nullptr;
    std::vector<char> buffer(16384);
    getpwnam_r(options.user.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (!found) {
      throw std::runtime_error(StrCat("sandbox: user \"", options.user,
                                      "\" unknown (runs are made as this user when started as "
                                      "root)"));
    }
    if (pw.pw_uid == 0) {
      throw std::runtime_error(
          StrCat("sandbox: user \"", options.user, "\" is root, which would be root on the host"));
    }
    uid = pw.pw_uid;
    gid = pw.pw_gid;
  } else {
    user = StrCat("uid ", uid);
    passwd pw{}, *found = nullptr;
    std::vector<char> buffer(16384);
    if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found) {
      user = pw.pw_name;
    }
  }
  auto sandbox = std::make_unique<BwrapSandbox>(bwrap, root, uid, gid, user, options.cgroups);
  // A trial run: bwrap works here (unprivileged user namespaces allowed),
  // as this user, with a directory of ours bound.
  const auto dir = sandbox->NewDir();
  const SandboxResult trial = sandbox->Run(*dir, {"true"}, "", SandboxLimits{}, false);
  if (!trial.Passed()) {
    throw std::runtime_error(
        StrCat("sandbox: a trial run of /bin/true under ", bwrap, " as ", user, " failed (",
               trial.Describe(), "): ", trial.err,
               " (bubblewrap needs unprivileged user namespaces, and the user must be able to "
               "reach ",
               dir->path(), ")"));
  }
  return sandbox;
}

}  // namespace crescent::reward
