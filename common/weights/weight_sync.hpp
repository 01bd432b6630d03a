// Moving weights between ranks: the trainers' new weights to every rollout
// worker (broadcast), and gradients among trainers (all-reduce). One
// interface, an MPI implementation for CPU tensors and an NCCL one for CUDA
// tensors (plain CUDA runtime and NCCL C APIs on raw device pointers).
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <memory>
#include <vector>

namespace crescent::weights {

class WeightSync {
 public:
  virtual ~WeightSync() = default;
  // Every rank of the communicator calls this with tensors of the same shapes,
  // in the same order; afterwards they hold the root's values. `version` is
  // the root's policy version; every rank returns it (receivers check it
  // against what they expected).
  virtual int64_t Broadcast(const std::vector<torch::Tensor>& tensors, int64_t version) = 0;
  // Sums `tensors` (e.g. gradients, each rank's already weighted by its share
  // of the batch) over the communicator, in place.
  virtual void AllReduceSum(const std::vector<torch::Tensor>& tensors) = 0;
};

// MPI over `comm` (not owned), rooted at `root`; waits sleep, never spin.
std::unique_ptr<WeightSync> MakeMpiWeightSync(MPI_Comm comm, int root,
                                              size_t bucket_bytes = 32u << 20);

// NCCL over the ranks of `comm` (the unique id travels by MPI); null when this
// build has no NCCL (CRESCENT_WITH_NCCL off).
std::unique_ptr<WeightSync> MakeNcclWeightSync(MPI_Comm comm, int root, int device);

}  // namespace crescent::weights
