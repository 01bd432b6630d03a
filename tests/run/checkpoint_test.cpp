// Trainer checkpoints' bookkeeping (common/run/run_dir.hpp) under a crash at
// every step: what `latest` names after recovery is always a complete
// checkpoint, the one before the crash or the new one.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "common/run/run_dir.hpp"
#include "tests/common/fault_env.hpp"
#include "tests/common/process.hpp"

namespace crescent::run {
namespace {

using env::testing::FaultInjectionEnv;
using Unsynced = FaultInjectionEnv::Unsynced;

// What the trainer writes into a staged checkpoint (by LibTorch and
// SavePretrained), left unsynced: PublishCheckpoint makes it durable.
std::string Weights(int64_t version) { return "weights of version " + std::to_string(version); }
std::string Optimizer(int64_t version) { return "adam state " + std::to_string(version * 7); }

// Stages, writes and publishes checkpoint `version` (iteration 10 * version).
void SaveCheckpoint(env::Env* env, const std::string& run_dir, int64_t version) {
  const std::string staged = StageCheckpoint(env, run_dir, version);
  for (const auto& [name, data] : {std::pair{"model.safetensors", Weights(version)},
                                   std::pair{"optimizer.pt", Optimizer(version)}}) {
    auto f = env->NewWritableFile(staged + "/" + name);
    f->Append(data);
    f->Close();
  }
  PublishCheckpoint(env, run_dir, staged, 10 * version, version);
}

// The latest checkpoint is whole: every file as written. Returns its version.
int64_t CheckLatestIsComplete(env::Env* env, const std::string& run_dir) {
  const std::optional<Checkpoint> c = LatestCheckpoint(env, run_dir);
  if (!c) return 0;
  CHECK(c->iteration == 10 * c->policy_version);
  CHECK(env->ReadFile(c->dir + "/model.safetensors") == Weights(c->policy_version));
  CHECK(env->ReadFile(c->dir + "/optimizer.pt") == Optimizer(c->policy_version));
  return c->policy_version;
}

TEST_CASE("a checkpoint crashed at any step leaves the old or the new one latest", "[run]") {
  // The crashed life publishes versions 2 and 3 after a durable version 1.
  auto scenario = [](FaultInjectionEnv& env, const std::string& run_dir, int64_t* published) {
    for (int64_t v : {2, 3}) {
      try {
        SaveCheckpoint(&env, run_dir, v);
      } catch (const std::exception&) {
        CHECK(env.refused());  // only a crashed "process" fails
        return;
      }
      if (!env.refused()) *published = v;
    }
  };
  long total;
  {
    const std::string run_dir = crescent::testing::TempDir("crescent-run");
    FaultInjectionEnv env;
    int64_t published = 1;
    SaveCheckpoint(&env, run_dir, 1);
    const long before = env.ops();
    scenario(env, run_dir, &published);
    total = env.ops() - before;
    REQUIRE(published == 3);
    CHECK(CheckLatestIsComplete(&env, run_dir) == 3);
  }
  REQUIRE(total > 20);
  for (Unsynced unsynced : {Unsynced::kLost, Unsynced::kTorn}) {
    for (long k = 0; k <= total; ++k) {
      const std::string run_dir = crescent::testing::TempDir("crescent-run");
      FaultInjectionEnv env;
      SaveCheckpoint(&env, run_dir, 1);
      env.CrashAfter(env.ops() + k);
      int64_t published = 1;
      scenario(env, run_dir, &published);
      env.DropUnsyncedData(unsynced);
      INFO("crash after " << k << " of " << total << " calls");
      // Resume: the latest checkpoint is complete and at least the last one
      // whose publication returned before the crash.
      const int64_t latest = CheckLatestIsComplete(&env, run_dir);
      CHECK(latest >= published);
      CHECK(latest <= published + 1);
      // The resumed run checkpoints again over whatever the crash left.
      SaveCheckpoint(&env, run_dir, latest + 1);
      CHECK(CheckLatestIsComplete(&env, run_dir) == latest + 1);
      // At most two checkpoints are kept, and no staging directory.
      size_t kept = 0;
      for (const std::string& name : env.ListDir(run_dir + "/checkpoints")) {
        if (name[0] != 'v') continue;
        CHECK(name.find(".tmp") == std::string::npos);
        ++kept;
      }
      CHECK(kept <= 2);
    }
  }
}

TEST_CASE("latest naming a missing checkpoint is refused naming the file", "[run]") {
  const std::string run_dir = crescent::testing::TempDir("crescent-run");
  env::Env* env = env::Env::Posix();
  CHECK_FALSE(LatestCheckpoint(env, run_dir).has_value());
  SaveCheckpoint(env, run_dir, 4);
  env->RemoveTree(run_dir + "/checkpoints/v00000004");
  CHECK_THROWS_WITH(LatestCheckpoint(run_dir), Catch::Contains(run_dir + "/checkpoints/latest") &&
                                                   Catch::Contains("v00000004"));
}

}  // namespace
}  // namespace crescent::run
