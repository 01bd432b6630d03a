// MPI for start-up and CPU collectives. Every MPI call goes through
// CRESCENT_MPI_CHECK, which adds the call site, rank, host and the library's
// own error string. No rank waits inside a blocking MPI call (Open MPI spins
// at full CPU there): collectives are started non-blocking and waited for with
// WaitSleeping, which polls and sleeps.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

namespace crescent::mpi {

[[noreturn]] void ThrowMpiError(int code, const char* call, const char* file, int line);

#define CRESCENT_MPI_CHECK(call)                                                   \
  do {                                                                             \
    int crescent_mpi_rc_ = (call);                                                 \
    if (crescent_mpi_rc_ != MPI_SUCCESS)                                           \
      ::crescent::mpi::ThrowMpiError(crescent_mpi_rc_, #call, __FILE__, __LINE__); \
  } while (0)

// Initialises MPI (errors returned, not fatal) and finalises it on destruction.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Completes `request`, sleeping between tests (never spinning).
void WaitSleeping(MPI_Request* request);

// `value` of `root`, on every rank of `comm`.
std::string BroadcastString(const std::string& value, int root, MPI_Comm comm = MPI_COMM_WORLD);
// Every rank's `value`, in rank order, on every rank.
std::vector<std::string> AllGatherStrings(const std::string& value, MPI_Comm comm = MPI_COMM_WORLD);

// A communicator of the ranks that pass member = true, ordered by `key`
// (MPI_COMM_NULL on the others). Collective over MPI_COMM_WORLD, at start-up.
MPI_Comm SplitComm(bool member, int key);

}  // namespace crescent::mpi
