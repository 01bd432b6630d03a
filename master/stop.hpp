// A stop signal as the master sees it: it finishes the step under way, then
// commits, within run.shutdown_grace_s of the signal.
#pragma once

#include <chrono>
#include <string>

#include "master/clock.hpp"

namespace crescent::master {

class StopWatch {
 public:
  StopWatch(double grace_s, env::Env* env) : grace_s_(grace_s), env_(env) {}
  // True once a stop signal arrived (net::StopSignal); logs it the first time.
  bool Stopping();
  // Throws when stopping and the grace period has run out while waiting for
  // `waiting_for`.
  void CheckGrace(const std::string& waiting_for);
  double SecondsSinceSignal() const;

 private:
  double grace_s_;
  env::Env* env_;
  bool stopping_ = false;
  Clock::time_point seen_;
};

}  // namespace crescent::master
