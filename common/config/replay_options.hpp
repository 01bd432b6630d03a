// The replay journal's options (replay/journal.hpp), here so that the config's
// replay section can embed them without including upward: the defaults below
// are the documented defaults of the replay.* keys.
#pragma once

#include <chrono>
#include <cstdint>

namespace crescent::replay {

// replay.fsync: commit, interval, never.
enum class FsyncPolicy {
  kEveryCommit,  // each commit group is fsync'ed before Append returns
  kInterval,     // fsync when fsync_interval has passed since the last one
  kNever,        // left to the OS (and to Sync() / Checkpoint())
};

struct JournalOptions {
  FsyncPolicy fsync_policy = FsyncPolicy::kEveryCommit;  // replay.fsync
  std::chrono::milliseconds fsync_interval{100};         // replay.fsync_interval_ms
  // Largest record accepted by Append and by recovery (no config key).
  uint32_t max_record_bytes = 64u << 20;
  bool create_if_missing = true;  // (no config key)
};

}  // namespace crescent::replay
