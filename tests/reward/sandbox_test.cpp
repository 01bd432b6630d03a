// The code sandbox (reward/sandbox.hpp): ordinary programs run and their
// output, exit status and crashes come back; runs go on concurrently; the
// sample directory is written, protected and removed as documented. The
// hostile programs are in sandbox_security_test.cpp.
#include "reward/sandbox.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/reward/sandbox_fixture.hpp"

using namespace crescent::reward;
using namespace crescent::reward::testing;

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string ReadHostFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("Make names what is missing: bwrap or the user", "[sandbox]") {
  SandboxOptions no_bwrap;
  no_bwrap.bwrap = "/nonexistent/bwrap";
  try {
    Sandbox::Make(no_bwrap);
    FAIL("Make succeeded without bwrap");
  } catch (const std::runtime_error& e) {
    CHECK_THAT(e.what(),
               Catch::Contains("/nonexistent/bwrap") && Catch::Contains("install bubblewrap"));
  }
  if (geteuid() == 0) {
    SandboxOptions no_user;
    no_user.user = "crescent-no-such-user";
    try {
      Sandbox::Make(no_user);
      FAIL("Make succeeded with an unknown user");
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("crescent-no-such-user"));
    }
    SandboxOptions as_root;
    as_root.user = "root";
    CHECK_THROWS_WITH(Sandbox::Make(as_root), Catch::Contains("root on the host"));
  }
}

TEST_CASE("a trivial python3 program passes and its output comes back", "[sandbox]") {
  const SandboxResult r = Python(
      "import sys\nprint('hello', sys.argv[1])\nprint('to stderr', file=sys.stderr)\n"
      "print(sys.stdin.read().upper(), end='')\n",
      {}, {"world"}, "given on stdin\n");
  INFO(Show(r));
  CHECK(r.Passed());
  CHECK(r.Describe() == "exit status 0");
  CHECK(r.out == "hello world\nGIVEN ON STDIN\n");
  CHECK(r.err == "to stderr\n");
  CHECK(r.wall_s > 0);
  CHECK(r.wall_s < 5);
}

TEST_CASE("exit statuses and crashes are told apart", "[sandbox]") {
  SandboxResult r = Python("import sys\nsys.exit(3)\n");
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code == 3);
  CHECK(r.Describe() == "exit status 3");
  CHECK_FALSE(r.Passed());
  r = Python("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n");
  CHECK(r.status == SandboxStatus::kSignaled);
  CHECK(r.signal == SIGSEGV);
  CHECK(r.Describe() == "killed by signal 11 (Segmentation fault)");
  r = Python("import os\nos.abort()\n");
  CHECK(r.status == SandboxStatus::kSignaled);
  CHECK(r.signal == SIGABRT);
  // A program that is not there fails the run; it is not the sandbox's error.
  auto dir = TheSandbox().NewDir();
  r = TheSandbox().Run(*dir, {"no-such-program"}, "", {});
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code != 0);
}

TEST_CASE("the environment inside is the documented one", "[sandbox]") {
  setenv("CRESCENT_SANDBOX_TEST_SECRET", "leaked-from-the-service", 1);
  auto dir = TheSandbox().NewDir();
  const SandboxResult r = TheSandbox().Run(
      *dir,
      {"sh", "-c",
       "env | sort; pwd; hostname; id -u; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; "
       "unshare -U true 2>/dev/null || echo no nested user namespace; "
       "df -k /tmp | tail -1 | awk '{print \"tmp_kb=\" $2}'; ps -e -o comm="},
      "", {});
  unsetenv("CRESCENT_SANDBOX_TEST_SECRET");
  INFO(Show(r));
  REQUIRE(r.Passed());
  CHECK_THAT(r.out, Catch::Contains("HOME=/tmp\nLANG=C.UTF-8\n"));
  CHECK_THAT(r.out, Catch::Contains("PATH=/usr/local/bin:/usr/bin:/bin\n"));
  CHECK_THAT(r.out, !Catch::Contains("leaked-from-the-service"));
  CHECK_THAT(r.out, Catch::Contains("\n/box\nsandbox\n"));
  if (geteuid() == 0) CHECK_THAT(r.out, Catch::Contains("\n65534\n"));
  // No way back to privileges: no set-user-ID gains, no capabilities, no
  // user namespace of its own to gain them in.
  CHECK_THAT(r.out, Catch::Contains("NoNewPrivs:\t1\n"));
  CHECK_THAT(r.out, Catch::Contains("CapEff:\t0000000000000000\n"));
  CHECK_THAT(r.out, Catch::Contains("no nested user namespace\n"));
  CHECK_THAT(r.out, Catch::Contains("tmp_kb=65536\n"));
  // Its own PID namespace: bwrap's init, then the shell and its children;
  // none of the host's processes.
  CHECK_THAT(r.out, Catch::Contains("tmp_kb=65536\nbwrap\nsh\n"));
  CHECK_THAT(r.out, !Catch::Contains("test_sandbox"));
}

TEST_CASE("bad limits and arguments are the sandbox's error", "[sandbox]") {
  auto dir = TheSandbox().NewDir();
  SandboxLimits limits;
  limits.wall_s = 0;
  SandboxResult r = TheSandbox().Run(*dir, {"true"}, "", limits);
  CHECK(r.status == SandboxStatus::kError);
  CHECK_THAT(r.Describe(), Catch::StartsWith("sandbox error: ") && Catch::Contains("wall_s"));
  r = TheSandbox().Run(*dir, {}, "", {});
  CHECK(r.status == SandboxStatus::kError);
  CHECK_THROWS_WITH(dir->Write("a/b", "x"), Catch::Contains("a/b"));
  CHECK_THROWS(dir->Write("..", "x"));
}

TEST_CASE("Describe names each limit with its value", "[sandbox]") {
  SandboxResult r;
  r.limits.wall_s = 5;
  r.limits.cpu_s = 2;
  r.status = SandboxStatus::kTimeLimit;
  CHECK(r.Describe() == "time limit (5 s wall)");
  r.cpu_time = true;
  CHECK(r.Describe() == "CPU time limit (2 s)");
  r.status = SandboxStatus::kMemoryLimit;
  CHECK(r.Describe() == "memory limit (512 MiB)");
  r.status = SandboxStatus::kOutputLimit;
  CHECK(r.Describe() == "output limit (1024 KiB)");
  r.status = SandboxStatus::kSignaled;
  r.signal = SIGXFSZ;
  CHECK(r.Describe() == "file size limit (16 MiB)");
  r.status = SandboxStatus::kError;
  r.error = "fork: out of memory";
  CHECK(r.Describe() == "sandbox error: fork: out of memory");
}

TEST_CASE("stdin is fed in full and a program that does not read it ends normally", "[sandbox]") {
  auto dir = TheSandbox().NewDir();
  std::string big;
  for (int i = 0; big.size() < (1 << 20); ++i) big += std::to_string(i) + "\n";
  SandboxLimits limits;
  limits.output_kb = 2048;
  SandboxResult r = TheSandbox().Run(*dir, {"cat"}, big, limits);
  INFO(r.Describe());
  CHECK(r.Passed());
  CHECK(r.out == big);
  // Its stdin closes with megabytes unwritten: no SIGPIPE ends this test.
  r = TheSandbox().Run(*dir, {"true"}, big + big + big + big, {});
  CHECK(r.Passed());
}

TEST_CASE("eight runs at once each get their own output", "[sandbox]") {
  Sandbox& sandbox = TheSandbox();
  auto dir = sandbox.NewDir();
  dir->Write("echo.py",
             "import sys, time\ntime.sleep(0.2)\n"
             "print(sys.argv[1] * 3, sys.stdin.read())\n");
  std::vector<SandboxResult> results(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      results[i] = sandbox.Run(*dir, {"python3", "echo.py", std::to_string(i)},
                               "in" + std::to_string(i), {});
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    INFO(i << ": " << Show(results[i]));
    CHECK(results[i].Passed());
    const std::string n = std::to_string(i);
    CHECK(results[i].out == n + n + n + " in" + n + "\n");
  }
}

TEST_CASE("a writable run's files land in the directory and links it leaves are never followed",
          "[sandbox]") {
  Sandbox& sandbox = TheSandbox();
  // A host file the links point at: the service (root) must neither write
  // through them nor remove what they name.
  char target_path[] = "/tmp/crescent-sandbox-target-XXXXXX";
  const int fd = mkstemp(target_path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "original", 8) == 8);
  close(fd);
  const std::string target = target_path;
  std::string path;
  {
    auto dir = sandbox.NewDir();
    path = dir->path();
    dir->Write("make.sh", "#!/bin/sh\n", true);
    const std::string script =
        "echo made > made.txt && ln -s " + target + " link && ln -s " + target +
        " make.sh.link && mkdir -p locked/inner && echo x > locked/inner/f && "
        "chmod 000 locked/inner locked && d=deep; for i in $(seq 40); do d=$d/d; done; "
        "mkdir -p $d && echo x > $d/f && echo done";
    const SandboxResult made = sandbox.Run(*dir, {"sh", "-c", script}, "", {}, true);
    INFO(Show(made));
    REQUIRE(made.Passed());
    CHECK(ReadHostFile(path + "/made.txt") == "made\n");
    struct stat st;
    REQUIRE(stat((path + "/make.sh").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
    // Written by the service over the link: the link is replaced.
    dir->Write("link", "replaced");
    CHECK(ReadHostFile(target) == "original");
    CHECK(ReadHostFile(path + "/link") == "replaced");
    // A read-only run sees the directory but cannot change it.
    const SandboxResult ro =
        sandbox.Run(*dir, {"sh", "-c", "cat made.txt link; echo x > new.txt"}, "", {});
    CHECK(ro.out == "made\nreplaced");
    CHECK(ro.status == SandboxStatus::kExited);
    CHECK_THAT(ro.err, Catch::Contains("Read-only file system"));
    CHECK_FALSE(Exists(path + "/new.txt"));
  }
  CHECK_FALSE(Exists(path));
  CHECK(ReadHostFile(target) == "original");
  std::remove(target.c_str());
}

// This process's children that are zombies.
int Zombies() {
  int count = 0;
  DIR* proc = opendir("/proc");
  while (dirent* e = proc ? readdir(proc) : nullptr) {
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || !std::getline(in, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    count += state == "Z" && ppid == getpid();
  }
  if (proc) closedir(proc);
  return count;
}

TEST_CASE("a service that adopts orphans (a container's PID 1) is left no zombies", "[sandbox]") {
  Sandbox& sandbox = TheSandbox();
  auto dir = sandbox.NewDir();
  // As PID 1 or a subreaper, this process adopts bwrap's init when bwrap
  // exits; the run must reap it.
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  for (int i = 0; i < 5; ++i) CHECK(sandbox.Run(*dir, {"true"}, "", {}).Passed());
  SandboxLimits limits;
  limits.wall_s = 0.5;
  CHECK(sandbox.Run(*dir, {"sleep", "10"}, "", limits).status == SandboxStatus::kTimeLimit);
  const int zombies = Zombies();
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  CHECK(zombies == 0);
}

}  // namespace
