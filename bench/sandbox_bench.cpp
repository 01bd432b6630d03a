// `crescent bench sandbox`: what the code sandbox costs, in one run:
// sandboxed executions per second of a trivial Python program with
// concurrent workers, and the start-up of a full sandbox run against a plain
// fork, exec and wait of the same program (and, as the cheapest start,
// posix_spawn), for /bin/true and for `python3 -c pass`.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/bench.hpp"
#include "bench/int_options.hpp"
#include "bench/timing.hpp"
#include "reward/sandbox.hpp"

namespace crescent::bench {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// The file the sandbox runs for `name`: the first on its PATH
// (/usr/local/bin:/usr/bin:/bin), so that both sides run the same binary.
std::string SandboxBinary(const std::string& name) {
  for (const char* dir : {"/usr/local/bin/", "/usr/bin/", "/bin/"}) {
    const std::string path = dir + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// The environment the sandbox gives its programs, for the plain runs too.
char* const* Environment() {
  static const char* const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                    "LANG=C.UTF-8", nullptr};
  return const_cast<char* const*>(env);
}

// posix_spawn `argv` (stdout and stderr to /dev/null) and wait: whether it
// exited 0. glibc spawns with clone(CLONE_VM | CLONE_VFORK), as the sandbox
// starts bwrap: no page tables copied, the cheapest way to start a program.
bool SpawnRun(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), Environment());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// fork, exec `argv` (stdout and stderr to /dev/null) and wait: whether it
// exited 0. The fork copies this process's page tables: milliseconds for
// the crescent binary, which maps LibTorch.
bool PlainRun(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execve(args[0], args.data(), Environment());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int SandboxBenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::map<std::string, int64_t> o = {
      {"--rounds", 3}, {"--runs", 30}, {"--executions", 60}, {"--workers", 2}};
  if (!ParseIntOptions(args, "bench sandbox", o)) return 2;
  if (o["--rounds"] < 1 || o["--runs"] < 1 || o["--executions"] < 1 || o["--workers"] < 1) {
    out << "sandbox bench: --rounds, --runs, --executions and --workers must be >= 1\n";
    return 2;
  }
  const std::string python = SandboxBinary("python3"), truth = SandboxBinary("true");
  if (python.empty() || truth.empty()) {
    out << "sandbox bench: python3 or true not found in /usr/local/bin, /usr/bin or /bin\n";
    return 1;
  }
  std::unique_ptr<reward::Sandbox> sandbox;
  std::unique_ptr<reward::SandboxDir> dir;
  try {
    sandbox = reward::Sandbox::Make();
    dir = sandbox->NewDir();
    dir->Write("trivial.py", "print(sum(range(100)))\n");
  } catch (const std::exception& e) {
    out << "sandbox bench: " << e.what() << "\n";
    return 1;
  }
  std::atomic<int> errors{0};
  std::string first_error;
  auto sandboxed = [&](const std::vector<std::string>& argv, const std::string& expect) {
    const reward::SandboxResult r = sandbox->Run(*dir, argv, "", {});
    if (!r.Passed() || (!expect.empty() && r.out != expect)) {
      if (errors++ == 0) first_error = r.Describe() + ": " + r.err.substr(0, 500);
    }
  };
  const std::vector<std::string> trivial = {"python3", "trivial.py"};
  // Warm-up: the page cache, Python's own start.
  for (int i = 0; i < 3; ++i) {
    sandboxed(trivial, "4950\n");
    PlainRun({python, "-c", "pass"});
  }

  struct Startup {
    std::string name;
    std::vector<std::string> plain, inside;
    std::vector<double> plain_ms, spawn_ms, sandbox_ms, ratio, spawn_ratio;
  };
  std::vector<Startup> startups(2);
  startups[0].name = "true";
  startups[0].plain = {truth};
  startups[0].inside = {"true"};
  startups[1].name = "python";
  startups[1].plain = {python, "-c", "pass"};
  startups[1].inside = {"python3", "-c", "pass"};
  const int64_t runs = o["--runs"], executions = o["--executions"], workers = o["--workers"];
  std::vector<double> rate;
  for (int64_t round = 0; round < o["--rounds"]; ++round) {
    std::atomic<int64_t> next{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int64_t w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        while (next++ < executions) sandboxed(trivial, "4950\n");
      });
    }
    for (auto& t : threads) t.join();
    rate.push_back(executions / Seconds(t0));
    for (Startup& s : startups) {
      // The three ways in turn, run by run, so that whatever else the
      // machine does weighs on each alike.
      double plain = 0, spawn = 0, inside = 0;
      for (int64_t i = 0; i < runs; ++i) {
        auto start = Clock::now();
        errors += !PlainRun(s.plain);
        plain += Seconds(start);
        start = Clock::now();
        errors += !SpawnRun(s.plain);
        spawn += Seconds(start);
        start = Clock::now();
        sandboxed(s.inside, "");
        inside += Seconds(start);
      }
      s.plain_ms.push_back(plain * 1e3 / runs);
      s.spawn_ms.push_back(spawn * 1e3 / runs);
      s.sandbox_ms.push_back(inside * 1e3 / runs);
      s.ratio.push_back(inside / plain);
      s.spawn_ratio.push_back(inside / spawn);
    }
  }

  json startup = json::object();
  for (const Startup& s : startups) {
    startup[s.name] = {{"plain_fork_exec_ms", Median(s.plain_ms)},
                       {"plain_spawn_ms", Median(s.spawn_ms)},
                       {"sandbox_run_ms", Median(s.sandbox_ms)},
                       {"sandbox_vs_plain", Median(s.ratio)},
                       {"sandbox_vs_spawn", Median(s.spawn_ratio)}};
  }
  json j = {
      {"python_executions_per_s", Median(rate)},
      {"workers", workers},
      {"cpus", std::thread::hardware_concurrency()},
      {"startup", startup},
      {"enforcement", sandbox->Enforcement()},
      {"rounds", o["--rounds"]},
      {"runs_per_round", runs},
      {"executions_per_round", executions},
      {"errors", errors.load()},
  };
  if (!first_error.empty()) j["first_error"] = first_error;
  out << j.dump(2) << "\n";
  return errors == 0 ? 0 : 1;
}

}  // namespace crescent::bench
