#include "reward/sandbox_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "common/util/log.hpp"
#include "reward/process_io.hpp"

namespace crescent::reward::sandbox_internal {
namespace {

using Clock = std::chrono::steady_clock;
namespace io = process_io;

// How long the pipes are drained, and bwrap waited for, after a kill.
constexpr auto kDrainGrace = std::chrono::seconds(2);

// What the child writes to the report pipe when it fails before bwrap runs.
struct ChildFailure {
  int step;
  int error;
};
const char* const kSteps[] = {"redirecting its stdio",
                              "joining its cgroup",
                              "setting a resource limit",
                              "dropping supplementary groups",
                              "setgid",
                              "setuid",
                              "setting no_new_privs",
                              "setting the parent-death signal",
                              "exec"};
enum Step { kDup, kJoin, kLimit, kGroups, kSetgid, kSetuid, kNoNewPrivs, kDeathSignal, kExec };

// Everything the child needs, made before the vfork: between vfork and exec
// the child shares this process's memory and may only make async-signal-safe
// calls (the service has other threads, whose locks it would find held), so
// it allocates nothing and writes nothing but its own stack frames.
struct ChildPlan {
  const Launch* launch;
  char* const* argv;
  int in, out, err;  // the child's ends of the pipes
  int report;        // close-on-exec: EOF once bwrap runs
  int status;        // bwrap's --json-status-fd, kept open across exec
  pid_t parent;
  long open_max;
};

[[noreturn]] void Child(const ChildPlan& p) {
  const Launch& l = *p.launch;
  auto fail = [&](int step) {
    const ChildFailure f{step, errno};
    (void)!write(p.report, &f, sizeof(f));
    _exit(127);
  };
  if (dup2(p.in, STDIN_FILENO) < 0 || dup2(p.out, STDOUT_FILENO) < 0 ||
      dup2(p.err, STDERR_FILENO) < 0) {
    fail(kDup);
  }
  // Its own process group: a kill reaches bwrap and the namespace's init
  // even where there is no cgroup.
  setpgid(0, 0);
  for (int fd : l.join) {
    if (write(fd, "0", 1) != 1) fail(kJoin);
  }
  for (const Launch::Limit& limit : l.limits) {
    if (setrlimit(limit.resource, &limit.value) != 0) fail(kLimit);
  }
  if (l.drop) {
    // Raw system calls: glibc's wrappers would signal the parent's other
    // threads, gone in the child, to change theirs too.
    if (syscall(SYS_setgroups, 0, nullptr) != 0) fail(kGroups);
    if (syscall(SYS_setresgid, l.gid, l.gid, l.gid) != 0) fail(kSetgid);
    if (syscall(SYS_setresuid, l.uid, l.uid, l.uid) != 0) fail(kSetuid);
  }
  // No set-user-ID program in /usr can give back what was dropped.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(kNoNewPrivs);
  // Dies with the thread that runs it (RunProcess waits for it), so that a
  // service that dies mid-run takes its runs along. After setuid, which
  // clears it.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(kDeathSignal);
  if (getppid() != p.parent) _exit(127);
  // Ignored signals and the blocked mask survive exec: the program must get
  // the defaults (an ignored SIGPIPE breaks its pipes).
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // The service's sockets and other runs' pipes must not leak into the
  // sandbox: another run's stdin held open here would never see EOF.
  const int low = p.report < p.status ? p.report : p.status;
  const int high = p.report < p.status ? p.status : p.report;
  io::CloseRange(STDERR_FILENO + 1, low - 1, p.open_max);
  io::CloseRange(low + 1, high - 1, p.open_max);
  io::CloseRange(high + 1, static_cast<int>(p.open_max), p.open_max);
  if (fcntl(p.status, F_SETFD, 0) != 0) fail(kDup);
  char* const empty_env[] = {nullptr};
  execve(p.argv[0], p.argv, empty_env);
  fail(kExec);
  _exit(127);
}

// Writes stdin, reads stdout and stderr until both close, the deadline
// passes or the output limit is reached; then kills the run and drains what
// is left for a moment.
void Exchange(const Launch& launch, int to_child, int out_fd, int err_fd, int status_fd,
              const std::string& stdin_text, const std::function<void()>& stop, Ended* e) {
  size_t written = 0;
  if (stdin_text.empty()) {
    close(to_child);
    to_child = -1;
  } else {
    fcntl(to_child, F_SETFL, fcntl(to_child, F_GETFL) | O_NONBLOCK);
  }
  Clock::time_point drain_until;
  auto kill_now = [&] {
    stop();
    drain_until = Clock::now() + kDrainGrace;
  };
  char chunk[65536];
  std::string status;  // bwrap's JSON lines
  while (out_fd >= 0 || err_fd >= 0 || status_fd >= 0) {
    pollfd fds[4];
    int* owners[4];
    nfds_t n = 0;
    for (int* fd : {&out_fd, &err_fd, &status_fd, &to_child}) {
      if (*fd < 0) continue;
      fds[n] = {*fd, static_cast<short>(fd == &to_child ? POLLOUT : POLLIN), 0};
      owners[n++] = fd;
    }
    const int ready = poll(fds, n, io::MillisecondsLeft(e->killed ? drain_until : launch.deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      if (e->killed) break;  // what is left of its output is not waited for
      e->timed_out = ready == 0;
      kill_now();
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      int* fd = owners[i];
      if (fd == &to_child) {
        const ssize_t w =
            io::WriteNoSigpipe(to_child, stdin_text.data() + written, stdin_text.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: it stopped reading its stdin, which is its business.
        if (written == stdin_text.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) {
          close(to_child);
          to_child = -1;
        }
        continue;
      }
      const ssize_t got = read(*fd, chunk, sizeof(chunk));
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        close(*fd);
        *fd = -1;
        continue;
      }
      if (fd == &status_fd) {
        if (status.size() < 65536) status.append(chunk, static_cast<size_t>(got));
        continue;
      }
      std::string& sink = fd == &out_fd ? e->out : e->err;
      const size_t cap = launch.output_cap;
      const size_t room = cap - std::min(cap, e->out.size() + e->err.size());
      sink.append(chunk, std::min(room, static_cast<size_t>(got)));
      if (static_cast<size_t>(got) > room && !e->overflow) {
        e->overflow = true;
        kill_now();
      }
    }
  }
  for (int fd : {to_child, out_fd, err_fd, status_fd}) {
    if (fd >= 0) close(fd);
  }
  const size_t at = status.find("\"child-pid\":");
  e->started = at != std::string::npos;
  if (e->started)
    e->init_pid = static_cast<pid_t>(std::strtol(status.c_str() + at + 12, nullptr, 10));
}

// Waits for bwrap until `deadline`; whether `e` holds how it ended.
bool Reap(pid_t pid, Clock::time_point deadline, Ended* e) {
  auto pause = std::chrono::microseconds(50);
  while (true) {
    const pid_t got = waitpid(pid, &e->status, WNOHANG);
    if (got == pid) return true;
    if (got < 0 && errno != EINTR) {
      throw std::runtime_error(
          StrCat("waitpid: ", std::strerror(errno), " (is SIGCHLD ignored in this process?)"));
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}

// bwrap exits once its init reports the program's status, and the init,
// orphaned, dies of the parent-death signal. It is reaped by the nearest
// subreaper: where that is this process (the service runs as a container's
// PID 1, say), nothing else would, and zombies would pile up. Elsewhere
// waitpid fails at once (not our child).
void ReapOrphanedInit(pid_t init_pid) {
  if (init_pid <= 0) return;
  auto pause = std::chrono::microseconds(50);
  const auto deadline = Clock::now() + kDrainGrace;
  while (Clock::now() < deadline) {
    const pid_t got = waitpid(init_pid, nullptr, WNOHANG);
    if (got == init_pid || (got < 0 && errno != EINTR)) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}

}  // namespace

Ended RunProcess(const Launch& launch, const std::string& stdin_text,
                 const std::function<void()>& kill_all) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  int status[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err, report, status}) {
      for (int i = 0; i < 2; ++i) {
        if (p[i] >= 0) close(p[i]);
        p[i] = -1;
      }
    }
  };
  if (!io::Pipe(in) || !io::Pipe(out) || !io::Pipe(err) || !io::Pipe(report) || !io::Pipe(status)) {
    const int e = errno;
    close_all();
    throw std::runtime_error(StrCat("pipe: ", std::strerror(e)));
  }
  std::vector<std::string> args = launch.argv;
  args.insert(args.begin() + 1, {"--json-status-fd", std::to_string(status[1])});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ChildPlan plan{};
  plan.launch = &launch;
  plan.argv = argv.data();
  plan.in = in[0], plan.out = out[1], plan.err = err[1];
  plan.report = report[1], plan.status = status[1];
  plan.parent = getpid();
  plan.open_max = std::max(sysconf(_SC_OPEN_MAX), 1024L);
  // vfork: the child borrows this process's memory until it execs, rather
  // than copying its page tables (milliseconds for a service that maps
  // LibTorch). Signals stay blocked until the child has reset their
  // handlers, which must not run in it on this process's memory.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = vfork();
  if (pid == 0) Child(plan);
  const int vfork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    close_all();
    throw std::runtime_error(StrCat("vfork: ", std::strerror(vfork_errno)));
  }
  for (int* fd : {&in[0], &out[1], &err[1], &report[1], &status[1]}) close(*fd), *fd = -1;
  setpgid(pid, pid);  // also here, so that a kill right away reaches the group

  ChildFailure failure{};
  size_t got = 0;
  io::ReadToEnd(report[0], &failure, sizeof(failure), &got);
  if (got == sizeof(failure)) {
    close_all();
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error(StrCat("could not start ", launch.argv[0], ": ", kSteps[failure.step],
                                    ": ", std::strerror(failure.error)));
  }

  Ended e;
  auto stop = [&] {
    if (e.killed) return;
    e.killed = true;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    kill_all();
  };
  Exchange(launch, in[1], out[0], err[0], status[0], stdin_text, stop, &e);
  in[1] = out[0] = err[0] = status[0] = -1;  // Exchange closed them
  close_all();
  if (!Reap(pid, e.killed ? Clock::now() + kDrainGrace : launch.deadline, &e)) {
    if (!e.killed) e.timed_out = true;
    stop();
    while (waitpid(pid, &e.status, 0) < 0 && errno == EINTR) {
    }
  }
  ReapOrphanedInit(e.init_pid);
  return e;
}

}  // namespace crescent::reward::sandbox_internal
