#include "master/master.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "common/util/log.hpp"
#include "master/prompt_feed.hpp"

namespace crescent::master {
namespace {

using Clock = std::chrono::steady_clock;
using proto::Message;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Splits `items` into `parts` nearly equal consecutive runs.
template <class T>
std::vector<std::vector<T>> Split(std::vector<T> items, size_t parts) {
  std::vector<std::vector<T>> out(parts);
  size_t base = items.size() / parts, extra = items.size() % parts, next = 0;
  for (size_t p = 0; p < parts; ++p) {
    size_t n = base + (p < extra ? 1 : 0);
    for (size_t i = 0; i < n; ++i) out[p].push_back(std::move(items[next++]));
  }
  return out;
}

struct Trajectory {
  proto::Prompt prompt;
  proto::Sample sample;
  proto::Score score;
};

class Master {
 public:
  Master(const net::JobContext& job, net::MasterSocket& socket)
      : job_(job), socket_(socket), feed_(MakePromptFeed(job.config)) {
    for (size_t r = 0; r < job.roles.size(); ++r) {
      if (static_cast<int>(r) == job.rank) continue;
      const std::string peer = net::PeerName(static_cast<int>(r));
      peers_.push_back(peer);
      rank_of_[peer] = static_cast<int>(r);
      by_role_[job.roles[r]].push_back(peer);
    }
  }

  int Run() {
    WriteEndpointFile();
    WaitForHellos();
    LogInfo("all ", peers_.size(), " workers connected");
    metrics_.open(job_.config.run.dir + "/metrics.jsonl", std::ios::app);
    const int64_t iterations = job_.config.run.iterations;
    const int64_t every = job_.config.eval.every;
    double before = Evaluate("before RL");
    double after = before;
    for (int64_t it = 1; it <= iterations; ++it) {
      RunIteration(it);
      if (it == iterations || (every > 0 && it % every == 0))
        after = Evaluate(StrCat("iteration ", it));
    }
    if (!feed_->Heldout().empty()) {
      LogInfo("held-out accuracy: ", before, " before RL, ", after, " after ", iterations,
              " iterations (", feed_->Heldout().size(), " problems)");
    }
    ShutdownAll("job finished");
    return 0;
  }

 private:
  // ---- one RL iteration ----------------------------------------------------

  void RunIteration(int64_t iteration) {
    const auto& rc = job_.config.rollout;
    const auto& tc = job_.config.trainer;
    proto::SamplingParams sampling;
    sampling.temperature = static_cast<float>(rc.temperature);
    sampling.top_k = static_cast<int32_t>(rc.top_k);
    sampling.top_p = static_cast<float>(rc.top_p);

    auto t0 = Clock::now();
    generated_with_.clear();
    std::vector<proto::Prompt> prompts = feed_->Draw(tc.groups_per_step);
    std::vector<proto::GenerationTask> tasks;
    for (const auto& prompt : prompts) {
      for (int64_t j = 0; j < rc.samples_per_prompt; ++j) {
        proto::GenerationTask task;
        task.trajectory_id = next_trajectory_id_++;
        task.prompt = prompt;
        task.max_response_tokens = static_cast<int32_t>(rc.max_response_tokens);
        task.sampling = sampling;
        task.sampling.seed =
            static_cast<uint64_t>(job_.config.run.seed) * 1000003u + task.trajectory_id;
        tasks.push_back(std::move(task));
      }
    }
    std::vector<Trajectory> done = Generate(std::move(tasks));
    const double gen_s = Since(t0);
    t0 = Clock::now();
    const size_t scored = ScoreAll(&done);
    const double score_s = Since(t0);

    // Groups of k, in prompt order.
    std::map<std::string, proto::TrainGroup> groups;
    double reward_sum = 0, correct = 0, tokens = 0;
    for (const auto& t : done) {
      proto::TrainSample s;
      s.trajectory_id = t.sample.trajectory_id;
      s.prompt_tokens = t.sample.prompt_tokens;
      s.response_tokens = t.sample.tokens;
      s.behaviour_logprobs = t.sample.logprobs;
      s.loss_mask.assign(t.sample.tokens.size(), 1);
      s.reward = t.score.reward;
      groups[t.prompt.id].prompt_id = t.prompt.id;
      groups[t.prompt.id].samples.push_back(std::move(s));
      reward_sum += t.score.reward;
      correct += t.score.correct;
      tokens += t.sample.tokens.size();
    }
    for (const auto& [id, group] : groups) {
      double success = 0;
      for (const auto& s : group.samples) success += s.reward > 0;
      feed_->Report(id, success / group.samples.size());
    }
    t0 = Clock::now();
    std::vector<proto::TrainGroup> batch;
    for (auto& [id, group] : groups) batch.push_back(std::move(group));
    std::map<std::string, double> stats = Train(iteration, std::move(batch));
    const double train_s = Since(t0);
    t0 = Clock::now();
    SyncWeights();
    const double sync_s = Since(t0);

    const double n = std::max<double>(1, done.size());
    nlohmann::json line = {
        {"iteration", iteration},
        {"policy_version", policy_version_},
        {"generated_with_policy_versions", generated_with_},
        {"samples_scored", scored},
        {"mean_reward", reward_sum / n},
        {"accuracy", correct / n},
        {"mean_response_length", tokens / n},
        {"tokens_per_s", gen_s > 0 ? tokens / gen_s : 0},
        {"seconds",
         {{"generate", gen_s}, {"score", score_s}, {"train", train_s}, {"sync", sync_s}}}};
    for (const auto& [k, v] : stats) line["train"][k] = v;
    metrics_ << line.dump() << "\n" << std::flush;
    char text[256];
    std::snprintf(text, sizeof text,
                  "iter %lld | reward %.3f | acc %.3f | len %.1f | %.0f tok/s | gen %.2fs score "
                  "%.2fs train %.2fs sync %.2fs",
                  static_cast<long long>(iteration), reward_sum / n, correct / n, tokens / n,
                  gen_s > 0 ? tokens / gen_s : 0.0, gen_s, score_s, train_s, sync_s);
    LogInfo(text);
  }

  // Held-out accuracy with greedy decoding; -1 when the task has no held-out set.
  double Evaluate(const std::string& when) {
    const auto& heldout = feed_->Heldout();
    if (heldout.empty()) return -1;
    auto t0 = Clock::now();
    std::vector<proto::GenerationTask> tasks;
    for (const auto& prompt : heldout) {
      proto::GenerationTask task;
      task.trajectory_id = next_trajectory_id_++;
      task.prompt = prompt;
      task.max_response_tokens = static_cast<int32_t>(job_.config.rollout.max_response_tokens);
      task.sampling.temperature = 0;  // greedy
      tasks.push_back(std::move(task));
    }
    std::vector<Trajectory> done = Generate(std::move(tasks));
    ScoreAll(&done);
    double correct = 0;
    for (const auto& t : done) correct += t.score.correct;
    const double accuracy = correct / done.size();
    metrics_ << nlohmann::json{{"eval", when},
                               {"policy_version", policy_version_},
                               {"heldout_accuracy", accuracy},
                               {"problems", done.size()}}
                    .dump()
             << "\n"
             << std::flush;
    LogInfo("eval ", when, ": held-out accuracy ", accuracy, " (", done.size(), " problems, ",
            Since(t0), " s)");
    return accuracy;
  }

  std::vector<Trajectory> Generate(std::vector<proto::GenerationTask> tasks) {
    std::map<uint64_t, proto::Prompt> prompts;
    for (const auto& t : tasks) prompts[t.trajectory_id] = t.prompt;
    const auto& workers = by_role_[config::Role::kRollout];
    auto shares = Split(std::move(tasks), workers.size());
    std::vector<std::pair<std::string, Message>> sends;
    for (size_t w = 0; w < workers.size(); ++w) {
      sends.emplace_back(workers[w],
                         proto::GenerateRequest{next_request_id_++, std::move(shares[w])});
    }
    std::vector<Trajectory> out;
    for (auto& result : Exchange<proto::GenerateResult>(sends)) {
      // Weights change only between generation batches, all at once.
      if (result.policy_version != policy_version_) {
        throw std::runtime_error(StrCat("a rollout worker generated with policy version ",
                                        result.policy_version, ", the current one is ",
                                        policy_version_));
      }
      generated_with_.push_back(result.policy_version);
      for (auto& s : result.samples) {
        Trajectory t;
        t.prompt = prompts.at(s.trajectory_id);
        t.sample = std::move(s);
        out.push_back(std::move(t));
      }
    }
    return out;
  }

  // Scores every trajectory; returns how many scores came back.
  size_t ScoreAll(std::vector<Trajectory>* trajectories) {
    std::vector<proto::ScoreItem> items;
    std::map<uint64_t, Trajectory*> by_id;
    for (auto& t : *trajectories) {
      items.push_back({t.sample.trajectory_id, t.prompt, t.sample.text});
      by_id[t.sample.trajectory_id] = &t;
    }
    const auto& services = by_role_[config::Role::kReward];
    auto shares = Split(std::move(items), services.size());
    std::vector<std::pair<std::string, Message>> sends;
    for (size_t w = 0; w < services.size(); ++w) {
      sends.emplace_back(services[w],
                         proto::ScoreRequest{next_request_id_++, std::move(shares[w])});
    }
    size_t scored = 0;
    for (auto& result : Exchange<proto::ScoreResult>(sends)) {
      for (auto& score : result.scores) {
        ++scored;
        if (!score.error.empty()) {
          LogWarn("reward for trajectory ", score.trajectory_id, ": ", score.error);
        }
        auto it = by_id.find(score.trajectory_id);
        if (it == by_id.end()) {
          throw std::runtime_error(StrCat("a reward service scored trajectory ",
                                          score.trajectory_id, ", which it was not sent"));
        }
        it->second->score = std::move(score);
      }
    }
    return scored;
  }

  std::map<std::string, double> Train(int64_t iteration, std::vector<proto::TrainGroup> groups) {
    const auto& trainers = by_role_[config::Role::kTrainer];
    const int64_t total = static_cast<int64_t>(groups.size());
    auto shares = Split(std::move(groups), trainers.size());
    std::vector<std::pair<std::string, Message>> sends;
    for (size_t w = 0; w < trainers.size(); ++w) {
      proto::TrainRequest request;
      request.request_id = next_request_id_++;
      request.iteration = iteration;
      request.new_policy_version = policy_version_ + 1;
      request.total_groups = total;
      request.groups = std::move(shares[w]);
      sends.emplace_back(trainers[w], std::move(request));
    }
    std::map<std::string, double> stats;
    for (auto& result : Exchange<proto::TrainResult>(sends)) {
      for (const auto& [k, v] : result.stats) stats[k] += v / trainers.size();
    }
    return stats;
  }

  // Trainers broadcast the new weights; every rollout worker takes them
  // between generation batches (it is idle now).
  void SyncWeights() {
    const proto::PolicyVersion version = policy_version_ + 1;
    std::vector<std::pair<std::string, Message>> sends;
    for (auto role : {config::Role::kTrainer, config::Role::kRollout}) {
      for (const auto& peer : by_role_[role]) sends.emplace_back(peer, proto::SyncWeights{version});
    }
    for (const auto& reply : Exchange<proto::WeightsSynced>(sends)) {
      if (reply.policy_version != version) {
        throw std::runtime_error(StrCat("weight sync: a worker reports version ",
                                        reply.policy_version, ", expected ", version));
      }
    }
    policy_version_ = version;
  }

  // Sends each request and waits for one reply of type R from each peer.
  template <class R>
  std::vector<R> Exchange(const std::vector<std::pair<std::string, Message>>& sends) {
    std::set<std::string> waiting;
    for (const auto& [peer, message] : sends) {
      socket_.Send(peer, message);
      waiting.insert(peer);
    }
    std::vector<R> replies;
    while (!waiting.empty()) {
      std::optional<net::Incoming> in = Pump(std::chrono::milliseconds(200));
      if (!in) continue;
      auto* reply = std::get_if<R>(&in->message);
      if (!reply || !waiting.count(in->peer)) {
        LogWarn("ignored ", proto::MessageName(in->message), " from ", Describe(in->peer));
        continue;
      }
      if (!reply->error.empty()) {
        throw std::runtime_error(
            StrCat(Describe(in->peer), ": ", proto::MessageName(in->message), ": ", reply->error));
      }
      waiting.erase(in->peer);
      replies.push_back(std::move(*reply));
    }
    return replies;
  }

  // ---- cluster -------------------------------------------------------------

  // Receives one message (heartbeats are handled underneath), keeping the
  // heartbeats going and reporting silent workers.
  std::optional<net::Incoming> Pump(std::chrono::milliseconds timeout) {
    socket_.HeartbeatPeers(connected_);
    std::optional<net::Incoming> in = socket_.Receive(timeout);
    CheckLiveness();
    if (in && std::holds_alternative<proto::WorkerError>(in->message)) {
      throw std::runtime_error(
          StrCat(Describe(in->peer), " failed: ", std::get<proto::WorkerError>(in->message).what));
    }
    return in;
  }

  void CheckLiveness() {
    const double timeout = job_.config.cluster.heartbeat_timeout_s;
    for (const auto& peer : connected_) {
      double silent = socket_.SilenceSeconds(peer);
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

  void WaitForHellos() {
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                                             job_.config.cluster.startup_timeout_s * 1000));
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
  std::unique_ptr<PromptFeed> feed_;
  std::vector<std::string> peers_;
  std::map<std::string, int> rank_of_;
  std::map<config::Role, std::vector<std::string>> by_role_;
  std::map<std::string, int> pids_;
  std::vector<std::string> connected_;
  std::set<std::string> unresponsive_;
  std::ofstream metrics_;
  std::vector<proto::PolicyVersion> generated_with_;  // by each rollout worker, this iteration
  uint64_t next_request_id_ = 1;
  uint64_t next_trajectory_id_ = 1;
  proto::PolicyVersion policy_version_ = 0;
};

}  // namespace

int RunMaster(const net::JobContext& job, net::MasterSocket& socket) {
  Master master(job, socket);
  return master.Run();
}

}  // namespace crescent::master
