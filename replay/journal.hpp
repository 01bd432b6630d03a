// Durable journal of opaque records driving a user state machine: the whole
// public contract of the replay buffer's durability layer.
//
// A journal directory holds
//   LOCK                 flock'ed by the one process that has it open
//   snapshot-NNNNNN.snap the state machine's state before log segment NNNNNN
//   log-NNNNNN.log       CRC-checked records appended after that snapshot
// Every log and snapshot header holds the state machine's FormatVersion();
// a file of another version is refused with a JournalVersionError naming the
// file and both versions.
// Recovery loads the newest snapshot and replays every log segment numbered
// at or above it. A torn or corrupt tail of the last segment is cut and
// reported; damage followed by valid records, or in a snapshot, is refused
// with a JournalCorruption naming the file and byte offset.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/replay_options.hpp"
#include "common/env/env.hpp"

namespace crescent::replay {

// ---------------------------------------------------------------- errors
// An I/O call failed (errno text included). The Env's error: every Env
// method throws it.
using JournalIoError = env::IoError;

// Persistent data is damaged where it cannot be a torn tail.
class JournalCorruption : public std::runtime_error {
 public:
  JournalCorruption(std::string file, uint64_t offset, const std::string& why);
  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }

 protected:
  struct Message {
    std::string text;
  };
  JournalCorruption(std::string file, uint64_t offset, Message message);

 private:
  std::string file_;
  uint64_t offset_;
};

// A log or snapshot written under another record format version than the
// state machine's: refused whole, never misread. Version 0 names the files
// written before format versions existed.
class JournalVersionError : public JournalCorruption {
 public:
  JournalVersionError(std::string file, uint32_t found, uint32_t supported);
  uint32_t found_version() const { return found_; }
  uint32_t supported_version() const { return supported_; }

 private:
  uint32_t found_;
  uint32_t supported_;
};

// ---------------------------------------------------------------- Env
// All side effects of the journal go through the common Env
// (common/env/env.hpp); the names stay here for the journal's callers.
using env::Env;
using env::FileLock;
using env::WritableFile;

// ---------------------------------------------------------------- journal
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // The version of the encoding of its records and snapshots: written in
  // every log and snapshot header; files of another version are refused.
  virtual uint32_t FormatVersion() const = 0;
  virtual void Apply(std::string_view record) = 0;
  virtual std::string Snapshot() const = 0;
  // Replaces the whole state; called at most once, before any Apply.
  virtual void Restore(std::string_view snapshot) = 0;
};

// FsyncPolicy, JournalOptions: common/config/replay_options.hpp (the config's
// replay section embeds them).

struct RecoveryReport {
  std::string snapshot_file;  // empty when none
  uint64_t records_replayed = 0;
  bool tail_truncated = false;
  std::string truncated_file;  // set when tail_truncated
  uint64_t truncated_offset = 0;
  uint64_t truncated_bytes = 0;
  std::string truncated_reason;
};

struct JournalStats {
  uint64_t records = 0;  // appended since Open
  uint64_t commits = 0;  // commit groups written
  uint64_t fsyncs = 0;
  uint64_t log_number = 0;  // current segment
};

class Journal {
 public:
  // Locks dir, recovers into sm, opens the log for append. sm must outlive
  // the Journal. Throws JournalCorruption (JournalVersionError) /
  // JournalIoError.
  static std::unique_ptr<Journal> Open(Env* env, const std::string& dir,
                                       const JournalOptions& options, StateMachine& sm,
                                       RecoveryReport* report = nullptr);
  // Recovers dir's state into sm without locking it or changing any file
  // (a torn tail is reported in *report, not cut): for inspecting a journal
  // that a running job may hold.
  static void Read(Env* env, const std::string& dir, const JournalOptions& options,
                   StateMachine& sm, RecoveryReport* report = nullptr);
  virtual ~Journal() = default;

  // Logs record, applies it to the state machine, and returns once it is
  // committed under the fsync policy. Thread-safe: concurrent appends are
  // grouped into one write and one fsync, applied in log order.
  virtual void Append(std::string_view record) = 0;
  // Forces everything appended so far to disk.
  virtual void Sync() = 0;
  // Writes a snapshot of the state machine, starts a new log segment and
  // removes the files it makes obsolete.
  virtual void Checkpoint() = 0;
  virtual JournalStats Stats() const = 0;
};

// Verifies a file's framing and CRCs without a state machine: the baseline
// of the recovery benchmark. Returns the number of records.
uint64_t ScanLogFile(Env* env, const std::string& path);

}  // namespace crescent::replay
