// Learning-rate schedules, shared by SFT and RL: a linear warm-up, then a
// constant rate or a cosine decay to a floor. Pure functions of the step
// (optimizer steps taken before this one, counted across resumes).
#pragma once

#include <cstdint>
#include <string>

#include "common/config/config.hpp"

namespace crescent::trainer {

struct LrSchedule {
  using Kind = config::LrScheduleKind;  // trainer.lr_schedule, sft.lr_schedule
  Kind kind = Kind::kConstant;
  double peak = 3e-4;        // the rate after warm-up
  int64_t warmup_steps = 0;  // steps 0..warmup-1 rise linearly to peak
  int64_t total_steps = 0;   // cosine: the rate reaches peak * min_ratio here
  double min_ratio = 0.1;    // cosine: the floor, as a fraction of peak
};

// The rate of optimizer step `step` (0-based): peak * (step + 1) / warmup
// during warm-up; then peak (constant), or for cosine
// floor + (peak - floor) * (1 + cos(pi * p)) / 2 with p the fraction of the
// post-warm-up steps done (clamped to 1: the floor after total_steps).
double LearningRate(const LrSchedule& schedule, int64_t step);

// RL's schedule (trainer.*) over the run's run.iterations *
// trainer.steps_per_iteration optimizer steps, and SFT's (sft.*) over sft.steps.
LrSchedule RlSchedule(const config::Config& config);
LrSchedule SftSchedule(const config::Config& config);

}  // namespace crescent::trainer
