// POSIX Env: plain file descriptors, fdatasync, flock, the steady clock.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/env/env.hpp"
#include "common/util/log.hpp"

namespace crescent::env {
namespace {

[[noreturn]] void ThrowErrno(const std::string& what, const std::string& path) {
  throw IoError(StrCat(what, " ", path, ": ", std::strerror(errno)));
}

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void Append(std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        ThrowErrno("write", path_);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  void Sync() override {
    if (::fdatasync(fd_) != 0) ThrowErrno("fdatasync", path_);
  }
  void Close() override {
    if (fd_ >= 0 && ::close(fd_) != 0) {
      fd_ = -1;
      ThrowErrno("close", path_);
    }
    fd_ = -1;
  }

 private:
  std::string path_;
  int fd_;
};

class PosixFileLock : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // releases the flock

 private:
  int fd_;
};

class PosixEnv : public Env {
 public:
  std::unique_ptr<WritableFile> NewAppendableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) ThrowErrno("open for append", path);
    return std::make_unique<PosixWritableFile>(path, fd);
  }
  std::unique_ptr<WritableFile> NewWritableFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) ThrowErrno("open for write", path);
    return std::make_unique<PosixWritableFile>(path, fd);
  }
  std::string ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ThrowErrno("open for read", path);
    std::string out;
    struct stat st;
    if (::fstat(fd, &st) == 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        ::close(fd);
        ThrowErrno("read", path);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }
  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  std::vector<std::string> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) ThrowErrno("opendir", dir);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    return names;
  }
  void CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) ThrowErrno("mkdir", dir);
  }
  void Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) ThrowErrno("rename " + from + " to", to);
  }
  void Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) ThrowErrno("unlink", path);
  }
  void Truncate(const std::string& path, uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) ThrowErrno("truncate", path);
  }
  void SyncFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ThrowErrno("open for fsync", path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    errno = err;
    if (rc != 0) ThrowErrno("fsync", path);
  }
  void RemoveTree(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) throw IoError(StrCat("remove ", path, ": ", ec.message()));
  }
  void SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) ThrowErrno("open dir", dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    errno = err;
    if (rc != 0) ThrowErrno("fsync dir", dir);
  }
  std::unique_ptr<FileLock> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) ThrowErrno("open lock file", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      char buf[32] = {0};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      throw IoError(
          StrCat("lock file ", path, " is held by pid ", holder, " (", std::strerror(err), ")"));
    }
    std::string pid = StrCat(::getpid(), "\n");
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      ::close(fd);
      ThrowErrno("write pid to", path);
    }
    return std::make_unique<PosixFileLock>(fd);
  }
  uint64_t NowMicros() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
  void SleepForMicroseconds(int64_t micros) override {
    if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
  }
};

}  // namespace

Env* Env::Posix() {
  static PosixEnv* env = new PosixEnv;
  return env;
}

}  // namespace crescent::env
