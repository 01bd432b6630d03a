// The sandbox without cgroups (SandboxOptions::cgroups = false, as on a
// machine where none is writable): rlimits stand in for them, with the
// weakness docs/sandbox.md states: RLIMIT_NPROC is one budget for all of the
// sandbox user's runs.
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <thread>

#include "reward/sandbox.hpp"
#include "tests/reward/sandbox_fixture.hpp"

using namespace crescent::reward;
using namespace crescent::reward::testing;

namespace {

// Held while this test runs, so that two test programs on one machine (two
// CI runs) do not run it at once: they would share the user's budget. An
// abstract socket's name: nothing is left behind.
class MachineLock {
 public:
  explicit MachineLock(const std::string& name) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    const socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
    for (int i = 0; i < 1200 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~MachineLock() { close(fd_); }

 private:
  int fd_;
};

TEST_CASE("without cgroups the rlimit fallbacks still contain a fork bomb and a memory hog",
          "[sandbox][security]") {
  TheSandbox();  // fails with the install hint when there is no bwrap
  MachineLock lock("crescent-sandbox-fallback-test");
  SandboxOptions options;
  options.cgroups = false;
  // The runs go as a user of their own where there is one, so that this
  // test's bomb cannot starve other runs as nobody (another test program's)
  // of processes.
  if (getpwnam("daemon")) options.user = "daemon";
  const auto sandbox = Sandbox::Make(options);
  INFO(sandbox->Enforcement());
  CHECK_THAT(sandbox->Enforcement(), Catch::Contains("RLIMIT_AS"));
  auto dir = sandbox->NewDir();
  dir->Write("bomb.py",
             "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
             "        pass\n");
  dir->Write("hog.py", "x = []\nwhile True:\n    x.append(b'x' * (1 << 20))\n");
  SandboxLimits limits;
  limits.processes = 16;
  limits.wall_s = 2;
  limits.memory_mb = 128;
  const std::string token = "crescent-rlimit-bomb-" + std::to_string(getpid());
  ProcessPeak peak(token);
  SandboxResult r = sandbox->Run(*dir, {"python3", "bomb.py", token}, "", limits);
  const int most = peak.Stop();
  INFO(Show(r) << "\nmost of the bomb's at once " << most);
  CHECK(r.status == SandboxStatus::kTimeLimit);
  if (geteuid() == 0) CHECK(most <= limits.processes + 2);
  CHECK(ProcessesWith(token) == 0);
  r = sandbox->Run(*dir, {"python3", "hog.py"}, "", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kMemoryLimit);
  CHECK_THAT(r.err, Catch::Contains("MemoryError"));
}

TEST_CASE("without cgroups a run left no processes by another is the sandbox's error",
          "[sandbox][security]") {
  if (geteuid() != 0) {
    WARN("not root: runs are not limited by RLIMIT_NPROC without cgroups, nothing to check");
    return;
  }
  TheSandbox();
  MachineLock lock("crescent-sandbox-fallback-test");
  SandboxOptions options;
  options.cgroups = false;
  if (getpwnam("daemon")) options.user = "daemon";
  const auto sandbox = Sandbox::Make(options);
  auto dir = sandbox->NewDir();
  dir->Write("hold.py",
             "import subprocess, time\n"
             "children = [subprocess.Popen(['sleep', '2']) for _ in range(10)]\n"
             "time.sleep(2)\n");
  SandboxLimits holding;
  holding.processes = 16;
  SandboxResult held;
  std::thread holder([&] { held = sandbox->Run(*dir, {"python3", "hold.py"}, "", holding); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  SandboxLimits one;
  one.processes = 1;
  const SandboxResult starved = sandbox->Run(*dir, {"true"}, "", one);
  holder.join();
  INFO(Show(starved));
  CHECK(held.Passed());
  CHECK(starved.status == SandboxStatus::kError);
  CHECK_THAT(starved.error, Catch::Contains("Resource temporarily unavailable"));
}

}  // namespace
