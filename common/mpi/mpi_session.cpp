#include "common/mpi/mpi_session.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/util/log.hpp"

namespace crescent::mpi {

void ThrowMpiError(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(code, text, &length);
  int rank = -1, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  throw std::runtime_error(StrCat(call, " failed at ", file, ":", line, " on rank ", rank, " host ",
                                  host, " pid ", getpid(), ": ", text));
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  CRESCENT_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  CRESCENT_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  CRESCENT_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void WaitSleeping(MPI_Request* request) {
  auto pause = std::chrono::microseconds(50);
  while (true) {
    int done = 0;
    CRESCENT_MPI_CHECK(MPI_Test(request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

std::string BroadcastString(const std::string& value, int root, MPI_Comm comm) {
  int rank = 0;
  CRESCENT_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  unsigned long long length = value.size();
  MPI_Request request;
  CRESCENT_MPI_CHECK(MPI_Ibcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm, &request));
  WaitSleeping(&request);
  std::string out = rank == root ? value : std::string(length, '\0');
  CRESCENT_MPI_CHECK(
      MPI_Ibcast(out.data(), static_cast<int>(length), MPI_CHAR, root, comm, &request));
  WaitSleeping(&request);
  return out;
}

std::vector<std::string> AllGatherStrings(const std::string& value, MPI_Comm comm) {
  int size = 0;
  CRESCENT_MPI_CHECK(MPI_Comm_size(comm, &size));
  int length = static_cast<int>(value.size());
  std::vector<int> lengths(size);
  MPI_Request request;
  CRESCENT_MPI_CHECK(
      MPI_Iallgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm, &request));
  WaitSleeping(&request);
  std::vector<int> offsets(size, 0);
  for (int i = 1; i < size; ++i) offsets[i] = offsets[i - 1] + lengths[i - 1];
  std::string all(offsets.back() + lengths.back(), '\0');
  CRESCENT_MPI_CHECK(MPI_Iallgatherv(value.data(), length, MPI_CHAR, all.data(), lengths.data(),
                                     offsets.data(), MPI_CHAR, comm, &request));
  WaitSleeping(&request);
  std::vector<std::string> out;
  for (int i = 0; i < size; ++i) out.push_back(all.substr(offsets[i], lengths[i]));
  return out;
}

MPI_Comm SplitComm(bool member, int key) {
  MPI_Comm comm = MPI_COMM_NULL;
  CRESCENT_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, member ? 0 : MPI_UNDEFINED, key, &comm));
  return comm;
}

}  // namespace crescent::mpi
