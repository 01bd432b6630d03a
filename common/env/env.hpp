// Every side effect on files, directories, locks, the clock and sleeping goes
// through an Env (after LevelDB's include/leveldb/env.h), so that tests can
// swap in a fault-injecting one (tests/common/fault_env.hpp) and crash a
// process at any step of a journal commit, a ledger append or a checkpoint.
// No LibTorch; the only dependency is common/util.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace crescent::env {

// An I/O call failed; the message names the call, the path and errno's text.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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

// Every method throws IoError on failure.
class Env {
 public:
  virtual ~Env() = default;
  static Env* Posix();  // process-wide, never deleted

  // ---- files
  // Opens for append, creating the file if missing.
  virtual std::unique_ptr<WritableFile> NewAppendableFile(const std::string& path) = 0;
  // Creates or truncates.
  virtual std::unique_ptr<WritableFile> NewWritableFile(const std::string& path) = 0;
  virtual std::string ReadFile(const std::string& path) = 0;
  // True for a file or a directory.
  virtual bool FileExists(const std::string& path) = 0;
  // Atomically replaces `to` if it exists.
  virtual void Rename(const std::string& from, const std::string& to) = 0;
  virtual void Remove(const std::string& path) = 0;  // a file; ok if missing
  virtual void Truncate(const std::string& path, uint64_t size) = 0;
  // Makes the data of a file written by other means (a library's own writer)
  // durable.
  virtual void SyncFile(const std::string& path) = 0;

  // ---- directories
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual std::vector<std::string> ListDir(const std::string& dir) = 0;
  // One level; ok if it exists. REQUIRES: the parent exists.
  virtual void CreateDir(const std::string& dir) = 0;
  // A directory and everything under it, or a file; ok if missing.
  virtual void RemoveTree(const std::string& path) = 0;
  // Makes the creations, renames and removals of dir's entries durable.
  virtual void SyncDir(const std::string& dir) = 0;

  // ---- locks
  // Exclusive flock on path, which holds the holder's pid; throws naming the
  // holder's pid when another process has it.
  virtual std::unique_ptr<FileLock> LockFile(const std::string& path) = 0;

  // ---- time
  // Microseconds of a monotonic clock (for intervals, not dates).
  virtual uint64_t NowMicros() = 0;
  virtual void SleepForMicroseconds(int64_t micros) = 0;
};

// The one way a file is replaced in crescent: writes data to `path.tmp`,
// fsyncs it, renames it over `path` and fsyncs the directory. A crash at any
// step leaves `path` either as it was or holding all of data (and perhaps a
// stale `path.tmp`, which the next call overwrites).
void WriteFileAtomically(Env* env, const std::string& path, std::string_view data);

// The directory part of path ("." when it has none).
std::string Dirname(const std::string& path);

}  // namespace crescent::env
