#include "reward/sandbox_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/util/log.hpp"

namespace crescent::reward::sandbox_internal {
namespace {

constexpr const char* kPrefix = "crescent-sandbox-";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// "" or why `text` could not be written to `path` (a cgroup file takes one
// write; a short one is a failure).
std::string WriteFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return StrCat("cannot open ", path, ": ", std::strerror(errno));
  const ssize_t n = write(fd, text.data(), text.size());
  const int e = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return StrCat("cannot write \"", text, "\" to ", path, ": ", std::strerror(n < 0 ? e : EIO));
  }
  return "";
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

// The words of `text`, split at blanks and newlines.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string word;
  while (in >> word) words.push_back(word);
  return words;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  for (const auto& x : list) {
    if (x == item) return true;
  }
  return false;
}

struct Mount {
  std::string root, point, fstype;
  std::vector<std::string> options;  // the super block's
};

std::vector<Mount> CgroupMounts() {
  std::vector<Mount> mounts;
  std::istringstream in(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = Split(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 >= f.size()) continue;
    const std::string& fstype = f[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    mounts.push_back({f[3], f[4], fstype, Split(f[dash + 3], ',')});
  }
  return mounts;
}

// The directory of cgroup `path` (as /proc/self/cgroup names it) under the
// hierarchy mounted at `m`.
std::string Join(const Mount& m, const std::string& path) {
  std::string rel = path;
  if (m.root != "/" && rel.compare(0, m.root.size(), m.root) == 0) rel = rel.substr(m.root.size());
  if (rel == "/") rel.clear();
  return m.point + rel;
}

// Reads the pids listed in `dir`/cgroup.procs.
std::vector<pid_t> Procs(const std::string& dir) {
  std::vector<pid_t> pids;
  std::istringstream in(ReadFile(dir + "/cgroup.procs"));
  long pid;
  while (in >> pid) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

// SIGKILLs everything in `dir` until it is empty (a process may fork between
// a read of the list and the kills; the pids limit bounds how often).
void KillIn(const std::string& dir, int version) {
  if (version == 2 && WriteFile(dir + "/cgroup.kill", "1").empty()) return;
  for (int round = 0; round < 200; ++round) {
    const std::vector<pid_t> pids = Procs(dir);
    if (pids.empty()) return;
    for (pid_t pid : pids) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::microseconds(round < 10 ? 100 : 2000));
  }
}

// Removes cgroup `dir`, waiting for the processes killed in it to be gone.
void RemoveDir(const std::string& dir, int version) {
  auto pause = std::chrono::microseconds(100);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rmdir(dir.c_str()) != 0) {
    if (errno == ENOENT) return;
    if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) {
      LogWarn("sandbox: cannot remove cgroup ", dir, ": ", std::strerror(errno));
      return;
    }
    KillIn(dir, version);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

// Removes the empty cgroups under `parent` that runs of a process that no
// longer exists left behind (it was killed mid-run; its runs died with it).
// One with processes in it is left alone: the pid may be of another PID
// namespace sharing this hierarchy, whose runs are not ours to kill.
void RemoveStale(const std::string& parent) {
  DIR* d = opendir(parent.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, std::strlen(kPrefix), kPrefix) != 0) continue;
    const long pid = std::strtol(name.c_str() + std::strlen(kPrefix), nullptr, 10);
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  closedir(d);
  for (const std::string& name : stale) rmdir((parent + "/" + name).c_str());
}

// A file that only a cgroup with `controller` has, written as a probe.
std::string ProbeFile(const std::string& controller, int version) {
  if (controller == "pids") return "pids.max";
  if (controller == "cpuacct") return "cpuacct.usage";  // writing 0 resets it
  return version == 1 ? "memory.limit_in_bytes" : "memory.max";
}
std::string ProbeValue(const std::string& controller) {
  return controller == "cpuacct" ? "0" : "1000000";
}

// Where this process's cgroup for `controller` is, if it can make cgroups
// there; else an empty dir with a note saying why not.
CgroupPlan::Parent Find(const std::string& controller, const std::vector<Mount>& mounts,
                        std::vector<std::string>* notes) {
  std::istringstream in(ReadFile("/proc/self/cgroup"));
  std::string line, v1_path, v2_path;
  bool has_v2 = false;
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string list = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && list.empty()) {
      has_v2 = true;
      v2_path = path;
    } else if (Contains(Split(list, ','), controller)) {
      v1_path = path;
    }
  }
  CgroupPlan::Parent p;
  if (!v1_path.empty()) {
    p.version = 1;
    for (const Mount& m : mounts) {
      if (m.fstype == "cgroup" && Contains(m.options, controller)) p.dir = Join(m, v1_path);
    }
  } else if (has_v2) {
    p.version = 2;
    for (const Mount& m : mounts) {
      if (m.fstype == "cgroup2") p.dir = Join(m, v2_path);
    }
    if (!p.dir.empty() && !Contains(Words(ReadFile(p.dir + "/cgroup.controllers")), controller)) {
      notes->push_back(StrCat("no ", controller, " controller in cgroup v2 at ", p.dir));
      return {};
    }
    // Children get the controller only if the parent hands it down, which
    // v2 refuses while processes live in the parent itself (not the root).
    if (!p.dir.empty() &&
        !Contains(Words(ReadFile(p.dir + "/cgroup.subtree_control")), controller)) {
      if (std::string e = WriteFile(p.dir + "/cgroup.subtree_control", "+" + controller);
          !e.empty()) {
        notes->push_back(StrCat("cannot enable the ", controller, " controller for cgroups under ",
                                p.dir, ": ", e));
        return {};
      }
    }
  }
  if (p.dir.empty()) {
    notes->push_back(StrCat("no ", controller, " cgroup (v1 or v2) mounted for this process"));
    return {};
  }
  RemoveStale(p.dir);
  const std::string probe = StrCat(p.dir, "/", kPrefix, getpid(), "-probe");
  if (mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    notes->push_back(
        StrCat("cannot make a ", controller, " cgroup under ", p.dir, ": ", std::strerror(errno)));
    return {};
  }
  std::string e = WriteFile(probe + "/" + ProbeFile(controller, p.version), ProbeValue(controller));
  rmdir(probe.c_str());
  if (!e.empty()) {
    notes->push_back(StrCat(controller, " cgroup under ", p.dir, ": ", e));
    return {};
  }
  return p;
}

std::atomic<uint64_t> last_run{0};

// Part of every run's cgroup name, with the pid: processes of other PID
// namespaces may share the hierarchy, and their pids.
std::string RandomTag() {
  uint32_t tag = 0;
  const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &tag, sizeof(tag)) != static_cast<ssize_t>(sizeof(tag))) tag = 0;
    close(fd);
  }
  if (tag == 0)
    tag = static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", tag);
  return hex;
}

}  // namespace

CgroupPlan FindCgroups(std::vector<std::string>* notes) {
  const std::vector<Mount> mounts = CgroupMounts();
  CgroupPlan plan;
  plan.pids = Find("pids", mounts, notes);
  plan.memory = Find("memory", mounts, notes);
  // v2 counts CPU time (cpu.stat) in every cgroup, whatever its controllers.
  if (plan.pids.version == 2) {
    plan.cpu = plan.pids;
  } else if (plan.memory.version == 2) {
    plan.cpu = plan.memory;
  } else {
    plan.cpu = Find("cpuacct", mounts, notes);
  }
  return plan;
}

RunCgroups::RunCgroups(const CgroupPlan& plan, int64_t max_pids, int64_t memory_bytes) {
  static const std::string tag = RandomTag();
  const std::string name = StrCat(kPrefix, getpid(), "-", tag, "-", ++last_run);
  std::string error;
  // The run's cgroup under `parent`: made, or on v2 the one already made
  // there.
  auto make = [&](const CgroupPlan::Parent& parent) -> Dir {
    const std::string path = parent.dir + "/" + name;
    for (const Dir& d : dirs_) {
      if (d.path == path) return d;
    }
    if (mkdir(path.c_str(), 0755) != 0) {
      error = StrCat("cannot make cgroup ", path, ": ", std::strerror(errno));
      return {};
    }
    dirs_.push_back({path, parent.version});
    return dirs_.back();
  };
  if (!plan.pids.dir.empty()) {
    const Dir d = make(plan.pids);
    if (!d.path.empty()) error = WriteFile(d.path + "/pids.max", std::to_string(max_pids));
  }
  if (error.empty() && !plan.memory.dir.empty()) {
    memory_ = make(plan.memory);
    const std::string bytes = std::to_string(memory_bytes);
    const std::string& m = memory_.path;
    if (!m.empty() && memory_.version == 1) {
      error = WriteFile(m + "/memory.limit_in_bytes", bytes);
      // Without swap accounting there is no such file and no swap to limit.
      if (error.empty() && Exists(m + "/memory.memsw.limit_in_bytes")) {
        error = WriteFile(m + "/memory.memsw.limit_in_bytes", bytes);
      }
    } else if (!m.empty()) {
      error = WriteFile(m + "/memory.max", bytes);
      if (error.empty() && Exists(m + "/memory.swap.max")) {
        error = WriteFile(m + "/memory.swap.max", "0");
      }
      // One process out of memory ends the whole run.
      if (error.empty() && Exists(m + "/memory.oom.group")) {
        WriteFile(m + "/memory.oom.group", "1");
      }
    }
  }
  if (error.empty() && !plan.cpu.dir.empty()) cpu_ = make(plan.cpu);
  for (const Dir& d : dirs_) {
    if (!error.empty()) break;
    const std::string procs = d.path + "/cgroup.procs";
    const int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      error = StrCat("cannot open ", procs, ": ", std::strerror(errno));
    } else {
      procs_fds_.push_back(fd);
    }
  }
  if (!error.empty()) {
    CloseProcsFds();
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) RemoveDir(it->path, it->version);
    throw std::runtime_error(error);
  }
}

RunCgroups::~RunCgroups() {
  CloseProcsFds();
  KillAll();
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) RemoveDir(it->path, it->version);
}

void RunCgroups::CloseProcsFds() {
  for (int fd : procs_fds_) close(fd);
  procs_fds_.clear();
}

void RunCgroups::KillAll() const {
  for (const Dir& d : dirs_) KillIn(d.path, d.version);
}

int64_t RunCgroups::OomKills() const {
  if (memory_.path.empty()) return 0;
  std::istringstream in(
      ReadFile(memory_.path + (memory_.version == 1 ? "/memory.oom_control" : "/memory.events")));
  std::string key;
  int64_t value;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

double RunCgroups::CpuSeconds() const {
  if (cpu_.path.empty()) return -1;
  if (cpu_.version == 1) {
    std::istringstream in(ReadFile(cpu_.path + "/cpuacct.usage"));
    int64_t ns = -1;
    return in >> ns ? ns * 1e-9 : -1;
  }
  std::istringstream in(ReadFile(cpu_.path + "/cpu.stat"));
  std::string key;
  int64_t value;
  while (in >> key >> value) {
    if (key == "usage_usec") return value * 1e-6;
  }
  return -1;
}

}  // namespace crescent::reward::sandbox_internal
