// Test Env that keeps track of each file's state as of its last sync (after
// LevelDB's db/fault_injection_test.cc) and can drop everything unsynced:
// data past the last Sync, files whose creation no SyncDir covered, and
// renames no SyncDir covered. It can also "crash" after a given number of
// mutating calls: from then on writes, syncs and directory changes are
// silently ignored, as after a power cut.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "replay/journal.hpp"

namespace crescent::replay::testing {

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

  // Resets the files to their durable state and revives the Env.
  void DropUnsyncedData() {
    for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
      if (base_->FileExists(it->second)) base_->Rename(it->second, it->first);
      if (files_.count(it->second)) {
        files_[it->first] = files_[it->second];
        files_.erase(it->second);
      }
    }
    renames_.clear();
    for (auto& [path, st] : files_) {
      if (!base_->FileExists(path)) continue;
      if (st.unsynced_create) {
        base_->Remove(path);
      } else {
        base_->Truncate(path, st.synced);
      }
    }
    files_.clear();
    crash_after_ = -1;
    refused_ = false;
  }

  std::unique_ptr<WritableFile> NewAppendableFile(const std::string& path) override {
    bool exists = base_->FileExists(path);
    uint64_t size = exists ? base_->ReadFile(path).size() : 0;
    if (!Op()) return std::make_unique<File>(this, path, nullptr, size);
    auto f = base_->NewAppendableFile(path);
    State& st = files_[path];
    if (!exists) st.unsynced_create = true;
    if (exists && st.size == 0 && st.synced == 0 && !st.unsynced_create) st.synced = size;
    st.size = size;
    return std::make_unique<File>(this, path, std::move(f), size);
  }
  std::unique_ptr<WritableFile> NewWritableFile(const std::string& path) override {
    bool exists = base_->FileExists(path);
    if (!Op()) return std::make_unique<File>(this, path, nullptr, 0);
    auto f = base_->NewWritableFile(path);
    State& st = files_[path];
    if (!exists) st.unsynced_create = true;
    st.size = 0;
    st.synced = 0;
    return std::make_unique<File>(this, path, std::move(f), 0);
  }
  std::string ReadFile(const std::string& path) override { return base_->ReadFile(path); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  std::vector<std::string> ListDir(const std::string& dir) override { return base_->ListDir(dir); }
  void CreateDir(const std::string& dir) override { base_->CreateDir(dir); }
  void Rename(const std::string& from, const std::string& to) override {
    if (!Op()) return;
    base_->Rename(from, to);
    auto it = files_.find(from);
    State st = it != files_.end() ? it->second : State{};
    if (it != files_.end()) files_.erase(it);
    files_[to] = st;
    if (!st.unsynced_create) renames_.emplace_back(from, to);
  }
  void Remove(const std::string& path) override {
    if (!Op()) return;
    base_->Remove(path);
    files_.erase(path);
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
  void SyncDir(const std::string& dir) override {
    if (!Op()) return;
    base_->SyncDir(dir);
    for (auto& [path, st] : files_)
      if (path.rfind(dir + "/", 0) == 0) st.unsynced_create = false;
    std::vector<std::pair<std::string, std::string>> keep;
    for (auto& r : renames_)
      if (r.second.rfind(dir + "/", 0) != 0) keep.push_back(r);
    renames_ = keep;
  }
  std::unique_ptr<FileLock> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  struct State {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool unsynced_create = false;
  };

  class File : public WritableFile {
   public:
    File(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base,
         uint64_t size)
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

  Env* base_;
  long ops_ = 0;
  long crash_after_ = -1;
  bool refused_ = false;
  std::map<std::string, State> files_;
  std::vector<std::pair<std::string, std::string>> renames_;
};

}  // namespace crescent::replay::testing
