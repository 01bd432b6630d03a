#include "reward/plugin_reward.hpp"

#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "common/util/log.hpp"
#include "reward/plugin_abi.h"

namespace crescent::reward {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kErrorCapacity = 1024;

// What the child writes to the pipe: this header, then `error_length` bytes.
struct ChildReply {
  double reward;
  int32_t correct;
  uint32_t error_length;
};

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n, size -= static_cast<size_t>(n);
  }
  return true;
}

int MillisecondsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

class PluginReward : public RewardFunction {
 public:
  PluginReward(std::string path, void* handle, crescent_reward_fn reward,
               crescent_reward_correct_fn correct, const RewardOptions& options)
      : path_(std::move(path)),
        handle_(handle),
        reward_(reward),
        correct_(correct),
        options_(options) {}
  ~PluginReward() override { dlclose(handle_); }

  Outcome Score(const task::Prompt& prompt, const std::string& response) const override {
    const std::string metadata_json = nlohmann::json(prompt.metadata).dump();
    int fds[2];
    if (pipe(fds) != 0) return Fail(StrCat("pipe: ", std::strerror(errno)));
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]), close(fds[1]);
      return Fail(StrCat("fork: ", std::strerror(errno)));
    }
    if (pid == 0) RunChild(fds[1], prompt.text, response, metadata_json);  // never returns
    close(fds[1]);
    Outcome out = Collect(fds[0], pid);
    close(fds[0]);
    return out;
  }

 private:
  [[noreturn]] void RunChild(int fd, const std::string& prompt, const std::string& response,
                             const std::string& metadata_json) const {
    setpgid(0, 0);  // so that a timeout kills whatever the plug-in started too
    // The caller's crash handlers (a test framework's, a backtrace printer)
    // must not run in the child: a crash here just ends it.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGPIPE}) {
      signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    char error[kErrorCapacity] = {0};
    ChildReply reply{};
    reply.reward =
        reward_(prompt.c_str(), response.c_str(), metadata_json.c_str(), error, sizeof(error) - 1);
    error[sizeof(error) - 1] = '\0';
    reply.correct = correct_
                        ? (correct_(prompt.c_str(), response.c_str(), metadata_json.c_str()) != 0)
                        : (reply.reward > 0);
    reply.error_length = static_cast<uint32_t>(strnlen(error, sizeof(error)));
    const bool ok = WriteAll(fd, &reply, sizeof(reply)) && WriteAll(fd, error, reply.error_length);
    _exit(ok ? 0 : 1);
  }

  Outcome Collect(int fd, pid_t pid) const {
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options_.plugin_timeout_s));
    std::string bytes;
    bool eof = false, timed_out = false;
    char buffer[4096];
    auto complete = [&] {
      if (bytes.size() < sizeof(ChildReply)) return false;
      ChildReply r;
      std::memcpy(&r, bytes.data(), sizeof(r));
      return bytes.size() >= sizeof(ChildReply) + r.error_length;
    };
    while (!eof && !complete()) {
      pollfd p{fd, POLLIN, 0};
      const int ready = poll(&p, 1, MillisecondsLeft(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        timed_out = ready == 0;
        break;
      }
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
      } else {
        bytes.append(buffer, static_cast<size_t>(n));
      }
    }
    int status = 0;
    const bool exited = Reap(pid, timed_out ? Clock::now() : deadline, &status);
    if (timed_out) return Fail(StrCat("timed out after ", options_.plugin_timeout_s, " s"));
    if (!complete()) {
      if (exited && WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return Fail(StrCat("crashed: killed by signal ", sig, " (", strsignal(sig), ")"));
      }
      if (exited && WIFEXITED(status)) {
        return Fail(StrCat("exited with status ", WEXITSTATUS(status), " without a result"));
      }
      return Fail("no result");
    }
    ChildReply r;
    std::memcpy(&r, bytes.data(), sizeof(r));
    const std::string error = bytes.substr(sizeof(ChildReply), r.error_length);
    if (!error.empty()) return Fail(StrCat("reported: ", error));
    if (!std::isfinite(r.reward))
      return Fail(StrCat("returned a non-finite reward (", r.reward, ")"));
    return {r.reward, r.correct != 0, true, "", ""};
  }

  // Waits for the child until `deadline`, then kills its process group.
  // Returns whether `status` holds its exit status.
  static bool Reap(pid_t pid, Clock::time_point deadline, int* status) {
    auto pause = std::chrono::microseconds(100);
    while (true) {
      const pid_t r = waitpid(pid, status, WNOHANG);
      if (r == pid) return true;
      if (r < 0 && errno != EINTR) return false;  // e.g. SIGCHLD ignored: already reaped
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(10000));
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
    return false;
  }

  Outcome Fail(const std::string& reason) const {
    return {0, false, true, StrCat("reward plug-in ", path_, ": ", reason), ""};
  }

  std::string path_;
  void* handle_;
  crescent_reward_fn reward_;
  crescent_reward_correct_fn correct_;
  RewardOptions options_;
};

}  // namespace

std::unique_ptr<RewardFunction> LoadPluginReward(const std::string& path,
                                                 const RewardOptions& options) {
  if (!(options.plugin_timeout_s > 0)) {
    throw std::invalid_argument(StrCat("reward plug-in ", path, ": timeout must be > 0"));
  }
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw std::runtime_error(StrCat("reward plug-in ", path, ": ", dlerror()));
  auto reward = reinterpret_cast<crescent_reward_fn>(dlsym(handle, "crescent_reward"));
  if (!reward) {
    dlclose(handle);
    throw std::runtime_error(StrCat("reward plug-in ", path,
                                    ": does not export crescent_reward (see reward/plugin_abi.h)"));
  }
  auto correct =
      reinterpret_cast<crescent_reward_correct_fn>(dlsym(handle, "crescent_reward_correct"));
  return std::make_unique<PluginReward>(path, handle, reward, correct, options);
}

}  // namespace crescent::reward
