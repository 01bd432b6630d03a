// A C++ program compiled inside the sandbox (g++ in a writable run), then run
// read-only: it passes with its output captured, and its hostile modes (a
// fork bomb, allocating without bound, one huge allocation, a file past the
// size limit, a crash, writing its own directory) are contained with the
// right reason.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "reward/sandbox.hpp"
#include "tests/reward/sandbox_fixture.hpp"

using namespace crescent::reward;
using namespace crescent::reward::testing;

namespace {

constexpr const char* kProgram = R"(#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "hello";
  if (mode == "hello") {
    std::string name;
    std::getline(std::cin, name);
    std::cout << "hello, " << name << " from C++" << std::endl;
    return 0;
  }
  if (mode == "fork") {
    while (true) fork();
  }
  if (mode == "alloc") {
    std::vector<char*> blocks;
    while (true) {
      char* p = new char[1 << 20];
      std::memset(p, 1, 1 << 20);
      blocks.push_back(p);
    }
  }
  if (mode == "huge") {
    char* p = new char[size_t{1} << 46];
    p[0] = 1;
    return p[0];
  }
  if (mode == "bigfile") {
    FILE* f = std::fopen("/tmp/big", "wb");
    static char block[1 << 16];
    while (true) std::fwrite(block, 1, sizeof(block), f);
  }
  if (mode == "segv") {
    volatile int* p = nullptr;
    return *p;
  }
  if (mode == "write-box") {
    FILE* f = std::fopen("/box/pwned", "w");
    if (!f) {
      std::perror("/box/pwned");
      return 1;
    }
    return 0;
  }
  return 2;
}
)";

TEST_CASE("a C++ program compiled in the sandbox runs and its attacks are contained",
          "[sandbox][security]") {
  Sandbox& sandbox = TheSandbox();
  auto dir = sandbox.NewDir();
  dir->Write("hostile.cpp", kProgram);
  SandboxLimits compile;
  compile.cpu_s = 30;
  compile.wall_s = 60;
  compile.memory_mb = 1024;
  compile.file_mb = 64;
  const SandboxResult built =
      sandbox.Run(*dir, {"g++", "-O1", "-o", "hostile", "hostile.cpp"}, "", compile, true);
  INFO(Show(built));
  REQUIRE(built.Passed());

  auto run = [&](const std::string& mode, const SandboxLimits& limits,
                 const std::string& stdin_text = "") {
    return sandbox.Run(*dir, {"./hostile", mode}, stdin_text, limits);
  };
  SandboxResult r = run("hello", {}, "sandbox\n");
  INFO(Show(r));
  CHECK(r.Passed());
  CHECK(r.out == "hello, sandbox from C++\n");

  SandboxLimits limits;
  limits.processes = 8;
  limits.wall_s = 2;
  const std::string token = "crescent-cxx-bomb-" + std::to_string(getpid());
  r = sandbox.Run(*dir, {"./hostile", "fork", token}, "", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kTimeLimit);
  CHECK(r.wall_s < 5);
  CHECK(ProcessesWith(token) == 0);

  limits = {};
  limits.memory_mb = 64;
  r = run("alloc", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kMemoryLimit);
  CHECK(r.Describe() == "memory limit (64 MiB)");
  r = run("huge", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kMemoryLimit);
  CHECK_THAT(r.err, Catch::Contains("std::bad_alloc"));

  limits = {};
  limits.file_mb = 4;
  r = run("bigfile", limits);
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kSignaled);
  CHECK(r.signal == SIGXFSZ);
  CHECK(r.Describe() == "file size limit (4 MiB)");

  r = run("segv", {});
  CHECK(r.status == SandboxStatus::kSignaled);
  CHECK(r.signal == SIGSEGV);

  r = run("write-box", {});
  INFO(Show(r));
  CHECK(r.status == SandboxStatus::kExited);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Read-only file system"));
}

}  // namespace
