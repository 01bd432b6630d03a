// The master's time comes from its Env (common/env/env.hpp): the real clock
// in a job, a fake one in tests.
#pragma once

#include <chrono>

#include "common/env/env.hpp"

namespace crescent::master {

using Clock = std::chrono::steady_clock;

inline Clock::time_point Now(env::Env* env) {
  return Clock::time_point(std::chrono::microseconds(env->NowMicros()));
}

inline double SecondsSince(env::Env* env, Clock::time_point t) {
  return std::chrono::duration<double>(Now(env) - t).count();
}

}  // namespace crescent::master
