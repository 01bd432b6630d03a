#include "master/stop.hpp"

#include <cstring>
#include <stdexcept>

#include "common/net/job.hpp"
#include "common/util/log.hpp"

namespace crescent::master {

bool StopWatch::Stopping() {
  if (net::StopSignal() == 0) return false;
  if (!stopping_) {
    stopping_ = true;
    seen_ = Now(env_);
    LogWarn("received ", strsignal(net::StopSignal()), ": finishing this step, then committing (",
            "run.shutdown_grace_s = ", grace_s_, " s)");
  }
  return true;
}

void StopWatch::CheckGrace(const std::string& waiting_for) {
  if (Stopping() && SecondsSinceSignal() > grace_s_) {
    throw std::runtime_error(StrCat("the shutdown grace period (run.shutdown_grace_s = ", grace_s_,
                                    " s) ran out while waiting for ", waiting_for,
                                    "; everything committed before is kept"));
  }
}

double StopWatch::SecondsSinceSignal() const { return SecondsSince(env_, seen_); }

}  // namespace crescent::master
