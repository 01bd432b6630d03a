#include "reward/command_reward.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "common/util/log.hpp"
#include "reward/process_io.hpp"

namespace crescent::reward {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using process_io::CloseRange;
using process_io::MillisecondsLeft;
using process_io::Pipe;
using process_io::WriteNoSigpipe;

// A reply line longer than this is a failure rather than a reason to keep
// buffering a runaway process's output.
constexpr size_t kMaxLine = size_t{16} << 20;
// How long the destructor lets the process exit on its own after closing its
// stdin.
constexpr auto kExitGrace = std::chrono::seconds(1);

std::string Clip(const std::string& text, size_t limit) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

// Python's json.dumps writes NaN and infinities as the bare words NaN,
// Infinity and -Infinity, which are not JSON. Returns the word when the
// reply's "reward" is one, so the error can say what went wrong.
std::string NonFiniteReward(const std::string& line) {
  const std::string key = "\"reward\"";
  for (size_t at = line.find(key); at != std::string::npos; at = line.find(key, at + 1)) {
    size_t i = at + key.size();
    auto skip_space = [&] {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    };
    skip_space();
    if (i >= line.size() || line[i] != ':') continue;
    ++i;
    skip_space();
    for (const char* word : {"NaN", "Infinity", "-Infinity"}) {
      if (line.compare(i, std::strlen(word), word) == 0) return word;
    }
  }
  return "";
}

class CommandReward : public RewardFunction {
 public:
  CommandReward(std::vector<std::string> command, std::string name, std::string program,
                const RewardOptions& options)
      : command_(std::move(command)),
        name_(std::move(name)),
        program_(std::move(program)),
        options_(options) {}

  ~CommandReward() override { Shutdown(); }

  Outcome Score(const task::Prompt& prompt, const std::string& response) const override {
    const uint64_t id = ++last_id_;
    std::string request;
    try {
      json r = {{"id", id},
                {"prompt", prompt.text},
                {"response", response},
                {"metadata", json::parse(MetadataJson(prompt))}};
      // A response cut off mid-character is not valid UTF-8, which JSON
      // cannot carry: such bytes become U+FFFD rather than failing the sample.
      request = r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    } catch (const std::exception& e) {
      return Fail(StrCat("could not encode the request: ", e.what()), false);
    }
    if (pid_ > 0) {
      int status = 0;
      if (HasEnded(&status)) {
        // It died between requests: this sample did not cause it and need not
        // pay for it.
        const std::string how = DescribeEnd(status);
        Stop();
        if (restarts_++ == 0) LogWarn("reward command ", name_, ": ", how, "; starting it again");
      }
    }
    if (pid_ <= 0) {
      if (std::string error = Start(); !error.empty()) return Fail(error, false);
    }
    return Exchange(request, id);
  }

 private:
  // Starts the process; "" or why it could not be started.
  std::string Start() const {
    std::vector<char*> argv;
    for (const auto& part : command_) argv.push_back(const_cast<char*>(part.c_str()));
    argv.push_back(nullptr);
    const long open_max = std::max(sysconf(_SC_OPEN_MAX), 1024L);
    int in[2], out[2], exec_error[2];
    if (!Pipe(in)) return StrCat("pipe: ", std::strerror(errno));
    if (!Pipe(out)) {
      const int e = errno;
      close(in[0]), close(in[1]);
      return StrCat("pipe: ", std::strerror(e));
    }
    if (!Pipe(exec_error)) {
      const int e = errno;
      for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
      return StrCat("pipe: ", std::strerror(e));
    }
    const pid_t pid = fork();
    if (pid < 0) {
      const int e = errno;
      for (int fd : {in[0], in[1], out[0], out[1], exec_error[0], exec_error[1]}) close(fd);
      return StrCat("fork: ", std::strerror(e));
    }
    if (pid == 0) {
      // Only async-signal-safe calls from here to execv: the service may
      // have other threads, whose locks the child would inherit held.
      dup2(in[0], STDIN_FILENO);
      dup2(out[1], STDOUT_FILENO);
      // Its own process group, so that a timeout also kills what it started
      // (a compiler, a test binary).
      setpgid(0, 0);
      // An ignored SIGPIPE or SIGCHLD would be inherited through execv and
      // break the program's own pipes and subprocesses.
      struct sigaction dfl = {};
      dfl.sa_handler = SIG_DFL;
      sigaction(SIGPIPE, &dfl, nullptr);
      sigaction(SIGCHLD, &dfl, nullptr);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      // The service's sockets and other plug-ins' pipes must not leak into
      // it: another process's stdin held open here would never see EOF.
      const int keep = exec_error[1];
      if (keep > STDERR_FILENO + 1) CloseRange(STDERR_FILENO + 1, keep - 1, open_max);
      CloseRange(keep + 1, static_cast<int>(open_max), open_max);
      execv(program_.c_str(), argv.data());
      const int e = errno;
      (void)!write(keep, &e, sizeof(e));
      _exit(127);
    }
    close(in[0]), close(out[1]), close(exec_error[1]);
    setpgid(pid, pid);  // also here, so that a kill right away reaches the group
    int exec_errno = 0;
    ssize_t n;
    while ((n = read(exec_error[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR) {
    }
    close(exec_error[0]);
    if (n == static_cast<ssize_t>(sizeof(exec_errno))) {
      close(in[1]), close(out[0]);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      return StrCat("could not start ", program_, ": ", std::strerror(exec_errno));
    }
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    pid_ = pid;
    to_child_ = in[1];
    from_child_ = out[0];
    buffer_.clear();
    return "";
  }

  // Sends one request and reads one line back, both within the timeout.
  Outcome Exchange(const std::string& request, uint64_t id) const {
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options_.plugin_timeout_s));
    size_t written = 0, scanned = 0;
    char chunk[65536];
    std::string line;
    while (true) {
      if (const size_t newline = buffer_.find('\n', scanned); newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        break;
      }
      scanned = buffer_.size();
      if (buffer_.size() > kMaxLine) {
        return Fail(StrCat("wrote a line longer than ", kMaxLine >> 20, " MiB"), true);
      }
      pollfd fds[2] = {{from_child_, POLLIN, 0}, {to_child_, POLLOUT, 0}};
      const nfds_t count = written < request.size() ? 2 : 1;
      const int ready = poll(fds, count, MillisecondsLeft(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Fail(StrCat("poll: ", std::strerror(errno)), true);
      if (ready == 0) {
        return Fail(StrCat("timed out after ", options_.plugin_timeout_s, " s"), true);
      }
      if (count == 2 && fds[1].revents != 0) {
        const ssize_t n =
            WriteNoSigpipe(to_child_, request.data() + written, request.size() - written);
        if (n > 0) {
          written += static_cast<size_t>(n);
        } else if (n < 0 && errno == EPIPE) {
          return Fail(EndedOr("closed its stdin before reading the request", deadline), true);
        } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
          return Fail(StrCat("write: ", std::strerror(errno)), true);
        }
      }
      if (fds[0].revents != 0) {
        const ssize_t n = read(from_child_, chunk, sizeof(chunk));
        if (n > 0) {
          buffer_.append(chunk, static_cast<size_t>(n));
        } else if (n == 0) {
          return Fail(EndedOr("closed its stdout before replying", deadline), true);
        } else if (errno != EINTR && errno != EAGAIN) {
          return Fail(StrCat("read: ", std::strerror(errno)), true);
        }
      }
    }
    if (written < request.size()) {
      return Fail("replied before reading the whole request", true);
    }
    return Parse(line, id);
  }

  Outcome Parse(const std::string& line, uint64_t id) const {
    const json reply = json::parse(line, nullptr, false);
    if (reply.is_discarded()) {
      if (std::string word = NonFiniteReward(line); !word.empty()) {
        return Fail(StrCat("reward is not a finite number (", word, ")"), true);
      }
      return Fail(StrCat("wrote a line that is not JSON: ", Clip(line, 200)), true);
    }
    if (!reply.is_object()) {
      return Fail(StrCat("wrote a line that is not a JSON object: ", Clip(line, 200)), true);
    }
    auto it = reply.find("id");
    if (it == reply.end()) return Fail(StrCat("reply has no \"id\" (expected ", id, ")"), true);
    if (!it->is_number() || *it != json(id)) {
      return Fail(StrCat("reply id ", Clip(it->dump(), 50), ", expected ", id), true);
    }
    if (it = reply.find("error"); it != reply.end()) {
      // In step with its requests: the process is kept.
      if (it->is_string()) return Fail(StrCat("reported: ", it->get<std::string>()), false);
      return Fail(StrCat("\"error\" is not a string: ", Clip(it->dump(), 200)), true);
    }
    it = reply.find("reward");
    if (it == reply.end()) return Fail("reply has no \"reward\"", true);
    if (!it->is_number()) {
      return Fail(StrCat("reward is not a number: ", Clip(it->dump(), 200)), true);
    }
    const double reward = it->get<double>();
    if (!std::isfinite(reward)) {
      return Fail(StrCat("reward is not a finite number (", reward, ")"), true);
    }
    bool judged = false, correct = false;
    if (it = reply.find("correct"); it != reply.end()) {
      if (!it->is_boolean()) {
        return Fail(StrCat("\"correct\" is not a boolean: ", Clip(it->dump(), 200)), true);
      }
      judged = true;
      correct = it->get<bool>();
    }
    std::string details;
    if (it = reply.find("details"); it != reply.end()) {
      if (!it->is_object()) {
        return Fail(StrCat("\"details\" is not an object: ", Clip(it->dump(), 200)), true);
      }
      details = it->dump();
    }
    return {reward, correct, judged, "", details};
  }

  // Whether the process has ended (it is left a zombie so that its process
  // group can still be killed safely); `status` as waitpid gives it.
  bool HasEnded(int* status) const {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      // ECHILD: SIGCHLD is ignored and it was reaped already.
      *status = -1;
      return errno == ECHILD;
    }
    if (info.si_pid == 0) return false;
    *status =
        info.si_code == CLD_EXITED ? W_EXITCODE(info.si_status, 0) : W_EXITCODE(0, info.si_status);
    return true;
  }

  static std::string DescribeEnd(int status) {
    if (status < 0) return "ended";
    if (WIFEXITED(status)) return StrCat("exited with status ", WEXITSTATUS(status));
    const int sig = WTERMSIG(status);
    return StrCat("killed by signal ", sig, " (", strsignal(sig), ")");
  }

  // After its stdout or stdin closed: how the process ended, given until the
  // deadline (at most a second) to end, else `otherwise`.
  std::string EndedOr(const std::string& otherwise, Clock::time_point deadline) const {
    deadline = std::min(deadline, Clock::now() + kExitGrace);
    auto pause = std::chrono::microseconds(100);
    int status = 0;
    while (true) {
      if (HasEnded(&status)) return DescribeEnd(status) + " before replying";
      if (Clock::now() >= deadline) return otherwise;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(10000));
    }
  }

  // Kills the process group and reaps the process; the next Score starts it
  // again.
  void Stop() const {
    if (pid_ <= 0) return;
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    close(to_child_);
    close(from_child_);
    pid_ = -1;
    to_child_ = from_child_ = -1;
    buffer_.clear();
  }

  // EOF on its stdin is its cue to exit; one that does not is killed.
  void Shutdown() const {
    if (pid_ <= 0) return;
    close(to_child_);
    to_child_ = -1;
    const auto deadline = Clock::now() + kExitGrace;
    int status = 0;
    while (!HasEnded(&status) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    close(from_child_);
    pid_ = -1;
  }

  // A failed sample; `restart`: the process's output can no longer be
  // matched to requests, so it is killed and started again on the next call.
  Outcome Fail(const std::string& reason, bool restart) const {
    if (restart) Stop();
    return {0, false, true, StrCat("reward command ", name_, ": ", reason), ""};
  }

  std::vector<std::string> command_;
  std::string name_;     // the command joined with spaces
  std::string program_;  // the file execv runs
  RewardOptions options_;
  mutable pid_t pid_ = -1;
  mutable int to_child_ = -1, from_child_ = -1;
  mutable std::string buffer_;  // what it wrote past the last reply read
  mutable uint64_t last_id_ = 0;
  mutable int restarts_ = 0;  // after deaths between requests
};

}  // namespace

std::unique_ptr<RewardFunction> MakeCommandReward(const std::vector<std::string>& command,
                                                  const RewardOptions& options) {
  std::string name;
  for (const auto& part : command) name += (name.empty() ? "" : " ") + part;
  if (command.empty() || command[0].empty()) {
    throw std::invalid_argument(StrCat("reward command [", name, "]: no program"));
  }
  if (!(options.plugin_timeout_s > 0)) {
    throw std::invalid_argument(StrCat("reward command ", name, ": timeout must be > 0"));
  }
  std::string program = process_io::FindProgram(command[0]);
  if (program.empty()) {
    throw std::invalid_argument(StrCat("reward command ", name, ": ", command[0],
                                       command[0].find('/') == std::string::npos
                                           ? " not found on PATH"
                                           : " is not an executable file"));
  }
  return std::make_unique<CommandReward>(command, name, std::move(program), options);
}

}  // namespace crescent::reward
