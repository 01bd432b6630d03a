// `crescent export RUN_DIR OUT_DIR [--version N]`: one kept policy version as
// a Hugging Face directory. Files only: no LibTorch.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <ostream>
#include <stdexcept>

#include "cli/commands.hpp"
#include "common/env/env.hpp"
#include "common/run/run_dir.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"
#include "common/util/log.hpp"

namespace crescent::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = "usage: crescent export RUN_DIR OUT_DIR [--version N]";

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The files of a checkpoint that make up the policy: config.json, the
// safetensors (and a shard index), the tokenizer files. Not optimizer.pt or
// checkpoint.json.
bool IsPolicyFile(const std::string& name) {
  if (name == "config.json" || name == "model.safetensors.index.json") return true;
  if (EndsWith(name, ".safetensors")) return true;
  for (const std::string& f : tok::PolicyTokenizerFileNames())
    if (name == f) return true;
  return false;
}

std::string VersionList(const std::vector<run::Checkpoint>& kept) {
  std::string list;
  for (const auto& c : kept) list += (list.empty() ? "" : ", ") + std::to_string(c.policy_version);
  return list.empty() ? "none" : list;
}

}  // namespace

int ExportCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::vector<std::string> positional;
  std::optional<int64_t> version;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string value;
    if (args[i] == "--version" && i + 1 < args.size()) {
      value = args[++i];
    } else if (args[i].rfind("--version=", 0) == 0) {
      value = args[i].substr(10);
    } else if (args[i].rfind("--", 0) == 0) {
      throw std::runtime_error(StrCat("unknown argument \"", args[i], "\"; ", kUsage));
    } else {
      positional.push_back(args[i]);
      continue;
    }
    size_t used = 0;
    try {
      version = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size())
      throw std::runtime_error(StrCat("--version: \"", value, "\" is not a number; ", kUsage));
  }
  if (positional.size() != 2) throw std::runtime_error(kUsage);
  const std::string run_dir = positional[0];
  fs::path out_path = fs::path(positional[1]).lexically_normal();
  if (out_path.filename().empty()) out_path = out_path.parent_path();  // "out/"
  const std::string out_dir = out_path.string();
  env::Env* const env = env::Env::Posix();

  const std::vector<run::Checkpoint> kept = run::KeptCheckpoints(env, run_dir);
  run::Checkpoint chosen;
  if (version) {
    auto it = std::find_if(kept.begin(), kept.end(),
                           [&](const run::Checkpoint& c) { return c.policy_version == *version; });
    if (it == kept.end()) {
      throw std::runtime_error(StrCat("policy version ", *version, " is not kept in ", run_dir,
                                      "/checkpoints (kept: ", VersionList(kept), ")"));
    }
    chosen = *it;
  } else if (auto latest = run::LatestCheckpoint(env, run_dir)) {
    chosen = *latest;
  } else {
    throw std::runtime_error(
        StrCat(run_dir, "/checkpoints holds no checkpoint (kept: ", VersionList(kept), ")"));
  }

  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    if (!fs::is_directory(out_dir) || !fs::is_empty(out_dir))
      throw std::runtime_error(StrCat(out_dir,
                                      " exists and is not an empty directory; "
                                      "export writes a new directory"));
  }
  // Written next to OUT_DIR, then renamed into place: OUT_DIR is either
  // absent (or empty) or complete.
  const std::string staged = out_dir + ".export-tmp";
  env->RemoveTree(staged);
  env->CreateDir(staged);
  std::vector<std::string> copied;
  for (const std::string& name : env->ListDir(chosen.dir)) {
    if (!IsPolicyFile(name)) continue;
    const std::string to = staged + "/" + name;
    fs::copy_file(chosen.dir + "/" + name, to, ec);
    if (ec) throw std::runtime_error(StrCat("copy ", chosen.dir, "/", name, ": ", ec.message()));
    env->SyncFile(to);
    copied.push_back(name);
  }
  if (std::find(copied.begin(), copied.end(), "config.json") == copied.end())
    throw std::runtime_error(StrCat(chosen.dir, ": no config.json; not a policy checkpoint"));
  env->SyncDir(staged);
  env->Rename(staged, out_dir);
  env->SyncDir(env::Dirname(out_dir));
  std::sort(copied.begin(), copied.end());
  std::string files;
  for (const auto& f : copied) files += " " + f;
  out << "exported policy version " << chosen.policy_version << " (iteration " << chosen.iteration
      << ") from " << chosen.dir << " to " << out_dir << ":" << files << "\n";
  return 0;
}

}  // namespace crescent::cli
