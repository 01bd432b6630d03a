// The cgroups of the code sandbox (reward/sandbox.cpp): a pids cgroup per run
// bounds its processes (a fork bomb), a memory cgroup its memory and tells a
// kill by the out-of-memory killer from any other SIGKILL, and a cpuacct
// cgroup (v1; v2 counts CPU time in every cgroup) tells a kill at the CPU
// limit's hard end from a program killing itself. cgroup v1 or v2,
// whichever has the controller on this machine; each run's cgroups are made
// under this process's own (so that they count against whatever limits the
// service itself runs under) and removed when the run ends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace crescent::reward::sandbox_internal {

// Where runs' cgroups go, per controller: the directory they are made in
// and the cgroup version; an empty directory when there is none writable.
struct CgroupPlan {
  struct Parent {
    std::string dir;
    int version = 0;
  };
  Parent pids, memory, cpu;  // cpu: cpuacct on v1
};

// Finds this process's pids, memory and cpuacct cgroups (/proc/self/cgroup and
// /proc/self/mountinfo) and checks that a cgroup can be made under each
// (and, on v2, that the controller can be given to it). Removes what runs of
// processes that no longer exist left behind. `notes` gets why a controller
// is not used.
CgroupPlan FindCgroups(std::vector<std::string>* notes);

// One run's cgroups, made with its limits. The child writes "0" to each of
// procs_fds() (open before the fork) to join them before it execs.
class RunCgroups {
 public:
  // Throws std::runtime_error naming the file it could not make or write.
  RunCgroups(const CgroupPlan& plan, int64_t max_pids, int64_t memory_bytes);
  // Kills what is left in them and removes them.
  ~RunCgroups();
  RunCgroups(const RunCgroups&) = delete;
  RunCgroups& operator=(const RunCgroups&) = delete;

  const std::vector<int>& procs_fds() const { return procs_fds_; }
  void CloseProcsFds();
  // SIGKILLs every process in them (cgroup.kill on v2, else each listed pid
  // in turn until none is left).
  void KillAll() const;
  // How many processes the out-of-memory killer killed in the memory cgroup;
  // 0 without one.
  int64_t OomKills() const;
  // The CPU seconds its processes used; -1 without a cgroup that counts.
  double CpuSeconds() const;

 private:
  struct Dir {
    std::string path;
    int version;
  };
  std::vector<Dir> dirs_;  // each made; v2 controllers share one
  Dir memory_, cpu_;       // among dirs_; an empty path without
  std::vector<int> procs_fds_;
};

}  // namespace crescent::reward::sandbox_internal
