// NCCL weight transport: raw device pointers, the plain CUDA runtime and the
// NCCL C API only, so that this compiles and links on CPU-only machines.
#include "common/weights/weight_sync.hpp"

#ifdef CRESCENT_WITH_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <unistd.h>

#include "common/mpi/mpi_session.hpp"
#include "common/util/log.hpp"
#endif

namespace crescent::weights {

#ifdef CRESCENT_WITH_NCCL
namespace {

#define CRESCENT_NCCL_CHECK(call)                                                             \
  do {                                                                                        \
    ncclResult_t r_ = (call);                                                                 \
    if (r_ != ncclSuccess)                                                                    \
      throw std::runtime_error(StrCat(#call, " failed at ", __FILE__, ":", __LINE__, " pid ", \
                                      getpid(), ": ", ncclGetErrorString(r_)));               \
  } while (0)
#define CRESCENT_CUDA_CHECK(call)                                                             \
  do {                                                                                        \
    cudaError_t e_ = (call);                                                                  \
    if (e_ != cudaSuccess)                                                                    \
      throw std::runtime_error(StrCat(#call, " failed at ", __FILE__, ":", __LINE__, " pid ", \
                                      getpid(), ": ", cudaGetErrorString(e_)));               \
  } while (0)

ncclDataType_t NcclType(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return ncclFloat32;
    case torch::kFloat16:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kInt64:
      return ncclInt64;
    default:
      throw std::runtime_error(StrCat("NCCL weight sync: unsupported dtype ", t.scalar_type()));
  }
}

class NcclWeightSync : public WeightSync {
 public:
  NcclWeightSync(MPI_Comm comm, int root, int device) : root_(root) {
    CRESCENT_MPI_CHECK(MPI_Comm_rank(comm, &rank_));
    CRESCENT_MPI_CHECK(MPI_Comm_size(comm, &size_));
    CRESCENT_CUDA_CHECK(cudaSetDevice(device));
    ncclUniqueId id;
    if (rank_ == root_) CRESCENT_NCCL_CHECK(ncclGetUniqueId(&id));
    std::string bytes = mpi::BroadcastString(
        rank_ == root_ ? std::string(id.internal, sizeof id.internal) : std::string(), root_, comm);
    std::copy(bytes.begin(), bytes.end(), id.internal);
    CRESCENT_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
    CRESCENT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~NcclWeightSync() override {
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int64_t Broadcast(const std::vector<torch::Tensor>& tensors, int64_t version) override {
    CRESCENT_CUDA_CHECK(cudaDeviceSynchronize());  // producers on other streams are done
    CRESCENT_NCCL_CHECK(ncclGroupStart());
    for (const auto& t : tensors) {
      TORCH_CHECK(t.is_cuda() && t.is_contiguous(),
                  "NCCL weight sync needs contiguous CUDA tensors");
      CRESCENT_NCCL_CHECK(
          ncclBroadcast(t.data_ptr(), t.data_ptr(), t.numel(), NcclType(t), root_, comm_, stream_));
    }
    CRESCENT_NCCL_CHECK(ncclGroupEnd());
    CRESCENT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return version;  // the version travels with the master's SyncWeights message
  }

  void AllReduceSum(const std::vector<torch::Tensor>& tensors) override {
    CRESCENT_CUDA_CHECK(cudaDeviceSynchronize());
    CRESCENT_NCCL_CHECK(ncclGroupStart());
    for (const auto& t : tensors) {
      CRESCENT_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), NcclType(t), ncclSum,
                                        comm_, stream_));
    }
    CRESCENT_NCCL_CHECK(ncclGroupEnd());
    CRESCENT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  int root_, rank_ = 0, size_ = 1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<WeightSync> MakeNcclWeightSync(MPI_Comm comm, int root, int device) {
  return std::make_unique<NcclWeightSync>(comm, root, device);
}
#else
std::unique_ptr<WeightSync> MakeNcclWeightSync(MPI_Comm, int, int) { return nullptr; }
#endif

}  // namespace crescent::weights
