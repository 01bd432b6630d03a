// The Env (common/env/env.hpp): the POSIX one, the fault-injecting one the
// crash tests use (tests/common/fault_env.hpp), and the one atomic-write
// routine under a crash at every step.
#include "common/env/env.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "tests/common/fault_env.hpp"
#include "tests/common/process.hpp"

namespace crescent::env {
namespace {

using testing::FaultInjectionEnv;
using Unsynced = FaultInjectionEnv::Unsynced;

void Write(Env* env, const std::string& path, const std::string& data, bool sync) {
  auto f = env->NewWritableFile(path);
  f->Append(data);
  if (sync) f->Sync();
  f->Close();
}

TEST_CASE("posix env: files, directories, clock and errors naming the path", "[env]") {
  Env* env = Env::Posix();
  const std::string dir = crescent::testing::TempDir("crescent-env");
  env->CreateDir(dir + "/a");
  env->CreateDir(dir + "/a");  // exists: fine
  Write(env, dir + "/a/f", "data", true);
  env->SyncFile(dir + "/a/f");
  env->SyncDir(dir + "/a");
  CHECK(env->ListDir(dir + "/a") == std::vector<std::string>{"f"});
  env->RemoveTree(dir + "/a");
  CHECK_FALSE(env->FileExists(dir + "/a"));
  env->RemoveTree(dir + "/a");  // missing: fine
  CHECK_THROWS_WITH(env->ReadFile(dir + "/missing"), Catch::Contains(dir + "/missing"));
  CHECK_THROWS_AS(env->SyncFile(dir + "/missing"), IoError);
  const uint64_t t0 = env->NowMicros();
  env->SleepForMicroseconds(2000);
  CHECK(env->NowMicros() - t0 >= 2000);
  CHECK(Dirname("a/b/c") == "a/b");
  CHECK(Dirname("c") == ".");
  CHECK(Dirname("/c") == "/");
}

TEST_CASE("fault env: unsynced directories and renames over a file are undone", "[env]") {
  const std::string dir = crescent::testing::TempDir("crescent-env");
  FaultInjectionEnv env;
  Write(&env, dir + "/name", "old", true);
  env.SyncDir(dir);
  env.CreateDir(dir + "/d");
  Write(&env, dir + "/d/f", "in an unsynced directory", true);
  env.SyncDir(dir + "/d");
  Write(&env, dir + "/name.tmp", "new", true);
  env.Rename(dir + "/name.tmp", dir + "/name");
  CHECK(env.ReadFile(dir + "/name") == "new");
  env.DropUnsyncedData();
  CHECK(env.ReadFile(dir + "/name") == "old");
  CHECK_FALSE(env.FileExists(dir + "/d"));
  CHECK_FALSE(env.FileExists(dir + "/name.tmp"));
  // Synced, the same steps stick.
  env.CreateDir(dir + "/d");
  Write(&env, dir + "/name.tmp", "new", true);
  env.Rename(dir + "/name.tmp", dir + "/name");
  env.SyncDir(dir);
  env.DropUnsyncedData();
  CHECK(env.ReadFile(dir + "/name") == "new");
  CHECK(env.FileExists(dir + "/d"));
}

TEST_CASE("fault env: a torn write keeps a prefix of the unsynced bytes", "[env]") {
  const std::string dir = crescent::testing::TempDir("crescent-env");
  FaultInjectionEnv env;
  auto f = env.NewWritableFile(dir + "/log");
  f->Append("synced|");
  f->Sync();
  env.SyncDir(dir);
  f->Append("12345678");
  env.DropUnsyncedData(Unsynced::kTorn);
  CHECK(env.ReadFile(dir + "/log") == "synced|123");
}

TEST_CASE("fault env: sleeping advances a fake clock", "[env]") {
  FaultInjectionEnv env;
  const uint64_t t0 = env.NowMicros();
  env.SleepForMicroseconds(5'000'000);
  CHECK(env.NowMicros() == t0 + 5'000'000);
}

TEST_CASE("an atomic write crashed at any step leaves the old file or the new one", "[env]") {
  const long total = 5;  // create, append, sync, rename, sync dir
  for (Unsynced unsynced : {Unsynced::kLost, Unsynced::kTorn}) {
    for (long k = 0; k <= total; ++k) {
      const std::string dir = crescent::testing::TempDir("crescent-env");
      FaultInjectionEnv env;
      const std::string path = dir + "/config.yaml";
      WriteFileAtomically(&env, path, "old contents\n");
      const long before = env.ops();
      env.CrashAfter(before + k);
      WriteFileAtomically(&env, path, "new, longer contents\n");
      const bool returned = !env.refused();
      CHECK(env.ops() - before == k);
      env.DropUnsyncedData(unsynced);
      INFO("crash after " << k << " of " << total << " calls");
      const std::string now = env.ReadFile(path);
      if (returned) {
        CHECK(now == "new, longer contents\n");
      } else {
        CHECK((now == "old contents\n" || now == "new, longer contents\n"));
      }
      // The next write goes through, whatever the crash left.
      WriteFileAtomically(&env, path, "again\n");
      CHECK(env.ReadFile(path) == "again\n");
    }
  }
}

}  // namespace
}  // namespace crescent::env
