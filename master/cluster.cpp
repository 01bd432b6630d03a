#include "master/cluster.hpp"

#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::master {

Cluster::Cluster(const net::JobContext& job, net::MasterTransport& transport, env::Env* env)
    : job_(job), transport_(transport), env_(env) {
  for (size_t r = 0; r < job.roles.size(); ++r) {
    if (static_cast<int>(r) == job.rank) continue;
    const std::string peer = net::PeerName(static_cast<int>(r));
    peers_.push_back(peer);
    rank_of_[peer] = static_cast<int>(r);
    by_role_[job.roles[r]].push_back(peer);
  }
}

void Cluster::WaitForHellos() {
  const auto deadline =
      Now(env_) +
      std::chrono::milliseconds(static_cast<int64_t>(job_.config.cluster.startup_timeout_s * 1000));
  std::set<std::string> waiting(peers_.begin(), peers_.end());
  while (!waiting.empty()) {
    if (Now(env_) > deadline) {
      std::string missing;
      for (const auto& p : waiting) missing += "\n  " + Describe(p);
      throw std::runtime_error(StrCat("these ranks did not connect within ",
                                      job_.config.cluster.startup_timeout_s,
                                      " s (cluster.startup_timeout_s):", missing));
    }
    std::optional<net::Incoming> in = Receive(std::chrono::milliseconds(200));
    if (!in) continue;
    auto* hello = std::get_if<proto::Hello>(&in->message);
    if (!hello || !waiting.count(in->peer)) {
      LogWarn("ignored ", proto::MessageName(in->message), " from \"", in->peer,
              "\" during start-up");
      continue;
    }
    const int rank = rank_of_.at(in->peer);
    if (hello->role != config::RoleName(job_.roles[rank])) {
      throw std::runtime_error(StrCat("rank ", rank, " on host ", hello->host, " says it is a ",
                                      hello->role, ", the config makes it a ",
                                      config::RoleName(job_.roles[rank])));
    }
    pids_[in->peer] = hello->pid;
    LogInfo("hello from ", Describe(in->peer));
    waiting.erase(in->peer);
    connected_.push_back(in->peer);
  }
  LogInfo("all ", peers_.size(), " workers connected");
}

std::optional<net::Incoming> Cluster::Receive(std::chrono::milliseconds timeout) {
  transport_.HeartbeatPeers(connected_);
  std::optional<net::Incoming> in = transport_.Receive(timeout);
  CheckLiveness();
  if (in && std::holds_alternative<proto::WorkerError>(in->message)) {
    throw std::runtime_error(
        StrCat(Describe(in->peer), " failed: ", std::get<proto::WorkerError>(in->message).what));
  }
  return in;
}

void Cluster::Send(const std::string& peer, const proto::Message& message) {
  transport_.Send(peer, message);
}

void Cluster::CheckLiveness() {
  const double timeout = job_.config.cluster.link.heartbeat_timeout_s;
  for (const auto& peer : connected_) {
    double silent = transport_.SilenceSeconds(peer);
    bool reported = unresponsive_.count(peer) > 0;
    if (silent > job_.config.cluster.worker_lost_after_s) {
      throw std::runtime_error(StrCat("lost ", Describe(peer), ": no heartbeat for ", silent,
                                      " s (cluster.worker_lost_after_s)"));
    }
    if (silent > timeout && !reported) {
      LogError("unresponsive: ", Describe(peer), " has sent no heartbeat for ", silent, " s");
      unresponsive_.insert(peer);
    } else if (silent <= timeout && reported) {
      LogWarn("responsive again: ", Describe(peer));
      unresponsive_.erase(peer);
    }
  }
}

void Cluster::ShutdownAll(const std::string& reason) {
  for (const auto& peer : connected_) transport_.Send(peer, proto::Shutdown{reason});
}

const std::vector<std::string>& Cluster::Workers(config::Role role) const {
  static const std::vector<std::string> kNone;
  auto it = by_role_.find(role);
  return it == by_role_.end() ? kNone : it->second;
}

std::string Cluster::Describe(const std::string& peer) const {
  auto it = rank_of_.find(peer);
  if (it == rank_of_.end()) return "unknown peer \"" + peer + "\"";
  std::string text = job_.Describe(it->second);
  auto pid = pids_.find(peer);
  if (pid != pids_.end()) text += StrCat(" (pid ", pid->second, ")");
  return text;
}

}  // namespace crescent::master
