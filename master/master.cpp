#include "master/master.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::master {
namespace {

using Clock = std::chrono::steady_clock;
using proto::Message;

class Master {
 public:
  Master(const net::JobContext& job, net::MasterSocket& socket) : job_(job), socket_(socket) {
    for (size_t r = 0; r < job.roles.size(); ++r) {
      if (static_cast<int>(r) == job.rank) continue;
      peers_.push_back(net::PeerName(static_cast<int>(r)));
      rank_of_[peers_.back()] = static_cast<int>(r);
    }
  }

  int Run() {
    WriteEndpointFile();
    WaitForHellos();
    LogInfo("all ", peers_.size(), " workers connected");
    ShutdownAll("job finished");
    return 0;
  }

 private:
  // Receives one message (heartbeats are handled underneath), keeping the
  // heartbeats going and reporting silent workers.
  std::optional<net::Incoming> Pump(std::chrono::milliseconds timeout) {
    socket_.HeartbeatPeers(connected_);
    std::optional<net::Incoming> in = socket_.Receive(timeout);
    CheckLiveness();
    if (in && std::holds_alternative<proto::WorkerError>(in->message)) {
      throw std::runtime_error(StrCat(Describe(in->peer), " failed: ",
                                      std::get<proto::WorkerError>(in->message).what));
    }
    return in;
  }

  void CheckLiveness() {
    const double timeout = job_.config.cluster.heartbeat_timeout_s;
    for (const auto& peer : connected_) {
      double silent = socket_.SilenceSeconds(peer);
      bool reported = unresponsive_.count(peer) > 0;
      if (silent > timeout && !reported) {
        LogError("unresponsive: ", Describe(peer), " has sent no heartbeat for ", silent, " s");
        unresponsive_.insert(peer);
      } else if (silent <= timeout && reported) {
        LogWarn("responsive again: ", Describe(peer));
        unresponsive_.erase(peer);
      }
    }
  }

  void WaitForHellos() {
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(
                           static_cast<int64_t>(job_.config.cluster.startup_timeout_s * 1000));
    std::set<std::string> waiting(peers_.begin(), peers_.end());
    while (!waiting.empty()) {
      if (Clock::now() > deadline) {
        std::string missing;
        for (const auto& p : waiting) missing += "\n  " + Describe(p);
        throw std::runtime_error(StrCat("these ranks did not connect within ",
                                        job_.config.cluster.startup_timeout_s,
                                        " s (cluster.startup_timeout_s):", missing));
      }
      std::optional<net::Incoming> in = Pump(std::chrono::milliseconds(200));
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
  }

  void ShutdownAll(const std::string& reason) {
    for (const auto& peer : connected_) socket_.Send(peer, proto::Shutdown{reason});
  }

  void WriteEndpointFile() {
    std::filesystem::create_directories(job_.config.run.dir);
    std::ofstream out(job_.config.run.dir + "/master.endpoint");
    out << socket_.endpoint() << "\n";
  }

  std::string Describe(const std::string& peer) const {
    auto it = rank_of_.find(peer);
    if (it == rank_of_.end()) return "unknown peer \"" + peer + "\"";
    std::string text = job_.Describe(it->second);
    auto pid = pids_.find(peer);
    if (pid != pids_.end()) text += StrCat(" (pid ", pid->second, ")");
    return text;
  }

  const net::JobContext& job_;
  net::MasterSocket& socket_;
  std::vector<std::string> peers_;
  std::map<std::string, int> rank_of_;
  std::map<std::string, int> pids_;
  std::vector<std::string> connected_;
  std::set<std::string> unresponsive_;
};

}  // namespace

int RunMaster(const net::JobContext& job, net::MasterSocket& socket) {
  Master master(job, socket);
  return master.Run();
}

}  // namespace crescent::master
