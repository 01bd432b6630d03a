#include "trainer/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace crescent::trainer {

double LearningRate(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps)
    return s.peak * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  if (s.kind == LrSchedule::Kind::kConstant) return s.peak;
  const int64_t span = s.total_steps - s.warmup_steps;
  const double done =
      span <= 0
          ? 1.0
          : std::min(1.0, static_cast<double>(step - s.warmup_steps) / static_cast<double>(span));
  const double floor = s.peak * s.min_ratio;
  return floor + (s.peak - floor) * 0.5 * (1.0 + std::cos(M_PI * done));
}

LrSchedule RlSchedule(const config::Config& c) {
  return {c.trainer.lr_schedule, c.trainer.lr, c.trainer.warmup_steps,
          c.run.iterations * c.trainer.steps_per_iteration, c.trainer.min_lr_ratio};
}

LrSchedule SftSchedule(const config::Config& c) {
  return {c.sft.lr_schedule, c.sft.lr, c.sft.warmup_steps, c.sft.steps, c.sft.min_lr_ratio};
}

}  // namespace crescent::trainer
