#include "common/run/run_dir.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "common/util/log.hpp"

namespace crescent::run {
namespace {

std::string CheckpointsDir(const std::string& run_dir) { return run_dir + "/checkpoints"; }

std::string VersionName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof name, "v%08lld", static_cast<long long>(version));
  return name;
}

// checkpoint.json of DIR into `c`; throws what was wrong.
void ReadCheckpointMeta(env::Env* env, const std::string& dir, Checkpoint& c) {
  const std::string meta = dir + "/checkpoint.json";
  if (!env->FileExists(meta)) throw std::runtime_error("missing");
  nlohmann::json j = nlohmann::json::parse(env->ReadFile(meta));
  c.iteration = j.at("iteration").get<int64_t>();
  c.policy_version = j.at("policy_version").get<int64_t>();
}

}  // namespace

std::string ReplayDir(const std::string& run_dir) { return run_dir + "/replay"; }
std::string LedgerPath(const std::string& run_dir) { return run_dir + "/ledger.jsonl"; }

std::string InitialPolicyDir(const config::Config& c) {
  const std::string sft = c.run.dir + "/sft";
  if (c.model.path.empty() || env::Env::Posix()->FileExists(sft + "/config.json")) return sft;
  return c.model.path;
}

std::optional<Checkpoint> LatestCheckpoint(env::Env* env, const std::string& run_dir) {
  const std::string latest = CheckpointsDir(run_dir) + "/latest";
  if (!env->FileExists(latest)) return std::nullopt;
  std::string name = env->ReadFile(latest);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  Checkpoint c;
  c.dir = CheckpointsDir(run_dir) + "/" + name;
  const std::string meta = c.dir + "/checkpoint.json";
  try {
    if (name.empty()) throw std::runtime_error("missing");
    ReadCheckpointMeta(env, c.dir, c);
  } catch (const std::exception& e) {
    throw std::runtime_error(StrCat(latest, " names checkpoint \"", name, "\", but ", meta,
                                    " is unreadable (", e.what(), ")"));
  }
  return c;
}

std::optional<Checkpoint> LatestCheckpoint(const std::string& run_dir) {
  return LatestCheckpoint(env::Env::Posix(), run_dir);
}

std::vector<Checkpoint> KeptCheckpoints(env::Env* env, const std::string& run_dir) {
  const std::string root = CheckpointsDir(run_dir);
  std::vector<Checkpoint> kept;
  if (!env->FileExists(root)) return kept;
  std::vector<std::string> names;
  for (const std::string& n : env->ListDir(root))
    if (n.size() > 1 && n[0] == 'v' && n.find('.') == std::string::npos) names.push_back(n);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    Checkpoint c;
    c.dir = root + "/" + n;
    if (!env->FileExists(c.dir + "/checkpoint.json")) continue;  // not published
    try {
      ReadCheckpointMeta(env, c.dir, c);
    } catch (const std::exception& e) {
      throw std::runtime_error(StrCat(c.dir, "/checkpoint.json is unreadable (", e.what(), ")"));
    }
    kept.push_back(c);
  }
  return kept;
}

Checkpoint StartingPolicy(const config::Config& config) {
  if (auto c = LatestCheckpoint(config.run.dir)) return *c;
  return Checkpoint{InitialPolicyDir(config), 0, 0};
}

std::string StageCheckpoint(env::Env* env, const std::string& run_dir, int64_t policy_version) {
  const std::string root = CheckpointsDir(run_dir);
  if (!env->FileExists(root)) {
    env->CreateDir(root);
    env->SyncDir(run_dir);
  }
  const std::string dir = root + "/" + VersionName(policy_version) + ".tmp";
  env->RemoveTree(dir);
  env->CreateDir(dir);
  return dir;
}

std::string StageCheckpoint(const std::string& run_dir, int64_t policy_version) {
  return StageCheckpoint(env::Env::Posix(), run_dir, policy_version);
}

Checkpoint PublishCheckpoint(env::Env* env, const std::string& run_dir, const std::string& staged,
                             int64_t iteration, int64_t policy_version) {
  const std::string root = CheckpointsDir(run_dir);
  for (const std::string& name : env->ListDir(staged)) env->SyncFile(staged + "/" + name);
  // Its last step, a directory fsync, also covers the files written before.
  env::WriteFileAtomically(
      env, staged + "/checkpoint.json",
      nlohmann::json{{"iteration", iteration}, {"policy_version", policy_version}}.dump());
  const std::string name = VersionName(policy_version);
  const std::string dir = root + "/" + name;
  env->RemoveTree(dir);
  env->Rename(staged, dir);
  env->SyncDir(root);
  env::WriteFileAtomically(env, root + "/latest", name + "\n");
  // Keep this checkpoint and the newest one before it; remove the rest
  // (older ones, later ones a crash left unpublished, staging leftovers).
  std::vector<std::string> names;
  for (const std::string& n : env->ListDir(root))
    if (n.size() > 1 && n[0] == 'v') names.push_back(n);
  std::sort(names.begin(), names.end());
  std::string previous;
  for (const std::string& n : names)
    if (n < name && n.find('.') == std::string::npos) previous = n;
  for (const std::string& n : names)
    if (n != name && n != previous) env->RemoveTree(root + "/" + n);
  return Checkpoint{dir, iteration, policy_version};
}

Checkpoint PublishCheckpoint(const std::string& run_dir, const std::string& staged,
                             int64_t iteration, int64_t policy_version) {
  return PublishCheckpoint(env::Env::Posix(), run_dir, staged, iteration, policy_version);
}

}  // namespace crescent::run
