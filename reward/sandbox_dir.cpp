// SandboxDir: a host directory seen as /box inside the sandbox. Made as
// <TMPDIR>/crescent-sandbox-XXXXXX/box: the outer directory belongs to the
// service, so that the sandbox user (who owns box/, to write in it during a
// writable run) cannot rename or replace it. The service writes into box/
// and removes it as root, in a directory the sandbox user controls, so it
// never follows a symbolic link there.
#include "reward/sandbox_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/util/log.hpp"

namespace crescent::reward::sandbox_internal {
namespace {

// Deeper directories are moved up to the top before being emptied, so that
// removal holds a bounded number of descriptors and stack frames however
// deep a writable run nested them.
constexpr int kMaxDepth = 32;

// The names in the directory open at `fd` (which it keeps open).
std::vector<std::string> Names(int fd) {
  std::vector<std::string> names;
  // A fresh open file description: a dup would share the offset, left at
  // the end by the previous pass.
  const int copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (copy < 0) return names;
  DIR* d = fdopendir(copy);
  if (!d) {
    close(copy);
    return names;
  }
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

// Opens directory `name` under `parent` without following a link; one the
// sandbox user made unreadable is given back its owner's permissions first
// (which matters only when not running as root).
int OpenDir(int parent, const std::string& name) {
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = openat(parent, name.c_str(), flags);
  if (fd < 0 && errno == EACCES) {
    fchmodat(parent, name.c_str(), 0700, 0);
    fd = openat(parent, name.c_str(), flags);
  }
  if (fd >= 0 && geteuid() != 0) fchmod(fd, 0700);
  return fd;
}

// Empties the directory open at `fd`, `depth` below `top`; directories
// deeper than kMaxDepth are renamed into `top` for a later pass. Returns
// whether anything was removed or moved.
bool RemoveContents(int fd, int depth, int top, int* moved) {
  bool progress = false;
  for (const std::string& name : Names(fd)) {
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      progress |= unlinkat(fd, name.c_str(), 0) == 0;
      continue;
    }
    if (depth >= kMaxDepth) {
      const std::string to = StrCat(".crescent-deep-", ++*moved);
      progress |= renameat(fd, name.c_str(), top, to.c_str()) == 0;
      continue;
    }
    const int child = OpenDir(fd, name);
    if (child >= 0) {
      progress |= RemoveContents(child, depth + 1, top, moved);
      close(child);
    }
    progress |= unlinkat(fd, name.c_str(), AT_REMOVEDIR) == 0;
  }
  return progress;
}

// Removes `path` and everything under it, never following a symbolic link.
void RemoveTree(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string parent_path = slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = path.substr(slash + 1);
  const int parent = open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) return;
  const int top = OpenDir(parent, name);
  if (top >= 0) {
    int moved = 0;
    while (RemoveContents(top, 0, top, &moved)) {
    }
    close(top);
  }
  if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    LogWarn("sandbox: cannot remove ", path, ": ", std::strerror(errno));
  }
  close(parent);
}

class HostDir : public SandboxDir {
 public:
  HostDir(std::string outer, bool give, uid_t uid, gid_t gid)
      : outer_(std::move(outer)), box_(outer_ + "/box"), give_(give), uid_(uid), gid_(gid) {}
  ~HostDir() override { RemoveTree(outer_); }

  const std::string& path() const override { return box_; }

  void Write(const std::string& name, const std::string& content, bool executable) override {
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of(std::string("/\0", 2)) != std::string::npos) {
      throw std::invalid_argument(StrCat("sandbox dir ", box_, ": bad file name \"", name, "\""));
    }
    auto fail = [&](const char* what) {
      throw std::runtime_error(
          StrCat("sandbox dir ", box_, ": cannot ", what, " ", name, ": ", std::strerror(errno)));
    };
    const int dir = open(box_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) fail("open the directory for");
    // A writable run may have left a link of that name: it is replaced, not
    // followed (O_EXCL after the unlink; a race turns into an error).
    if (unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
      const int e = errno;
      close(dir);
      errno = e;
      fail("replace");
    }
    const mode_t mode = executable ? 0755 : 0644;
    const int fd =
        openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    const int open_errno = errno;
    close(dir);
    errno = open_errno;
    if (fd < 0) fail("create");
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int e = n < 0 ? errno : EIO;
        close(fd);
        errno = e;
        fail("write");
      }
      done += static_cast<size_t>(n);
    }
    // The mode despite the umask; the owner, so that a writable run (a build
    // that rewrites its sources) may change it.
    if (fchmod(fd, mode) != 0 || (give_ && fchown(fd, uid_, gid_) != 0)) {
      const int e = errno;
      close(fd);
      errno = e;
      fail("set the mode or owner of");
    }
    if (close(fd) != 0) fail("write");
  }

 private:
  std::string outer_, box_;
  bool give_;
  uid_t uid_;
  gid_t gid_;
};

}  // namespace

std::unique_ptr<SandboxDir> MakeSandboxDir(bool give, uid_t uid, gid_t gid) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string base = tmpdir && *tmpdir ? tmpdir : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string outer = base + "/crescent-sandbox-XXXXXX";
  if (!mkdtemp(outer.data())) {
    throw std::runtime_error(
        StrCat("sandbox: cannot make a directory in ", base, ": ", std::strerror(errno)));
  }
  // Made before the directories' modes are set, so that a failure below
  // removes what was made.
  auto dir = std::make_unique<HostDir>(outer, give, uid, gid);
  const std::string& box = dir->path();
  if (chmod(outer.c_str(), 0755) != 0 || mkdir(box.c_str(), 0755) != 0 ||
      chmod(box.c_str(), 0755) != 0 || (give && chown(box.c_str(), uid, gid) != 0)) {
    throw std::runtime_error(StrCat("sandbox: cannot make ", box, ": ", std::strerror(errno)));
  }
  return dir;
}

}  // namespace crescent::reward::sandbox_internal
