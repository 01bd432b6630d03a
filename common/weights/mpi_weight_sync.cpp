#include <algorithm>

#include "common/mpi/mpi_session.hpp"
#include "common/weights/weight_sync.hpp"

namespace crescent::weights {
namespace {

// Packs tensors into one contiguous buffer, and back.
torch::Tensor Flatten(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  flat.reserve(tensors.size());
  for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}));
  return torch::cat(flat).contiguous();
}

void Unflatten(const torch::Tensor& buffer, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const auto& t : tensors) {
    t.copy_(buffer.slice(0, offset, offset + t.numel()).view_as(t));
    offset += t.numel();
  }
}

class MpiWeightSync : public WeightSync {
 public:
  MpiWeightSync(MPI_Comm comm, int root, size_t bucket_bytes)
      : comm_(comm), root_(root), bucket_bytes_(bucket_bytes) {
    CRESCENT_MPI_CHECK(MPI_Comm_rank(comm, &rank_));
  }

  int64_t Broadcast(const std::vector<torch::Tensor>& tensors, int64_t version) override {
    MPI_Request request;
    CRESCENT_MPI_CHECK(MPI_Ibcast(&version, 1, MPI_INT64_T, root_, comm_, &request));
    mpi::WaitSleeping(&request);
    torch::Tensor buffer = Flatten(tensors);
    auto* bytes = static_cast<char*>(buffer.data_ptr());
    const size_t total = buffer.numel() * buffer.element_size();
    for (size_t offset = 0; offset < total; offset += bucket_bytes_) {
      int count = static_cast<int>(std::min(bucket_bytes_, total - offset));
      CRESCENT_MPI_CHECK(MPI_Ibcast(bytes + offset, count, MPI_BYTE, root_, comm_, &request));
      mpi::WaitSleeping(&request);
    }
    if (rank_ != root_) Unflatten(buffer, tensors);
    return version;
  }

  void AllReduceSum(const std::vector<torch::Tensor>& tensors) override {
    int size = 0;
    CRESCENT_MPI_CHECK(MPI_Comm_size(comm_, &size));
    if (size == 1) return;
    torch::Tensor buffer = Flatten(tensors).to(torch::kFloat32);
    MPI_Request request;
    CRESCENT_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, buffer.data_ptr(),
                                      static_cast<int>(buffer.numel()), MPI_FLOAT, MPI_SUM, comm_,
                                      &request));
    mpi::WaitSleeping(&request);
    Unflatten(buffer, tensors);
  }

 private:
  MPI_Comm comm_;
  int root_;
  int rank_ = 0;
  size_t bucket_bytes_;
};

}  // namespace

std::unique_ptr<WeightSync> MakeMpiWeightSync(MPI_Comm comm, int root, size_t bucket_bytes) {
  return std::make_unique<MpiWeightSync>(comm, root, bucket_bytes);
}

}  // namespace crescent::weights
