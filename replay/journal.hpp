// Durable journal of opaque records driving a user state machine: the whole
// public contract of the replay buffer's durability layer.
//
// A journal directory holds
//   LOCK                 flock'ed by the one process that has it open
//   snapshot-NNNNNN.snap the state machine's state before log segment NNNNNN
//   log-NNNNNN.log       CRC-checked records appended after that snapshot
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

namespace crescent::replay {

// ---------------------------------------------------------------- errors
// An I/O call failed (errno text included).
class JournalIoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Persistent data is damaged where it cannot be a torn tail.
class JournalCorruption : public std::runtime_error {
 public:
  JournalCorruption(std::string file, uint64_t offset, const std::string& why);
  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }

 private:
  std::string file_;
  uint64_t offset_;
};

// ---------------------------------------------------------------- Env
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual void Append(std::string_view data) = 0;
  virtual void Sync() = 0;  // data durable (fdatasync)
  virtual void Close() = 0;
};

// Held until destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// All side effects of the journal go through an Env; tests swap in a
// fault-injecting one. Every method throws JournalIoError on failure.
class Env {
 public:
  virtual ~Env() = default;
  // Opens for append, creating the file if missing.
  virtual std::unique_ptr<WritableFile> NewAppendableFile(const std::string& path) = 0;
  // Creates or truncates.
  virtual std::unique_ptr<WritableFile> NewWritableFile(const std::string& path) = 0;
  virtual std::string ReadFile(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual std::vector<std::string> ListDir(const std::string& dir) = 0;
  virtual void CreateDir(const std::string& dir) = 0;  // ok if it exists
  virtual void Rename(const std::string& from, const std::string& to) = 0;
  virtual void Remove(const std::string& path) = 0;
  virtual void Truncate(const std::string& path, uint64_t size) = 0;
  virtual void SyncDir(const std::string& dir) = 0;
  // Exclusive flock on path; throws naming the holder's pid when held.
  virtual std::unique_ptr<FileLock> LockFile(const std::string& path) = 0;

  static Env* Posix();  // process-wide, never deleted
};

// ---------------------------------------------------------------- journal
class StateMachine {
 public:
  virtual ~StateMachine() = default;
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
  // the Journal. Throws JournalCorruption / JournalIoError.
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
