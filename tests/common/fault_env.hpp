// Test Env that keeps track of each file's state as of its last sync (after
// LevelDB's db/fault_injection_test.cc) and can drop everything unsynced:
// data past the last Sync, files and directories whose creation no SyncDir
// of their parent covered, and renames no SyncDir covered (a rename over an
// existing file brings the old file back). It can also "crash" after a given
// number of mutating calls: from then on writes, syncs and directory changes
// are silently ignored, as after a power cut. Unsynced removals are not
// undone (as in LevelDB). Time is a fake clock that sleeping advances.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/env/env.hpp"

namespace crescent::env::testing {

class FaultInjectionEnv : public Env {
 public:
  FaultInjectionEnv() : base_(Env::Posix()) {}

  // Mutating calls after the first `ops` ones are ignored (crash point).
  void CrashAfter(long ops) { crash_after_ = ops; }
  bool crashed() const { return crash_after_ >= 0 && ops_ >= crash_after_; }
  // True once a call has been ignored because of the crash.
  bool refused() const { return refused_; }
  long ops() const { return ops_; }
  void Crash() { crash_after_ = ops_; }

  // What a crash leaves of data written but not synced.
  enum class Unsynced {
    kLost,  // none of it (LevelDB's model)
    kTorn,  // a prefix of it (a third, and a byte): a write torn mid-way
  };

  // Resets the files to their durable state and revives the Env.
  void DropUnsyncedData(Unsynced unsynced = Unsynced::kLost) {
    for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
      if (base_->FileExists(it->to)) base_->Rename(it->to, it->from);
      Move(it->to, it->from);
      if (it->replaced) {
        auto f = base_->NewWritableFile(it->to);
        f->Append(*it->replaced);
        f->Sync();
        f->Close();
        files_[it->to] = State{it->replaced->size(), it->replaced->size(), false, false};
      }
    }
    renames_.clear();
    std::vector<std::string> dirs;
    for (auto& [path, st] : files_) {
      if (!base_->FileExists(path)) continue;
      if (st.is_dir) {
        if (st.unsynced_create) dirs.push_back(path);
      } else if (st.unsynced_create) {
        base_->Remove(path);
      } else if (st.synced < st.size) {
        const uint64_t keep =
            unsynced == Unsynced::kTorn ? st.synced + (st.size - st.synced) / 3 + 1 : st.synced;
        base_->Truncate(path, keep);
      }
    }
    for (const std::string& d : dirs) base_->RemoveTree(d);
    files_.clear();
    crash_after_ = -1;
    refused_ = false;
  }

  std::unique_ptr<WritableFile> NewAppendableFile(const std::string& path) override {
    bool exists = base_->FileExists(path);
    uint64_t size = exists ? base_->ReadFile(path).size() : 0;
    if (!Op()) return std::make_unique<File>(this, path, nullptr);
    auto f = base_->NewAppendableFile(path);
    auto it = files_.find(path);
    if (it == files_.end()) {
      // Untracked: whatever exists is durable.
      files_[path] = State{size, size, !exists, false};
    }
    return std::make_unique<File>(this, path, std::move(f));
  }
  std::unique_ptr<WritableFile> NewWritableFile(const std::string& path) override {
    bool exists = base_->FileExists(path);
    if (!Op()) return std::make_unique<File>(this, path, nullptr);
    auto f = base_->NewWritableFile(path);
    State& st = files_[path];
    if (!exists) st.unsynced_create = true;
    st.size = 0;
    st.synced = 0;
    return std::make_unique<File>(this, path, std::move(f));
  }
  std::string ReadFile(const std::string& path) override { return base_->ReadFile(path); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  void Rename(const std::string& from, const std::string& to) override {
    if (!Op()) return;
    std::optional<std::string> replaced;
    if (base_->FileExists(to)) {
      auto t = files_.find(to);
      if (t == files_.end() || !t->second.unsynced_create) replaced = Durable(to);
    }
    base_->Rename(from, to);
    auto it = files_.find(from);
    const bool unsynced_create = it != files_.end() && it->second.unsynced_create;
    if (it == files_.end()) {
      // Untracked: durable as it was.
      const uint64_t size = IsDir(to) ? 0 : base_->ReadFile(to).size();
      files_[from] = State{size, size, false, IsDir(to)};
    }
    Erase(to);
    Move(from, to);
    // A file created unsynced vanishes at its new name, unless the rename
    // replaced a durable file, which comes back.
    if (!unsynced_create || replaced)
      renames_.push_back(RenameRecord{from, to, std::move(replaced)});
  }
  void Remove(const std::string& path) override {
    if (!Op()) return;
    base_->Remove(path);
    Erase(path);
  }
  void Truncate(const std::string& path, uint64_t size) override {
    if (!Op()) return;
    base_->Truncate(path, size);
    auto it = files_.find(path);
    if (it != files_.end()) {
      it->second.size = std::min(it->second.size, size);
      it->second.synced = std::min(it->second.synced, size);
    }
  }
  void SyncFile(const std::string& path) override {
    if (!Op()) return;
    base_->SyncFile(path);
    auto it = files_.find(path);
    if (it != files_.end()) it->second.synced = it->second.size;
  }
  std::vector<std::string> ListDir(const std::string& dir) override { return base_->ListDir(dir); }
  void CreateDir(const std::string& dir) override {
    if (!Op()) return;
    const bool exists = base_->FileExists(dir);
    base_->CreateDir(dir);
    if (!exists) files_[dir] = State{0, 0, true, true};
  }
  void RemoveTree(const std::string& path) override {
    if (!Op()) return;
    base_->RemoveTree(path);
    Erase(path);
  }
  void SyncDir(const std::string& dir) override {
    if (!Op()) return;
    base_->SyncDir(dir);
    for (auto& [path, st] : files_)
      if (Dirname(path) == dir) st.unsynced_create = false;
    std::vector<RenameRecord> keep;
    for (auto& r : renames_)
      if (Dirname(r.to) != dir) keep.push_back(std::move(r));
    renames_ = std::move(keep);
  }
  std::unique_ptr<FileLock> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  uint64_t NowMicros() override { return now_micros_; }
  void SleepForMicroseconds(int64_t micros) override {
    if (micros > 0) now_micros_ += static_cast<uint64_t>(micros);
  }

  // Files written by other means (as a library writes a checkpoint's
  // tensors) count from the moment they are tracked: call this after
  // writing `path` outside the Env, unsynced.
  void TrackUnsyncedFile(const std::string& path, bool created) {
    const uint64_t size = base_->ReadFile(path).size();
    files_[path] = State{size, 0, created, false};
  }

 private:
  struct State {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool unsynced_create = false;
    bool is_dir = false;
  };
  struct RenameRecord {
    std::string from, to;
    std::optional<std::string> replaced;  // the durable content `to` had
  };

  class File : public WritableFile {
   public:
    File(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
        : env_(env), path_(std::move(path)), base_(std::move(base)) {}
    void Append(std::string_view data) override {
      if (!base_ || !env_->Op()) return;
      base_->Append(data);
      env_->files_[path_].size += data.size();
    }
    void Sync() override {
      if (!base_ || !env_->Op()) return;
      base_->Sync();
      auto& st = env_->files_[path_];
      st.synced = st.size;
    }
    void Close() override {
      if (base_) base_->Close();
    }

   private:
    FaultInjectionEnv* env_;
    std::string path_;
    std::unique_ptr<WritableFile> base_;
  };

  // True when the call may go ahead.
  bool Op() {
    if (crashed()) {
      refused_ = true;
      return false;
    }
    ++ops_;
    return true;
  }

  bool IsDir(const std::string& path) {
    try {
      base_->ListDir(path);
      return true;
    } catch (const IoError&) {
      return false;
    }
  }

  // The content of file `path` as of its last sync.
  std::string Durable(const std::string& path) {
    if (IsDir(path)) return "";
    std::string data = base_->ReadFile(path);
    auto it = files_.find(path);
    if (it != files_.end()) data.resize(std::min<uint64_t>(data.size(), it->second.synced));
    return data;
  }

  static bool Under(const std::string& path, const std::string& root) {
    return path == root || path.rfind(root + "/", 0) == 0;
  }

  // Drops the tracking of path and of everything under it.
  void Erase(const std::string& root) {
    for (auto it = files_.begin(); it != files_.end();)
      it = Under(it->first, root) ? files_.erase(it) : std::next(it);
  }

  // Re-keys the tracking of `from` and everything under it to `to`.
  void Move(const std::string& from, const std::string& to) {
    std::vector<std::pair<std::string, State>> moved;
    for (auto it = files_.begin(); it != files_.end();) {
      if (Under(it->first, from)) {
        moved.emplace_back(to + it->first.substr(from.size()), it->second);
        it = files_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [path, st] : moved) files_[path] = st;
  }

  Env* base_;
  long ops_ = 0;
  long crash_after_ = -1;
  bool refused_ = false;
  uint64_t now_micros_ = 0;
  std::map<std::string, State> files_;
  std::vector<RenameRecord> renames_;
};

}  // namespace crescent::env::testing
