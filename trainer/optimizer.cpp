#include "trainer/optimizer.hpp"

#include <filesystem>
#include <stdexcept>

namespace crescent::trainer {

void SetLearningRate(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

void ResetOptimizerState(torch::optim::Adam& optimizer) { optimizer.state().clear(); }

std::string OptimizerPath(const std::string& dir) { return dir + "/optimizer.pt"; }

void SaveOptimizer(TrainerOptimizer& optimizer, const std::string& path) {
  torch::serialize::OutputArchive archive;
  optimizer.adam.save(archive);
  archive.write("schedule_step", torch::tensor(optimizer.step, torch::kLong));
  archive.save_to(path);
}

void LoadOptimizer(TrainerOptimizer& optimizer, const std::string& path) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path + ": the checkpoint has no optimizer state");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    optimizer.adam.load(archive);
    torch::Tensor step;
    archive.read("schedule_step", step);
    optimizer.step = step.item<int64_t>();
  } catch (const c10::Error& e) {
    throw std::runtime_error(path +
                             ": cannot load the optimizer state: " + e.what_without_backtrace());
  }
}

}  // namespace crescent::trainer
