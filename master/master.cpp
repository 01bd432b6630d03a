#include "master/master.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/net/job.hpp"
#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"
#include "master/group_assembly.hpp"
#include "master/prompt_feed.hpp"
#include "master/scheduling.hpp"
#include "replay/buffer.hpp"

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

using replay::BufferState;
using replay::Change;
using replay::GroupState;

// Evaluation trajectories are not in the replay buffer: their ids come from
// a range of their own.
constexpr uint64_t kEvalIdBase = uint64_t{1} << 62;

class Master {
 public:
  Master(const net::JobContext& job, net::MasterSocket& socket)
      : job_(job),
        socket_(socket),
        feed_(MakePromptFeed(job.config)),
        ledger_(run::LedgerPath(job.config.run.dir), job.config.rollout.max_staleness,
                job.config.trainer.mask_truncated) {
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
    OpenBuffer();
    WaitForHellos();
    LogInfo("all ", peers_.size(), " workers connected");
    metrics_.open(job_.config.run.dir + "/metrics.jsonl", std::ios::app);
    Resume();
    const int64_t iterations = job_.config.run.iterations;
    const int64_t every = job_.config.eval.every;
    double before = iteration_ == 0 ? Evaluate("before RL") : -1;
    double after = before;
    while (iteration_ < iterations && !Stopping()) {
      RunIteration(iteration_ + 1);
      const int64_t it = iteration_;
      if (it == iterations || it % job_.config.trainer.checkpoint_every == 0 || Stopping())
        CheckpointTrainer();
      if (!Stopping() && (it == iterations || (every > 0 && it % every == 0)))
        after = Evaluate(StrCat("iteration ", it));
    }
    if (Stopping()) {
      CheckpointTrainer();
      buffer_->Sync();
      ShutdownAll(StrCat("stopped on ", strsignal(net::StopSignal())));
      LogInfo("stopped on ", strsignal(net::StopSignal()), " after iteration ", iteration_,
              " with everything committed (", Since(stop_seen_),
              " s after the signal); run the "
              "same command to resume");
      return 0;
    }
    DropUntrained();
    if (!feed_->Heldout().empty() && before >= 0) {
      LogInfo("held-out accuracy: ", before, " before RL, ", after, " after ", iterations,
              " iterations (", feed_->Heldout().size(), " problems)");
    }
    ShutdownAll("job finished");
    return 0;
  }

 private:
  // ---- the replay buffer and resuming ----------------------------------------

  void OpenBuffer() {
    const auto& rc = job_.config.replay;
    const replay::JournalOptions options = rc.journal;
    const std::string dir = run::ReplayDir(job_.config.run.dir);
    // The master of a job killed a moment ago may still hold the lock.
    const auto give_up = Clock::now() + std::chrono::seconds(20);
    while (true) {
      try {
        replay::RecoveryReport report;
        buffer_ =
            std::make_unique<replay::ReplayBuffer>(replay::Env::Posix(), dir, options, &report);
        if (report.tail_truncated) {
          LogWarn("replay buffer: cut a torn tail of ", report.truncated_bytes, " bytes from ",
                  report.truncated_file, " at byte offset ", report.truncated_offset, " (",
                  report.truncated_reason, ")");
        }
        if (report.records_replayed > 0 || !report.snapshot_file.empty()) {
          LogInfo("replay buffer: recovered ", dir, " (snapshot ",
                  report.snapshot_file.empty() ? "none" : report.snapshot_file, ", ",
                  report.records_replayed, " log records)");
        }
        return;
      } catch (const replay::JournalIoError& e) {
        if (Clock::now() > give_up || std::string(e.what()).find("held by") == std::string::npos)
          throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    }
  }

  void Commit(const std::vector<Change>& changes) {
    buffer_->Commit(changes);
    if (++commits_since_snapshot_ >= job_.config.replay.snapshot_every) {
      buffer_->Checkpoint();
      commits_since_snapshot_ = 0;
    }
  }

  replay::Position Position() const { return {iteration_, policy_version_, feed_->SaveState()}; }

  // Lines the buffer up with the last trainer checkpoint: groups trained
  // after it are ready again; groups it covers leave for the ledger.
  void Resume() {
    const BufferState& state = buffer_->state();
    const std::optional<run::Checkpoint> checkpoint = run::LatestCheckpoint(job_.config.run.dir);
    const proto::PolicyVersion version = checkpoint ? checkpoint->policy_version : 0;
    size_t covered = 0, redo = 0, unfinished = 0;
    for (const auto& [id, g] : state.groups()) {
      if (g.state != GroupState::kTrained) continue;
      (g.trained_version <= version ? covered : redo)++;
    }
    for (const auto& [id, t] : state.trajectories()) unfinished += !t.finished();
    std::vector<Change> changes;
    if (covered > 0) changes.push_back(replay::CommitTraining{version});
    if (state.trained_version() > version) changes.push_back(replay::Rewind{version});
    const std::string sampler = state.position().sampler_state;
    if (!sampler.empty()) feed_->LoadState(sampler);
    iteration_ = checkpoint ? checkpoint->iteration : 0;
    policy_version_ = checkpointed_version_ = version;
    if (state.position().iteration > 0 || checkpoint) {
      changes.push_back(replay::SetPosition{Position()});
      LogInfo("resuming at iteration ", iteration_, " (policy version ", version, ", ",
              checkpoint ? "checkpoint " + checkpoint->dir : std::string("no checkpoint yet"),
              "); the run had reached iteration ", state.position().iteration, ": ", redo,
              " groups trained since go back to the trainer, ", unfinished,
              " unfinished trajectories continue");
    }
    Commit(changes);
    ledger_.Flush(*buffer_);
  }

  // Trainer 0 saves the weights; then the groups they include leave the
  // buffer for the ledger.
  void CheckpointTrainer() {
    if (policy_version_ == checkpointed_version_) return;
    auto t0 = Clock::now();
    std::vector<std::pair<std::string, Message>> sends;
    for (const auto& peer : by_role_[config::Role::kTrainer])
      sends.emplace_back(peer, proto::SaveCheckpoint{iteration_, policy_version_});
    std::string dir;
    for (const auto& reply : Exchange<proto::CheckpointSaved>(sends))
      if (!reply.dir.empty()) dir = reply.dir;
    Commit({replay::CommitTraining{policy_version_}});
    const size_t lines = ledger_.Flush(*buffer_);
    checkpointed_version_ = policy_version_;
    LogInfo("checkpoint ", dir, " (iteration ", iteration_, ", policy version ", policy_version_,
            "; ", lines, " ledger lines) in ", Since(t0), " s");
  }

  // At the end of the run, what was never trained leaves the buffer for the
  // ledger as dropped.
  void DropUntrained() {
    std::vector<Change> changes;
    for (const auto& [id, g] : buffer_->state().groups()) {
      if (g.state == GroupState::kTrained) continue;
      changes.push_back(
          replay::DropGroup{id,
                            StrCat("the run ended (run.iterations = ", job_.config.run.iterations,
                                   ") with the group ", replay::GroupStateName(g.state)),
                            iteration_});
    }
    Commit(changes);
    const size_t lines = ledger_.Flush(*buffer_);
    if (lines > 0) LogInfo(lines, " trajectories never trained: dropped (see ledger.jsonl)");
  }

  // ---- stopping ----------------------------------------------------------------

  bool Stopping() {
    if (net::StopSignal() == 0) return false;
    if (!stopping_) {
      stopping_ = true;
      stop_seen_ = Clock::now();
      LogWarn("received ", strsignal(net::StopSignal()), ": finishing this step, then committing (",
              "run.shutdown_grace_s = ", job_.config.run.shutdown_grace_s, " s)");
    }
    return true;
  }

  void CheckGrace(const std::string& waiting_for) {
    if (Stopping() && Since(stop_seen_) > job_.config.run.shutdown_grace_s) {
      throw std::runtime_error(StrCat(
          "the shutdown grace period (run.shutdown_grace_s = ", job_.config.run.shutdown_grace_s,
          " s) ran out while waiting for ", waiting_for, "; everything committed before is kept"));
    }
  }

  // ---- one RL iteration ----------------------------------------------------

  proto::GenerationTask Task(uint64_t id, const proto::Prompt& prompt) const {
    const auto& rc = job_.config.rollout;
    proto::GenerationTask task;
    task.trajectory_id = id;
    task.prompt = prompt;
    task.max_response_tokens = static_cast<int32_t>(rc.max_response_tokens);
    task.budget = static_cast<int32_t>(rc.budget);
    task.sampling.temperature = static_cast<float>(rc.temperature);
    task.sampling.top_k = static_cast<int32_t>(rc.top_k);
    task.sampling.top_p = static_cast<float>(rc.top_p);
    task.stop_strings = rc.stop_strings;
    task.repeat_ngram = static_cast<int32_t>(rc.repeat_ngram);
    task.repeat_count = static_cast<int32_t>(rc.repeat_count);
    return task;
  }

  void RunIteration(int64_t iteration) {
    const auto& rc = job_.config.rollout;
    const auto& tc = job_.config.trainer;
    const BufferState& state = buffer_->state();
    nlohmann::json rollouts;

    // Stale unfinished trajectories restart (stale_policy: restart); then
    // new groups keep B groups coming.
    auto t0 = Clock::now();
    std::vector<Change> changes;
    uint64_t next_id = state.next_trajectory_id();
    if (rc.stale_policy == config::StalePolicy::kRestart)
      changes = RestartStale(state, policy_version_, rc.max_staleness, iteration, next_id);
    rollouts["restarted"] = changes.size();
    // Groups dropped since the last draw (equal rewards) are replaced by new
    // prompts on top.
    const size_t want =
        GroupsToStart(state, static_cast<size_t>(tc.groups_per_step), tc.overlap, replace_dropped_);
    replace_dropped_ = 0;
    for (Change& g :
         StartGroups(state, feed_->Draw(want), rc.samples_per_prompt, iteration, next_id))
      changes.push_back(std::move(g));
    rollouts["new_groups"] = want;
    changes.push_back(replay::SetPosition{Position()});
    Commit(changes);

    // Generate: every unfinished trajectory, continued from its tokens so far.
    generated_with_.clear();
    std::vector<proto::GenerationTask> tasks;
    size_t continued = 0;
    for (const auto& [id, t] : state.trajectories()) {
      if (t.finished()) continue;
      proto::GenerationTask task = Task(id, state.groups().at(t.group_id).prompt);
      for (const auto& s : t.segments)
        task.prefix.insert(task.prefix.end(), s.tokens.begin(), s.tokens.end());
      task.sampling.seed =
          static_cast<uint64_t>(job_.config.run.seed) * 1000003u + id * 7919u + t.segments.size();
      continued += !t.segments.empty();
      tasks.push_back(std::move(task));
    }
    rollouts["continued"] = continued;
    // With trainer.overlap the trainers take the groups completed in earlier
    // iterations while the rollout workers generate; otherwise they take the
    // ones complete after this iteration's generation and scoring.
    Pending work;
    PostGenerate(work, std::move(tasks));
    TrainBatch batch;
    bool train = false;
    if (tc.overlap) {
      batch = PickBatch(iteration);
      train = !batch.ids.empty() && !Stopping();
      if (train) PostTrain(work, iteration, std::move(batch.groups));
    }
    Wait(work);
    std::vector<proto::Sample> samples = TakeSamples(work);
    const double gen_s = Took<proto::GenerateResult>(work);
    changes.clear();
    size_t generated = 0;
    std::map<std::string, int64_t> finishes;
    for (auto& s : samples) {
      generated += s.tokens.size();
      ++finishes[proto::FinishReasonName(s.finish_reason)];
      replay::AddSegment add;
      add.trajectory_id = s.trajectory_id;
      add.prompt_tokens = std::move(s.prompt_tokens);
      add.segment.tokens = std::move(s.tokens);
      add.segment.logprobs = std::move(s.logprobs);
      add.segment.policy_version = s.policy_version;
      add.segment.iteration = iteration;
      add.finish = s.finish_reason;
      add.text = std::move(s.text);
      changes.push_back(std::move(add));
    }
    Commit(changes);
    rollouts["finish"] = finishes;
    rollouts["generated_tokens"] = generated;

    // Score what finished; groups whose k samples are all scored are ready.
    t0 = Clock::now();
    std::vector<proto::ScoreItem> items;
    for (const auto& [id, t] : state.trajectories()) {
      if (t.finished() && !t.scored)
        items.push_back({id, state.groups().at(t.group_id).prompt, t.text});
    }
    std::map<uint64_t, proto::Score> scores = ScoreAll(items);
    changes.clear();
    for (const auto& [id, score] : scores) {
      const bool repeated = state.trajectories().at(id).finish == proto::FinishReason::kRepeat;
      changes.push_back(replay::ScoreTrajectory{
          id, score.reward - (repeated ? job_.config.reward.repeat_penalty : 0.0), score.correct});
    }
    Commit(changes);
    std::set<uint64_t> completed;
    for (const auto& [id, score] : scores) {
      const uint64_t group = state.trajectories().at(id).group_id;
      if (state.groups().at(group).state == GroupState::kReady) completed.insert(group);
    }
    for (uint64_t group : completed) ReportIfReady(group);
    rollouts["dropped_equal_reward"] = DropEqualRewardGroups(completed, iteration);
    const double score_s = Since(t0);

    std::map<std::string, double> stats;
    double train_s = 0, sync_s = 0;
    if (tc.overlap) {
      stats = TakeStats(work);
      train_s = Took<proto::TrainResult>(work);
    } else {
      batch = PickBatch(iteration);
      train = !batch.ids.empty() && !Stopping();
      if (train) {
        Pending step;
        PostTrain(step, iteration, std::move(batch.groups));
        Wait(step);
        stats = TakeStats(step);
        train_s = Took<proto::TrainResult>(step);
      }
    }
    if (train) {
      t0 = Clock::now();
      SyncWeights();
      sync_s = Since(t0);
    } else if (batch.ids.empty()) {
      LogInfo("iteration ", iteration, ": no complete group yet; nothing to train");
    }
    iteration_ = iteration;
    changes.clear();
    if (train) changes.push_back(replay::TrainGroups{batch.ids, iteration, policy_version_});
    changes.push_back(replay::SetPosition{Position()});
    Commit(changes);

    size_t unfinished = 0, waiting = 0;
    for (const auto& [id, t] : state.trajectories()) unfinished += !t.finished();
    for (const auto& [id, g] : state.groups()) waiting += g.state == GroupState::kReady;
    rollouts["unfinished"] = unfinished;
    rollouts["groups_trained"] = train ? batch.ids.size() : 0;
    rollouts["groups_waiting"] = waiting;
    const double n = std::max<double>(1, batch.samples);
    nlohmann::json line = {
        {"iteration", iteration},
        {"policy_version", policy_version_},
        {"generated_with_policy_versions", generated_with_},
        {"samples_scored", scores.size()},
        {"samples_trained", train ? batch.samples : 0},
        {"mean_reward", batch.reward_sum / n},
        {"mean_length_reward", batch.length_reward_sum / n},
        {"accuracy", batch.correct / n},
        {"mean_response_length", batch.tokens / n},
        {"tokens_per_s", gen_s > 0 ? generated / gen_s : 0},
        {"rollouts", rollouts},
        {"seconds",
         {{"generate", gen_s}, {"score", score_s}, {"train", train_s}, {"sync", sync_s}}}};
    for (const auto& [k, v] : stats) line["train"][k] = v;
    metrics_ << line.dump() << "\n" << std::flush;
    char text[320];
    std::snprintf(text, sizeof text,
                  "iter %lld | reward %.3f | acc %.3f | len %.1f | %.0f tok/s | %zu unfinished | "
                  "gen %.2fs score %.2fs train %.2fs sync %.2fs",
                  static_cast<long long>(iteration), batch.reward_sum / n, batch.correct / n,
                  batch.tokens / n, gen_s > 0 ? generated / gen_s : 0.0, unfinished, gen_s, score_s,
                  train_s, sync_s);
    LogInfo(text);
  }

  // With trainer.drop_equal_reward_groups: of the groups just completed,
  // those whose k rewards are all equal leave for the ledger as dropped, to
  // be replaced at the next draw. Returns how many.
  size_t DropEqualRewardGroups(const std::set<uint64_t>& completed, int64_t iteration) {
    if (!job_.config.trainer.drop_equal_reward_groups) return 0;
    const BufferState& state = buffer_->state();
    std::vector<Change> changes;
    for (uint64_t id : completed) {
      const replay::Group& g = state.groups().at(id);
      if (!RewardsAllEqual(state, g)) continue;
      changes.push_back(
          replay::DropGroup{id,
                            StrCat("all ", g.trajectories.size(), " rewards equal ",
                                   state.trajectories().at(g.trajectories.front()).reward,
                                   " (trainer.drop_equal_reward_groups)"),
                            iteration});
    }
    Commit(changes);
    replace_dropped_ += changes.size();
    return changes.size();
  }

  // The oldest complete groups, at most B, and what they scored.
  struct TrainBatch {
    std::vector<uint64_t> ids;
    std::vector<proto::TrainGroup> groups;
    double reward_sum = 0, length_reward_sum = 0, correct = 0, tokens = 0, samples = 0;
  };

  // The groups for a step of `iteration`, with the length reward added once
  // its warm-up is over.
  TrainBatch PickBatch(int64_t iteration) const {
    const auto& rc = job_.config.reward;
    AssemblyOptions options;
    options.policy_version = policy_version_;
    options.max_staleness = job_.config.rollout.max_staleness;
    options.mask_truncated = job_.config.trainer.mask_truncated;
    if (iteration > rc.length_penalty_warmup) options.length_weight = rc.length_penalty;
    const BufferState& state = buffer_->state();
    TrainBatch batch;
    for (uint64_t id :
         GroupsToTrain(state, static_cast<size_t>(job_.config.trainer.groups_per_step))) {
      const replay::Group& g = state.groups().at(id);
      proto::TrainGroup group = AssembleGroup(state, g, options);
      for (size_t j = 0; j < group.samples.size(); ++j) {
        const replay::Trajectory& t = state.trajectories().at(g.trajectories[j]);
        batch.reward_sum += t.reward;
        batch.length_reward_sum += group.samples[j].reward - t.reward;
        batch.correct += t.correct;
        batch.tokens += group.samples[j].response_tokens.size();
        ++batch.samples;
      }
      batch.groups.push_back(std::move(group));
      batch.ids.push_back(id);
    }
    return batch;
  }

  // Tells the prompt sampler how a group did, once it is complete.
  void ReportIfReady(uint64_t group_id) {
    const BufferState& state = buffer_->state();
    const replay::Group& g = state.groups().at(group_id);
    if (g.state != GroupState::kReady || !reported_.insert(group_id).second) return;
    double success = 0;
    for (uint64_t id : g.trajectories) success += state.trajectories().at(id).reward > 0;
    feed_->Report(g.prompt.id, success / g.trajectories.size());
  }

  // Held-out accuracy with greedy decoding; -1 when the task has no held-out set.
  double Evaluate(const std::string& when) {
    const auto& heldout = feed_->Heldout();
    if (heldout.empty()) return -1;
    auto t0 = Clock::now();
    std::vector<proto::GenerationTask> tasks;
    std::map<uint64_t, const proto::Prompt*> prompts;
    for (const auto& prompt : heldout) {
      proto::GenerationTask task = Task(kEvalIdBase + next_eval_id_++, prompt);
      task.budget = 0;
      task.sampling = {};
      task.sampling.temperature = 0;  // greedy
      prompts[task.trajectory_id] = &prompt;
      tasks.push_back(std::move(task));
    }
    std::vector<proto::ScoreItem> items;
    for (const auto& s : Generate(std::move(tasks)))
      items.push_back({s.trajectory_id, *prompts.at(s.trajectory_id), s.text});
    double correct = 0;
    for (const auto& [id, score] : ScoreAll(items)) correct += score.correct;
    const double accuracy = correct / heldout.size();
    metrics_ << nlohmann::json{{"eval", when},
                               {"policy_version", policy_version_},
                               {"heldout_accuracy", accuracy},
                               {"problems", heldout.size()}}
                    .dump()
             << "\n"
             << std::flush;
    LogInfo("eval ", when, ": held-out accuracy ", accuracy, " (", heldout.size(), " problems, ",
            Since(t0), " s)");
    return accuracy;
  }

  // ---- requests to the workers ------------------------------------------------

  // Requests under way: one reply, of the type its request calls for, is
  // awaited from each peer.
  struct Awaited {
    size_t index;                                 // the reply's alternative of Message
    std::string (*error)(const proto::Message&);  // its error field
  };
  struct Pending {
    Clock::time_point start = Clock::now();
    std::map<std::string, Awaited> awaited;
    std::map<std::string, Message> replies;
    std::map<std::string, double> seconds;  // from start to each reply
  };

  template <class R>
  void Post(Pending& p, const std::string& peer, Message request) {
    socket_.Send(peer, request);
    p.awaited[peer] = {Message(R{}).index(), [](const Message& m) { return std::get<R>(m).error; }};
  }

  void Wait(Pending& p) {
    while (p.replies.size() < p.awaited.size()) {
      if (Stopping()) {
        for (const auto& [peer, a] : p.awaited)
          if (!p.replies.count(peer)) CheckGrace(StrCat("a reply from ", Describe(peer)));
      }
      std::optional<net::Incoming> in = Pump(std::chrono::milliseconds(200));
      if (!in) continue;
      auto it = p.awaited.find(in->peer);
      if (it == p.awaited.end() || p.replies.count(in->peer) ||
          in->message.index() != it->second.index) {
        LogWarn("ignored ", proto::MessageName(in->message), " from ", Describe(in->peer));
        continue;
      }
      const std::string error = it->second.error(in->message);
      if (!error.empty()) {
        throw std::runtime_error(
            StrCat(Describe(in->peer), ": ", proto::MessageName(in->message), ": ", error));
      }
      p.seconds[in->peer] = Since(p.start);
      p.replies.emplace(in->peer, std::move(in->message));
    }
  }

  // The replies of type R, by peer.
  template <class R>
  std::vector<R> Take(Pending& p) {
    std::vector<R> out;
    for (auto& [peer, m] : p.replies)
      if (auto* r = std::get_if<R>(&m)) out.push_back(std::move(*r));
    return out;
  }

  // Seconds until the last reply of type R arrived.
  template <class R>
  double Took(const Pending& p) const {
    double s = 0;
    for (const auto& [peer, m] : p.replies)
      if (std::holds_alternative<R>(m)) s = std::max(s, p.seconds.at(peer));
    return s;
  }

  // Sends each request and waits for one reply of type R from each peer.
  template <class R>
  std::vector<R> Exchange(std::vector<std::pair<std::string, Message>> sends) {
    Pending p;
    for (auto& [peer, message] : sends) Post<R>(p, peer, std::move(message));
    Wait(p);
    return Take<R>(p);
  }

  void PostGenerate(Pending& p, std::vector<proto::GenerationTask> tasks) {
    const auto& workers = by_role_[config::Role::kRollout];
    auto shares = Split(std::move(tasks), workers.size());
    for (size_t w = 0; w < workers.size(); ++w) {
      Post<proto::GenerateResult>(p, workers[w],
                                  proto::GenerateRequest{next_request_id_++, std::move(shares[w])});
    }
  }

  std::vector<proto::Sample> TakeSamples(Pending& p) {
    std::vector<proto::Sample> out;
    for (auto& result : Take<proto::GenerateResult>(p)) {
      // Weights change only between generation batches, all at once.
      if (result.policy_version != policy_version_) {
        throw std::runtime_error(StrCat("a rollout worker generated with policy version ",
                                        result.policy_version, ", the current one is ",
                                        policy_version_));
      }
      generated_with_.push_back(result.policy_version);
      for (auto& s : result.samples) out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<proto::Sample> Generate(std::vector<proto::GenerationTask> tasks) {
    Pending p;
    PostGenerate(p, std::move(tasks));
    Wait(p);
    return TakeSamples(p);
  }

  // Scores the items on the reward services; by trajectory id.
  std::map<uint64_t, proto::Score> ScoreAll(std::vector<proto::ScoreItem> items) {
    std::set<uint64_t> sent;
    for (const auto& item : items) sent.insert(item.trajectory_id);
    const auto& services = by_role_[config::Role::kReward];
    auto shares = Split(std::move(items), services.size());
    std::vector<std::pair<std::string, Message>> sends;
    for (size_t w = 0; w < services.size(); ++w) {
      sends.emplace_back(services[w],
                         proto::ScoreRequest{next_request_id_++, std::move(shares[w])});
    }
    std::map<uint64_t, proto::Score> scores;
    for (auto& result : Exchange<proto::ScoreResult>(std::move(sends))) {
      for (auto& score : result.scores) {
        if (!score.error.empty()) {
          LogWarn("reward for trajectory ", score.trajectory_id, ": ", score.error);
        }
        if (!sent.count(score.trajectory_id)) {
          throw std::runtime_error(StrCat("a reward service scored trajectory ",
                                          score.trajectory_id, ", which it was not sent"));
        }
        scores[score.trajectory_id] = std::move(score);
      }
    }
    return scores;
  }

  void PostTrain(Pending& p, int64_t iteration, std::vector<proto::TrainGroup> groups) {
    const auto& trainers = by_role_[config::Role::kTrainer];
    const int64_t total = static_cast<int64_t>(groups.size());
    auto shares = Split(std::move(groups), trainers.size());
    for (size_t w = 0; w < trainers.size(); ++w) {
      proto::TrainRequest request;
      request.request_id = next_request_id_++;
      request.iteration = iteration;
      request.new_policy_version = policy_version_ + 1;
      request.total_groups = total;
      request.groups = std::move(shares[w]);
      Post<proto::TrainResult>(p, trainers[w], std::move(request));
    }
  }

  // The trainers' statistics, averaged.
  std::map<std::string, double> TakeStats(Pending& p) {
    std::map<std::string, double> stats;
    const auto results = Take<proto::TrainResult>(p);
    for (const auto& result : results)
      for (const auto& [k, v] : result.stats) stats[k] += v / results.size();
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
    for (const auto& reply : Exchange<proto::WeightsSynced>(std::move(sends))) {
      if (reply.policy_version != version) {
        throw std::runtime_error(StrCat("weight sync: a worker reports version ",
                                        reply.policy_version, ", expected ", version));
      }
    }
    policy_version_ = version;
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
    const double timeout = job_.config.cluster.link.heartbeat_timeout_s;
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
  std::unique_ptr<replay::ReplayBuffer> buffer_;
  replay::Ledger ledger_;
  int64_t commits_since_snapshot_ = 0;
  size_t replace_dropped_ = 0;                        // groups dropped since the last draw
  std::set<uint64_t> reported_;                       // groups whose success the sampler has heard
  std::vector<proto::PolicyVersion> generated_with_;  // by each rollout worker, this iteration
  uint64_t next_request_id_ = 1;
  uint64_t next_eval_id_ = 0;
  int64_t iteration_ = 0;  // the last finished iteration
  proto::PolicyVersion policy_version_ = 0;
  proto::PolicyVersion checkpointed_version_ = 0;
  bool stopping_ = false;
  Clock::time_point stop_seen_;
};

}  // namespace

int RunMaster(const net::JobContext& job, net::MasterSocket& socket) {
  Master master(job, socket);
  return master.Run();
}

}  // namespace crescent::master
