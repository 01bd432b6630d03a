// Journal: recovery, group commit, checkpoints.
#include "replay/journal.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>

#include "common/util/log.hpp"
#include "replay/log_format.hpp"

namespace crescent::replay {

using internal::LogName;
using internal::ParseRecord;
using internal::ParseResult;
using internal::SnapshotName;

JournalCorruption::JournalCorruption(std::string file, uint64_t offset, const std::string& why)
    : JournalCorruption(
          file, offset,
          Message{StrCat("journal corruption in ", file, " at byte offset ", offset, ": ", why)}) {}

JournalCorruption::JournalCorruption(std::string file, uint64_t offset, Message message)
    : std::runtime_error(message.text), file_(std::move(file)), offset_(offset) {}

JournalVersionError::JournalVersionError(std::string file, uint32_t found, uint32_t supported)
    : JournalCorruption(file, 8,
                        Message{StrCat("replay journal file ", file, " has record format version ",
                                       found, found == 0 ? " (written before format versions)" : "",
                                       "; this build reads version ", supported,
                                       " only: refusing it rather than misreading it")}),
      found_(found),
      supported_(supported) {}

namespace {

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// Parses "<prefix>NNNNNN<suffix>"; false if name is not of that form.
bool ParseNumbered(const std::string& name, std::string_view prefix, std::string_view suffix,
                   uint64_t* n) {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 18) return false;
  for (char c : digits)
    if (c < '0' || c > '9') return false;
  *n = std::stoull(digits);
  return true;
}

bool ValidRecordAfter(std::string_view data, size_t from, uint32_t max_len) {
  for (size_t o = from; o + internal::kHeaderSize <= data.size(); ++o) {
    std::string_view payload;
    size_t next;
    if (ParseRecord(data, o, max_len, &payload, &next) == ParseResult::kOk) return true;
  }
  return false;
}

class JournalImpl : public Journal {
 public:
  JournalImpl(Env* env, std::string dir, const JournalOptions& options, StateMachine& sm)
      : env_(env), dir_(std::move(dir)), options_(options), sm_(sm) {}

  ~JournalImpl() override {
    if (log_ && !broken_) {
      try {
        if (unsynced_) log_->Sync();
        log_->Close();
      } catch (const std::exception& e) {
        LogError("replay journal ", dir_, ": final sync failed: ", e.what());
      }
    }
  }

  // read_only: no lock, and nothing on disk changes (a torn tail is reported,
  // not cut); the journal cannot be appended to afterwards.
  void Recover(RecoveryReport* report, bool read_only) {
    read_only_ = read_only;
    if (!read_only) {
      if (options_.create_if_missing) env_->CreateDir(dir_);
      lock_ = env_->LockFile(Join(dir_, "LOCK"));
    }
    std::vector<uint64_t> snapshots, logs;
    for (const std::string& name : env_->ListDir(dir_)) {
      uint64_t n;
      if (ParseNumbered(name, "snapshot-", ".snap", &n)) {
        snapshots.push_back(n);
      } else if (ParseNumbered(name, "log-", ".log", &n)) {
        logs.push_back(n);
      } else if (!read_only && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
        env_->Remove(Join(dir_, name));  // an interrupted checkpoint
      }
    }
    std::sort(snapshots.begin(), snapshots.end());
    std::sort(logs.begin(), logs.end());
    uint64_t base = 0;
    if (!snapshots.empty()) {
      base = snapshots.back();
      const std::string path = Join(dir_, SnapshotName(base));
      std::string data = env_->ReadFile(path);
      sm_.Restore(CheckSnapshot(path, data));
      report->snapshot_file = path;
    }
    std::vector<uint64_t> live;
    for (uint64_t n : logs)
      if (n >= base) live.push_back(n);
    for (size_t i = 0; i < live.size(); ++i)
      ReplayLog(Join(dir_, LogName(live[i])), i + 1 == live.size(), report);
    if (read_only) return;
    // Files older than the snapshot: left over from an interrupted compaction.
    for (uint64_t n : logs)
      if (n < base) env_->Remove(Join(dir_, LogName(n)));
    for (uint64_t n : snapshots)
      if (n < base) env_->Remove(Join(dir_, SnapshotName(n)));

    log_number_ = live.empty() ? std::max<uint64_t>(base, 1) : live.back();
    const std::string log_path = Join(dir_, LogName(log_number_));
    const bool created = !env_->FileExists(log_path);
    log_ = env_->NewAppendableFile(log_path);
    if (created || last_log_size_ == 0) {
      log_->Append(internal::EncodeLogHeader(sm_.FormatVersion()));
      log_->Sync();
    }
    if (created) env_->SyncDir(dir_);
    last_sync_ = std::chrono::steady_clock::now();
  }

  void Append(std::string_view record) override {
    if (record.size() > options_.max_record_bytes)
      throw std::invalid_argument(StrCat("replay journal record of ", record.size(),
                                         " bytes exceeds max_record_bytes ",
                                         options_.max_record_bytes));
    Writer w;
    w.record = record;
    Run(&w);
  }

  void Sync() override {
    Writer w;
    w.kind = Writer::kSync;
    Run(&w);
  }

  void Checkpoint() override {
    Writer w;
    w.kind = Writer::kCheckpoint;
    Run(&w);
  }

  JournalStats Stats() const override {
    std::lock_guard<std::mutex> l(mu_);
    return stats_;
  }

 private:
  struct Writer {
    enum Kind { kRecord, kSync, kCheckpoint } kind = kRecord;
    std::string_view record;
    bool done = false;
    std::exception_ptr error;
  };

  std::string_view CheckSnapshot(const std::string& path, const std::string& data) {
    using namespace internal;
    const std::string_view magic = std::string_view(data).substr(0, kSnapshotMagic.size());
    if (magic == kUnversionedSnapshotMagic) throw JournalVersionError(path, 0, sm_.FormatVersion());
    if (data.size() < kSnapshotHeaderSize || magic != kSnapshotMagic)
      throw JournalCorruption(path, 0, "bad snapshot header");
    const auto* u = reinterpret_cast<const unsigned char*>(data.data()) + 8;
    auto u32 = [](const unsigned char* p) {
      return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    };
    const uint32_t version = u32(u);
    const uint64_t len = u32(u + 4) | uint64_t(u32(u + 8)) << 32;
    const uint32_t stored = u32(u + 12);
    if (len != data.size() - kSnapshotHeaderSize)
      throw JournalCorruption(path, 12,
                              StrCat("snapshot length ", len, " but file holds ",
                                     data.size() - kSnapshotHeaderSize, " bytes"));
    std::string_view payload(data.data() + kSnapshotHeaderSize, len);
    // The CRC covers the version too: a damaged version is corruption, a
    // version that checks out is another build's.
    if (MaskCrc(Crc32c(Crc32c(0, data.data() + 8, 4), payload.data(), payload.size())) != stored)
      throw JournalCorruption(path, kSnapshotHeaderSize, "snapshot CRC mismatch");
    if (version != sm_.FormatVersion())
      throw JournalVersionError(path, version, sm_.FormatVersion());
    return payload;
  }

  // The torn tail of the last segment (from `offset` on): cut, or only
  // reported when read-only.
  void CutTail(const std::string& path, const std::string& data, size_t offset, const char* reason,
               RecoveryReport* report) {
    report->tail_truncated = true;
    report->truncated_file = path;
    report->truncated_offset = offset;
    report->truncated_bytes = data.size() - offset;
    report->truncated_reason = reason;
    last_log_size_ = offset;
    if (read_only_) return;
    LogWarn("replay journal: cutting the torn tail of ", path, " at byte offset ", offset, " (",
            data.size() - offset, " bytes, ", reason, ")");
    env_->Truncate(path, offset);
    auto f = env_->NewAppendableFile(path);
    f->Sync();
    f->Close();
  }

  // Checks a log's header; returns where its records start.
  size_t CheckLogHeader(const std::string& path, const std::string& data, bool last,
                        RecoveryReport* report) {
    uint32_t version = 0;
    switch (internal::ParseLogHeader(data, &version)) {
      case internal::HeaderResult::kOk:
        if (version != sm_.FormatVersion())
          throw JournalVersionError(path, version, sm_.FormatVersion());
        return internal::kLogHeaderSize;
      case internal::HeaderResult::kTruncated:
        // A crash while the segment was being created.
        if (!last) throw JournalCorruption(path, 0, "log header cut short");
        if (!data.empty()) CutTail(path, data, 0, "torn log header", report);
        last_log_size_ = 0;
        return data.size();
      case internal::HeaderResult::kNoMagic: {
        std::string_view payload;
        size_t next;
        if (ParseRecord(data, 0, options_.max_record_bytes, &payload, &next) == ParseResult::kOk)
          throw JournalVersionError(path, 0, sm_.FormatVersion());
        throw JournalCorruption(path, 0, "no log header");
      }
      case internal::HeaderResult::kBadCrc:
        break;
    }
    throw JournalCorruption(path, 0, "log header CRC mismatch");
  }

  void ReplayLog(const std::string& path, bool last, RecoveryReport* report) {
    const std::string data = env_->ReadFile(path);
    last_log_size_ = data.size();
    size_t offset = CheckLogHeader(path, data, last, report);
    while (offset < data.size()) {
      std::string_view payload;
      size_t next;
      ParseResult r = ParseRecord(data, offset, options_.max_record_bytes, &payload, &next);
      if (r != ParseResult::kOk) {
        if (!last)
          throw JournalCorruption(
              path, offset,
              StrCat(internal::ParseResultName(r), " in a log segment that is not the last"));
        if (ValidRecordAfter(data, offset + 1, options_.max_record_bytes))
          throw JournalCorruption(
              path, offset, StrCat(internal::ParseResultName(r), " followed by valid records"));
        CutTail(path, data, offset, internal::ParseResultName(r), report);
        return;
      }
      sm_.Apply(payload);
      ++report->records_replayed;
      offset = next;
    }
  }

  // Queues w; the writer at the front leads and commits a group.
  void Run(Writer* w) {
    std::unique_lock<std::mutex> l(mu_);
    writers_.push_back(w);
    cv_.wait(l, [&] { return w->done || writers_.front() == w; });
    if (w->done) {
      if (w->error) std::rethrow_exception(w->error);
      return;
    }
    std::vector<Writer*> group;
    group.push_back(w);
    if (w->kind != Writer::kCheckpoint) {
      for (size_t i = 1; i < writers_.size() && writers_[i]->kind != Writer::kCheckpoint; ++i)
        group.push_back(writers_[i]);
    }
    std::exception_ptr error;
    std::string reason;
    if (broken_) {
      error = std::make_exception_ptr(
          JournalIoError(StrCat("replay journal ", dir_, " failed earlier: ", broken_reason_)));
    } else {
      l.unlock();
      try {
        if (w->kind == Writer::kCheckpoint) {
          DoCheckpoint();
        } else {
          Commit(group);
        }
      } catch (const std::exception& e) {
        error = std::current_exception();
        reason = e.what();
      }
      l.lock();
      if (error) {
        broken_ = true;
        broken_reason_ = reason;
        LogError("replay journal ", dir_, ": ", broken_reason_);
      }
    }
    for (Writer* g : group) {
      writers_.pop_front();
      g->done = true;
      g->error = error;
    }
    cv_.notify_all();
    if (error) std::rethrow_exception(error);
  }

  // REQUIRES: leader, mu_ not held.
  void Commit(const std::vector<Writer*>& group) {
    batch_.clear();
    bool force_sync = false;
    uint64_t records = 0;
    for (Writer* g : group) {
      if (g->kind == Writer::kSync) {
        force_sync = true;
      } else {
        internal::EncodeRecord(g->record, &batch_);
        ++records;
      }
    }
    if (!batch_.empty()) {
      log_->Append(batch_);
      unsynced_ = true;
    }
    const auto now = std::chrono::steady_clock::now();
    bool sync = force_sync;
    if (records > 0) {
      if (options_.fsync_policy == FsyncPolicy::kEveryCommit) sync = true;
      if (options_.fsync_policy == FsyncPolicy::kInterval &&
          now - last_sync_ >= options_.fsync_interval)
        sync = true;
    }
    if (sync && unsynced_) {
      log_->Sync();
      unsynced_ = false;
      last_sync_ = now;
    }
    for (Writer* g : group)
      if (g->kind == Writer::kRecord) sm_.Apply(g->record);
    std::lock_guard<std::mutex> l(mu_);
    stats_.records += records;
    if (records > 0) ++stats_.commits;
    if (sync && !unsynced_) ++stats_.fsyncs;
  }

  // REQUIRES: leader, mu_ not held.
  void DoCheckpoint() {
    log_->Sync();
    unsynced_ = false;
    const uint64_t next = log_number_ + 1;
    const std::string snap = Join(dir_, SnapshotName(next));
    env::WriteFileAtomically(env_, snap,
                             internal::EncodeSnapshot(sm_.Snapshot(), sm_.FormatVersion()));
    // From here recovery starts at the new snapshot.
    auto log = env_->NewWritableFile(Join(dir_, LogName(next)));
    log->Append(internal::EncodeLogHeader(sm_.FormatVersion()));
    log->Sync();
    env_->SyncDir(dir_);
    log_->Close();
    log_ = std::move(log);
    log_number_ = next;
    last_sync_ = std::chrono::steady_clock::now();
    for (const std::string& name : env_->ListDir(dir_)) {
      uint64_t n;
      if ((ParseNumbered(name, "log-", ".log", &n) ||
           ParseNumbered(name, "snapshot-", ".snap", &n)) &&
          n < next)
        env_->Remove(Join(dir_, name));
    }
    std::lock_guard<std::mutex> l(mu_);
    stats_.log_number = next;
  }

  Env* const env_;
  const std::string dir_;
  const JournalOptions options_;
  StateMachine& sm_;
  std::unique_ptr<FileLock> lock_;

  // Owned by the current leader (or by Recover).
  std::unique_ptr<WritableFile> log_;
  uint64_t log_number_ = 0;
  bool unsynced_ = false;  // appended since the last Sync
  std::chrono::steady_clock::time_point last_sync_;
  std::string batch_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Writer*> writers_;  // GUARDED_BY(mu_)
  JournalStats stats_;           // GUARDED_BY(mu_)
  bool broken_ = false;          // GUARDED_BY(mu_)
  bool read_only_ = false;
  uint64_t last_log_size_ = 0;  // of the last segment replayed, after any cut
  std::string broken_reason_;   // GUARDED_BY(mu_) once set
 public:
  void SetLogNumberStat() { stats_.log_number = log_number_; }
};

}  // namespace

std::unique_ptr<Journal> Journal::Open(Env* env, const std::string& dir,
                                       const JournalOptions& options, StateMachine& sm,
                                       RecoveryReport* report) {
  RecoveryReport local;
  if (report == nullptr) report = &local;
  *report = RecoveryReport{};
  auto journal = std::make_unique<JournalImpl>(env, dir, options, sm);
  journal->Recover(report, /*read_only=*/false);
  journal->SetLogNumberStat();
  return journal;
}

void Journal::Read(Env* env, const std::string& dir, const JournalOptions& options,
                   StateMachine& sm, RecoveryReport* report) {
  RecoveryReport local;
  if (report == nullptr) report = &local;
  *report = RecoveryReport{};
  if (!env->FileExists(dir)) throw JournalIoError(StrCat(dir, ": no replay journal here"));
  JournalImpl journal(env, dir, options, sm);
  journal.Recover(report, /*read_only=*/true);
}

uint64_t ScanLogFile(Env* env, const std::string& path) {
  const std::string data = env->ReadFile(path);
  uint32_t version;
  if (internal::ParseLogHeader(data, &version) != internal::HeaderResult::kOk)
    throw JournalCorruption(path, 0, "bad log header");
  size_t offset = internal::kLogHeaderSize;
  uint64_t n = 0;
  while (offset < data.size()) {
    std::string_view payload;
    size_t next;
    ParseResult r = ParseRecord(data, offset, UINT32_MAX, &payload, &next);
    if (r != ParseResult::kOk) throw JournalCorruption(path, offset, internal::ParseResultName(r));
    offset = next;
    ++n;
  }
  return n;
}

}  // namespace crescent::replay
