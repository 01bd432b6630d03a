#include "common/run/run_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "common/util/log.hpp"

namespace crescent::run {
namespace fs = std::filesystem;
namespace {

std::string CheckpointsDir(const std::string& run_dir) { return run_dir + "/checkpoints"; }

std::string VersionName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof name, "v%08lld", static_cast<long long>(version));
  return name;
}

void Fsync(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(StrCat("open ", path, ": ", std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error(StrCat("fsync ", path, ": ", std::strerror(err)));
}

void WriteFileDurably(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
  }
  Fsync(path, false);
}

}  // namespace

std::string ReplayDir(const std::string& run_dir) { return run_dir + "/replay"; }
std::string LedgerPath(const std::string& run_dir) { return run_dir + "/ledger.jsonl"; }

std::string InitialPolicyDir(const config::Config& c) {
  return c.model.path.empty() ? c.run.dir + "/sft" : c.model.path;
}

std::optional<Checkpoint> LatestCheckpoint(const std::string& run_dir) {
  const std::string latest = CheckpointsDir(run_dir) + "/latest";
  std::ifstream in(latest);
  if (!in) return std::nullopt;
  std::string name;
  std::getline(in, name);
  Checkpoint c;
  c.dir = CheckpointsDir(run_dir) + "/" + name;
  const std::string meta = c.dir + "/checkpoint.json";
  try {
    std::ifstream m(meta);
    if (!m) throw std::runtime_error("missing");
    nlohmann::json j = nlohmann::json::parse(m);
    c.iteration = j.at("iteration").get<int64_t>();
    c.policy_version = j.at("policy_version").get<int64_t>();
  } catch (const std::exception& e) {
    throw std::runtime_error(StrCat(latest, " names checkpoint \"", name, "\", but ", meta,
                                    " is unreadable (", e.what(), ")"));
  }
  return c;
}

Checkpoint StartingPolicy(const config::Config& config) {
  if (auto c = LatestCheckpoint(config.run.dir)) return *c;
  return Checkpoint{InitialPolicyDir(config), 0, 0};
}

std::string StageCheckpoint(const std::string& run_dir, int64_t policy_version) {
  const std::string dir = CheckpointsDir(run_dir) + "/" + VersionName(policy_version) + ".tmp";
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Checkpoint PublishCheckpoint(const std::string& run_dir, const std::string& staged,
                             int64_t iteration, int64_t policy_version) {
  const std::string root = CheckpointsDir(run_dir);
  WriteFileDurably(
      staged + "/checkpoint.json",
      nlohmann::json{{"iteration", iteration}, {"policy_version", policy_version}}.dump());
  for (const auto& entry : fs::directory_iterator(staged)) Fsync(entry.path().string(), false);
  Fsync(staged, true);
  const std::string name = VersionName(policy_version);
  const std::string dir = root + "/" + name;
  fs::remove_all(dir);
  fs::rename(staged, dir);
  Fsync(root, true);
  WriteFileDurably(root + "/latest.tmp", name + "\n");
  fs::rename(root + "/latest.tmp", root + "/latest");
  Fsync(root, true);
  // Keep this checkpoint and the newest one before it; remove the rest
  // (older ones, later ones a crash left unpublished, staging leftovers).
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string n = entry.path().filename().string();
    if (n.size() > 1 && n[0] == 'v') names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  std::string previous;
  for (const std::string& n : names)
    if (n < name && n.find('.') == std::string::npos) previous = n;
  for (const std::string& n : names)
    if (n != name && n != previous) fs::remove_all(root + "/" + n);
  return Checkpoint{dir, iteration, policy_version};
}

}  // namespace crescent::run
