// The run's durable progress as the master keeps it: the replay buffer (every
// change committed through its journal, snapshotted every
// replay.snapshot_every commits), the ledger, and resuming from the last
// trainer checkpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.hpp"
#include "master/prompt_feed.hpp"
#include "replay/buffer.hpp"

namespace crescent::master {

// Opens (creating or recovering) the run's replay buffer, logging what
// recovery found. Waits up to 20 s for the lock of a job killed a moment ago.
std::unique_ptr<replay::ReplayBuffer> OpenReplayBuffer(const config::Config& config, env::Env* env);

class Progress {
 public:
  Progress(const config::Config& config, env::Env* env, replay::ReplayBuffer& buffer,
           PromptFeed& feed);

  const replay::BufferState& state() const { return buffer_.state(); }
  // Commits the changes as one record; a snapshot every replay.snapshot_every.
  void Commit(const std::vector<replay::Change>& changes);
  void Sync() { buffer_.Sync(); }

  // Lines the buffer up with the last trainer checkpoint: groups trained
  // after it are ready again, groups it covers leave for the ledger, the
  // sampler takes its saved position. Returns the iteration and policy
  // version to go on from.
  struct Start {
    int64_t iteration = 0;
    proto::PolicyVersion policy_version = 0;
  };
  Start Resume();
  // Where the run is: goes into every record that moves it.
  replay::Position Position(int64_t iteration, proto::PolicyVersion version) const;
  // The checkpoint of `version` is saved: the groups it includes leave the
  // buffer for the ledger. Returns the ledger lines written.
  size_t CheckpointSaved(proto::PolicyVersion version);
  // At the end of the run, what was never trained leaves for the ledger as
  // dropped. Returns the ledger lines written.
  size_t DropUntrained(int64_t iteration);

 private:
  const config::Config& config_;
  env::Env* env_;
  replay::ReplayBuffer& buffer_;
  PromptFeed& feed_;
  replay::Ledger ledger_;
  int64_t commits_since_snapshot_ = 0;
};

}  // namespace crescent::master
