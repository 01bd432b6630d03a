// The sandbox's security suite: programs submitted as responses that try to
// reach the network, read secrets, write outside their directories, fork-
// bomb, allocate without bound, loop or sleep forever, flood their output,
// fill the disk and kill their parent. Each must be contained and fail with
// its reason; the host, the other samples and this process (standing in for
// the reward service) must be unaffected.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "reward/sandbox.hpp"
#include "tests/reward/sandbox_fixture.hpp"

using namespace crescent::reward;
using namespace crescent::reward::testing;

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Tries each connection; fails (exit 1) when none is made.
constexpr const char* kNetwork = R"(
import socket, sys
port, name = int(sys.argv[1]), sys.argv[2]
errors = []
for addr in [("127.0.0.1", port), ("8.8.8.8", 53)]:
    try:
        socket.create_connection(addr, timeout=2).close()
        print("connected", addr)
    except OSError as e:
        errors.append(f"{addr}: {e}")
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect("\0" + name)
    print("connected to the abstract socket")
except OSError as e:
    errors.append(f"abstract socket: {e}")
try:
    socket.getaddrinfo("example.com", 80)
    print("resolved example.com")
except OSError as e:
    errors.append(f"dns: {e}")
print("\n".join(errors), file=sys.stderr)
sys.exit(1 if len(errors) == 4 else 0)
)";

TEST_CASE("no network: a listener the test starts on loopback sees no connection",
          "[sandbox][security]") {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(listener, 8) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  // And an abstract Unix socket, which belongs to the network namespace.
  const std::string name = "crescent-sandbox-test-" + std::to_string(getpid());
  const int unix_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path + 1, name.data(), name.size());
  const socklen_t un_len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  REQUIRE(bind(unix_listener, reinterpret_cast<sockaddr*>(&un), un_len) == 0);
  REQUIRE(listen(unix_listener, 8) == 0);

  const SandboxResult r = Python(kNetwork, {}, {std::to_string(ntohs(addr.sin_port)), name});
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, !Catch::Contains("connected") && !Catch::Contains("resolved"));
  CHECK_THAT(r.err, Catch::Contains("Connection refused"));
  CHECK_THAT(r.err, Catch::Contains("Network is unreachable"));
  CHECK(accept(listener, nullptr, nullptr) < 0);
  CHECK(errno == EAGAIN);
  CHECK(accept(unix_listener, nullptr, nullptr) < 0);
  close(listener);
  close(unix_listener);
}

TEST_CASE("secrets stay secret: /etc/shadow and a file under /root", "[sandbox][security]") {
  // The secret lives under /root when the tests run as root (as the service
  // does); otherwise in this user's own temporary directory.
  std::string secret_path = "/root/crescent-sandbox-secret-" + std::to_string(getpid());
  if (geteuid() != 0) {
    WARN("not root: the secret goes to /tmp instead of /root");
    secret_path = "/tmp/crescent-sandbox-secret-" + std::to_string(getpid());
  }
  const std::string secret = "s3cret-" + std::to_string(getpid());
  std::ofstream(secret_path) << secret << "\n";
  chmod(secret_path.c_str(), 0600);
  const SandboxResult r = Python(R"(
import sys
failed = 0
for path in sys.argv[1:]:
    try:
        print(path, open(path).read())
    except OSError as e:
        failed += 1
        print(e, file=sys.stderr)
sys.exit(1 if failed == len(sys.argv) - 1 else 0)
)",
                                 {}, {"/etc/shadow", secret_path, "/proc/1/root" + secret_path});
  std::remove(secret_path.c_str());
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, !Catch::Contains(secret) && !Catch::Contains("root:"));
  CHECK_THAT(r.err, Catch::Contains("Permission denied: '/etc/shadow'"));
  CHECK_THAT(r.err, Catch::Contains("No such file or directory: '" + secret_path));
}

TEST_CASE("nothing outside /tmp is written: not the system and not another sample's directory",
          "[sandbox][security]") {
  Sandbox& sandbox = TheSandbox();
  auto other = sandbox.NewDir();
  other->Write("prog.py", "print('mine')\n");
  const std::string pid = std::to_string(getpid());
  const std::vector<std::string> targets = {
      "/usr/crescent-pwned-" + pid, "/etc/crescent-pwned-" + pid, "/root/crescent-pwned-" + pid,
      "/crescent-pwned-" + pid,     "/dev/crescent-pwned-" + pid, "/dev/shm/crescent-pwned-" + pid,
      "/box/crescent-pwned-" + pid, other->path() + "/pwned",     other->path() + "/prog.py"};
  const SandboxResult r = Python(R"(
import sys
wrote = 0
for path in sys.argv[1:]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print("wrote", path)
        wrote += 1
    except OSError as e:
        print(e, file=sys.stderr)
with open("/tmp/scratch", "w") as f:
    f.write("fine")
print("tmp ok")
sys.exit(0 if wrote else 1)
)",
                                 {}, targets);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, !Catch::Contains("wrote"));
  CHECK_THAT(r.out, Catch::Contains("tmp ok"));
  CHECK_THAT(r.err, Catch::Contains("Read-only file system"));
  for (const std::string& path : targets) {
    if (path.find(other->path()) == 0) continue;
    CHECK_FALSE(Exists(path));
  }
  CHECK_FALSE(Exists(other->path() + "/pwned"));
  std::ifstream mine(other->path() + "/prog.py");
  std::string line;
  std::getline(mine, line);
  CHECK(line == "print('mine')");
}

TEST_CASE("a fork bomb is held to the process limit and leaves nothing behind",
          "[sandbox][security]") {
  const std::string token = "crescent-fork-bomb-" + std::to_string(getpid());
  const int before = HostProcesses();
  SandboxLimits limits;
  limits.processes = 16;
  limits.wall_s = 3;
  ProcessPeak peak(token);
  const auto t0 = Clock::now();
  const SandboxResult r = Python(R"(
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
)",
                                 limits, {token});
  const double took = SecondsSince(t0);
  const int most = peak.Stop();
  INFO(Show(r) << "\nhost processes before " << before << ", after " << HostProcesses()
               << "; most of the bomb's at once " << most);
  CHECK(r.status == SandboxStatus::kTimeLimit);
  CHECK_FALSE(r.cpu_time);
  CHECK(r.Describe() == "time limit (3 s wall)");
  CHECK(most > 1);
  CHECK(most <= limits.processes + 2);  // bwrap and its init carry the token too
  CHECK(ProcessesWith(token) == 0);
  CHECK(HostProcesses() < before + 50);  // slack for whatever else runs here
  CHECK(took < limits.wall_s + 5);
}

TEST_CASE("allocating without bound ends at the memory limit", "[sandbox][security]") {
  SandboxLimits limits;
  limits.memory_mb = 128;
  // Touching every page: the cgroup's OOM killer (or, without a memory
  // cgroup, a MemoryError under RLIMIT_AS).
  SandboxResult r = Python("x = []\nwhile True:\n    x.append(b'x' * (1 << 20))\n", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kMemoryLimit);
  CHECK(r.Describe() == "memory limit (128 MiB)");
  // One allocation larger than the machine: MemoryError.
  r = Python("x = bytearray(1 << 46)\n", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kMemoryLimit);
}

TEST_CASE("looping forever ends at the CPU time limit", "[sandbox][security]") {
  SandboxLimits limits;
  limits.cpu_s = 1;
  limits.wall_s = 20;
  SandboxResult r = Python("while True:\n    pass\n", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kTimeLimit);
  CHECK(r.cpu_time);
  CHECK(r.Describe() == "CPU time limit (1 s)");
  CHECK(r.wall_s < 10);
  // One that ignores SIGXCPU is killed a second later.
  r = Python(
      "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n",
      limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kTimeLimit);
  CHECK(r.cpu_time);
}

TEST_CASE("sleeping forever ends at the wall time limit and nothing it started outlives it",
          "[sandbox][security]") {
  SandboxLimits limits;
  limits.wall_s = 1;
  SandboxResult r = Python("import time\ntime.sleep(10 ** 6)\n", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kTimeLimit);
  CHECK_FALSE(r.cpu_time);
  CHECK(r.Describe() == "time limit (1 s wall)");
  CHECK(r.wall_s >= 1);
  CHECK(r.wall_s < 4);
  // With its stdout and stderr closed, so that no end of output comes.
  r = Python("import os, time\nos.close(1)\nos.close(2)\ntime.sleep(10 ** 6)\n", limits);
  CHECK(r.status == SandboxStatus::kTimeLimit);
  CHECK(r.wall_s < 4);
  // A child left running in the background ends with the run.
  const std::string token = "crescent-orphan-" + std::to_string(getpid());
  r = Python(
      "import subprocess, sys\n"
      "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', sys.argv[1]],\n"
      "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
      "print('left it running')\n",
      {}, {token});
  INFO(Show(r));
  CHECK(r.Passed());
  CHECK(r.wall_s < 4);
  CHECK(ProcessesWith(token) == 0);
}

TEST_CASE("flooding stdout or stderr ends at the output limit", "[sandbox][security]") {
  SandboxLimits limits;
  limits.output_kb = 64;
  for (const char* stream : {"stdout", "stderr"}) {
    SandboxResult r = Python(
        std::string("import sys\nwhile True:\n    sys.") + stream + ".write('y' * 4096)\n", limits);
    INFO(stream << ": " << r.Describe());
    CHECK(r.status == SandboxStatus::kOutputLimit);
    CHECK(r.Describe() == "output limit (64 KiB)");
    CHECK(r.out.size() + r.err.size() == 64 * 1024);
    CHECK(r.wall_s < 4);
  }
}

TEST_CASE("filling the disk fails inside and leaves the host's disk alone", "[sandbox][security]") {
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string host_tmp = tmpdir && *tmpdir ? tmpdir : "/tmp";
  struct statvfs before {};
  REQUIRE(statvfs(host_tmp.c_str(), &before) == 0);
  SandboxLimits limits;
  limits.tmp_mb = 16;
  limits.file_mb = 8;
  // Many files of 1 MiB: /tmp fills up.
  SandboxResult r = Python(R"(
i = 0
while True:
    with open(f"/tmp/fill{i}", "wb") as f:
        f.write(b"x" * (1 << 20))
    i += 1
)",
                           limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("No space left on device"));
  // One file past file_mb (Python ignores SIGXFSZ, so the write fails).
  r = Python("with open('/tmp/big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)\n",
             limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kExited);
  CHECK_THAT(r.err, Catch::Contains("File too large"));
  // Its read-only directory: not at all.
  std::string path;
  {
    auto dir = TheSandbox().NewDir();
    path = dir->path();
    dir->Write("fill.py", "open('/box/fill', 'wb').write(b'x' * (1 << 20))\n");
    r = TheSandbox().Run(*dir, {"python3", "fill.py"}, "", limits);
    CHECK(r.status == SandboxStatus::kExited);
    CHECK_THAT(r.err, Catch::Contains("Read-only file system"));
  }
  CHECK_FALSE(Exists(path));
  struct statvfs after {};
  REQUIRE(statvfs(host_tmp.c_str(), &after) == 0);
  const double used_mb =
      (static_cast<double>(before.f_bavail) - after.f_bavail) * before.f_frsize / (1 << 20);
  INFO("host " << host_tmp << ": " << used_mb << " MiB less free than before");
  CHECK(used_mb < 64);  // what it wrote would be 16; others may write too
}

TEST_CASE("killing its parent or everything in sight harms no one outside", "[sandbox][security]") {
  Sandbox& sandbox = TheSandbox();
  auto dir = sandbox.NewDir();
  dir->Write("bystander.py", "import sys, time\ntime.sleep(1.5)\nprint('alive', sys.argv[1])\n");
  dir->Write("killer.py", R"(
import os, signal, sys
os.kill(os.getppid(), signal.SIGKILL)
for pid in (-1, int(sys.argv[1])):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError as e:
        print(pid, e, file=sys.stderr)
os.killpg(0, signal.SIGKILL)
)");
  const std::string me = std::to_string(getpid());
  std::vector<SandboxResult> bystanders(4), killers(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      bystanders[i] = sandbox.Run(*dir, {"python3", "bystander.py", std::to_string(i)}, "", {});
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  threads.emplace_back([&] {
    killers[0] = sandbox.Run(*dir, {"python3", "killer.py", me}, "", {});
  });
  threads.emplace_back([&] {
    killers[1] = sandbox.Run(
        *dir, {"sh", "-c", "kill -9 -1; kill -9 $PPID; kill -9 " + me + "; kill -9 0"}, "", {});
  });
  for (auto& t : threads) t.join();
  for (const SandboxResult& r : killers) {
    INFO(Show(r));
    CHECK(r.status == SandboxStatus::kSignaled);
    CHECK(r.signal == SIGKILL);
    CHECK(r.Describe() == "killed by signal 9 (Killed)");
  }
  for (int i = 0; i < 4; ++i) {
    INFO(Show(bystanders[i]));
    CHECK(bystanders[i].Passed());
    CHECK(bystanders[i].out == "alive " + std::to_string(i) + "\n");
  }
  // This process (the reward service) is still here, and the sandbox works.
  CHECK(sandbox.Run(*dir, {"true"}, "", {}).Passed());
}

}  // namespace
