// The trainers' optimizer: Adam with a scheduled learning rate, and its
// state (moments and step count) kept in checkpoints.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "trainer/lr_schedule.hpp"

namespace crescent::trainer {

// Adam, its learning-rate schedule, and the optimizer steps taken so far in
// the run (the schedule's position; restored from checkpoints).
struct TrainerOptimizer {
  TrainerOptimizer(const std::vector<torch::Tensor>& params, const LrSchedule& schedule)
      : adam(params, torch::optim::AdamOptions(schedule.peak)), schedule(schedule) {}
  torch::optim::Adam adam;
  LrSchedule schedule;
  int64_t step = 0;
};

// Sets the learning rate of every parameter group.
void SetLearningRate(torch::optim::Adam& optimizer, double lr);

// Drops Adam's moments and step counts (the next step starts afresh).
void ResetOptimizerState(torch::optim::Adam& optimizer);

// The optimizer's state and the schedule's step, in `path` (LibTorch's
// archive format). Load throws naming the file when it is missing or does
// not match the optimizer's parameters.
// Where a checkpoint directory keeps it: DIR/optimizer.pt.
std::string OptimizerPath(const std::string& checkpoint_dir);
void SaveOptimizer(TrainerOptimizer& optimizer, const std::string& path);
void LoadOptimizer(TrainerOptimizer& optimizer, const std::string& path);

}  // namespace crescent::trainer
