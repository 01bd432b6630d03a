// A stop signal as the master sees it: it finishes the step under way, then
// commits, within run.shutdown_grace_s of the signal.
#pragma once

#include <chrono>
#include <string>

namespace crescent::master {

class StopWatch {
 public:
  explicit StopWatch(double grace_s) : grace_s_(grace_s) {}
  // True once a stop signal arrived (net::StopSignal); logs it the first time.
  bool Stopping();
  // Throws when stopping and the grace period has run out while waiting for
  // `waiting_for`.
  void CheckGrace(const std::string& waiting_for);
  double SecondsSinceSignal() const;

 private:
  double grace_s_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point seen_;
};

}  // namespace crescent::master
