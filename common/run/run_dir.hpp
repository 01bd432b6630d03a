// What a run directory holds, and the trainer checkpoints in it:
//   config.yaml            the effective config (a resumed run must match it)
//   LOCK                   held by the `crescent run` using the directory
//   replay/                the replay buffer's journal (replay/buffer.hpp)
//   ledger.jsonl           every trajectory trained on or dropped
//   checkpoints/latest     names the newest complete checkpoint
//   checkpoints/vNNNNNNNN/ a trainer checkpoint: the policy, optimizer.pt (Adam and the
//                          schedule step, trainer/optimizer.hpp) + checkpoint.json
//   metrics.jsonl, policy/ metrics; the final policy
// No LibTorch here: the master reads checkpoints' metadata only. Every file
// operation goes through an Env (common/env/env.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "common/env/env.hpp"

namespace crescent::run {

std::string ReplayDir(const std::string& run_dir);
std::string LedgerPath(const std::string& run_dir);

// Where RL starts from when no checkpoint exists: the SFT checkpoint
// RUN_DIR/sft when `crescent sft` has written it (its config.json is there),
// else model.path; RUN_DIR/sft also when model.path is empty (the built-in
// model, which only SFT creates).
std::string InitialPolicyDir(const config::Config& config);

struct Checkpoint {
  std::string dir;  // a policy directory (model::LoadPolicy)
  int64_t iteration = 0;
  int64_t policy_version = 0;
};

// The newest complete checkpoint of the run, if any. Throws naming the file
// when `latest` names a missing or unreadable checkpoint.
std::optional<Checkpoint> LatestCheckpoint(env::Env* env, const std::string& run_dir);
std::optional<Checkpoint> LatestCheckpoint(const std::string& run_dir);  // Env::Posix()

// Every complete checkpoint still kept under RUN_DIR/checkpoints (a vNNNNNNNN
// directory with a checkpoint.json; staging leftovers are not), oldest
// first. Throws naming the file when a checkpoint.json is unreadable.
std::vector<Checkpoint> KeptCheckpoints(env::Env* env, const std::string& run_dir);

// The policy every role starts from: the latest checkpoint, else the initial
// policy at version 0.
Checkpoint StartingPolicy(const config::Config& config);

// A fresh, empty directory to write checkpoint `policy_version` into.
std::string StageCheckpoint(env::Env* env, const std::string& run_dir, int64_t policy_version);
std::string StageCheckpoint(const std::string& run_dir, int64_t policy_version);
// Makes a fully written staging directory the latest checkpoint: fsyncs its
// files, writes checkpoint.json, renames the directory into place, points
// `latest` at it (env::WriteFileAtomically), and removes all but the newest
// two checkpoints. A crash at any point leaves `latest` naming a complete
// checkpoint: the previous one (or none, as before) or this one.
Checkpoint PublishCheckpoint(env::Env* env, const std::string& run_dir, const std::string& staged,
                             int64_t iteration, int64_t policy_version);
Checkpoint PublishCheckpoint(const std::string& run_dir, const std::string& staged,
                             int64_t iteration, int64_t policy_version);

}  // namespace crescent::run
