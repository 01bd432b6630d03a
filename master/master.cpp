#include "master/master.hpp"

#include <cstring>
#include <set>

#include "common/util/log.hpp"
#include "master/cluster.hpp"
#include "master/evaluation.hpp"
#include "master/metrics.hpp"
#include "master/progress.hpp"
#include "master/scheduling.hpp"
#include "master/stop.hpp"
#include "master/workers.hpp"

namespace crescent::master {
namespace {

using replay::BufferState;
using replay::Change;
using replay::GroupState;

class Master {
 public:
  Master(const net::JobContext& job, env::Env* env, net::MasterTransport& transport,
         PromptFeed& feed, PromptEncoder& prompts, replay::ReplayBuffer& buffer)
      : job_(job),
        env_(env),
        feed_(feed),
        prompts_(prompts),
        cluster_(job, transport, env),
        stop_(job.config.run.shutdown_grace_s, env),
        workers_(job.config, cluster_, stop_, env),
        progress_(job.config, env, buffer, feed),
        metrics_(env, job.config.run.dir + "/metrics.jsonl"),
        evaluation_(job.config, workers_, prompts, metrics_, env) {}

  int Run() {
    cluster_.WaitForHellos();
    const Progress::Start start = progress_.Resume();
    iteration_ = start.iteration;
    policy_version_ = checkpointed_version_ = start.policy_version;
    const int64_t iterations = job_.config.run.iterations;
    const int64_t every = job_.config.eval.every;
    double before = iteration_ == 0 ? Evaluate("before RL") : -1;
    double after = before;
    while (iteration_ < iterations && !stop_.Stopping()) {
      RunIteration(iteration_ + 1);
      const int64_t it = iteration_;
      if (it == iterations || it % job_.config.trainer.checkpoint_every == 0 || stop_.Stopping())
        CheckpointTrainer();
      if (!stop_.Stopping() && (it == iterations || (every > 0 && it % every == 0)))
        after = Evaluate(StrCat("iteration ", it));
    }
    if (stop_.Stopping()) {
      CheckpointTrainer();
      progress_.Sync();
      cluster_.ShutdownAll(StrCat("stopped on ", strsignal(net::StopSignal())));
      LogInfo("stopped on ", strsignal(net::StopSignal()), " after iteration ", iteration_,
              " with everything committed (", stop_.SecondsSinceSignal(),
              " s after the signal); run the same command to resume");
      return 0;
    }
    const size_t dropped = progress_.DropUntrained(iteration_);
    if (dropped > 0) LogInfo(dropped, " trajectories never trained: dropped (see ledger.jsonl)");
    if (!feed_.Heldout().empty() && before >= 0) {
      LogInfo("held-out accuracy: ", before, " before RL, ", after, " after ", iterations,
              " iterations (", feed_.Heldout().size(), " problems)");
    }
    if (!feed_.EvalData().empty() && data_before_ >= 0) {
      LogInfo("eval.data_file accuracy: ", data_before_, " before RL, ", data_after_, " after ",
              iterations, " iterations (", feed_.EvalData().size(), " prompts)");
    }
    cluster_.ShutdownAll("job finished");
    return 0;
  }

 private:
  // Trainer 0 saves the weights; then the groups they include leave the
  // buffer for the ledger.
  void CheckpointTrainer() {
    if (policy_version_ == checkpointed_version_) return;
    Clock::time_point t0 = Now(env_);
    const std::string dir = workers_.SaveCheckpoint(iteration_, policy_version_);
    const size_t lines = progress_.CheckpointSaved(policy_version_);
    checkpointed_version_ = policy_version_;
    LogInfo("checkpoint ", dir, " (iteration ", iteration_, ", policy version ", policy_version_,
            "; ", lines, " ledger lines) in ", SecondsSince(env_, t0), " s");
  }

  // The held-out set, then eval.data_file's prompts; returns the held-out accuracy.
  double Evaluate(const std::string& when) {
    const double heldout =
        evaluation_.Run(feed_.Heldout(), EvalSet::kHeldout, when, policy_version_);
    data_after_ = evaluation_.Run(feed_.EvalData(), EvalSet::kDataFile, when, policy_version_);
    if (iteration_ == 0) data_before_ = data_after_;
    return heldout;
  }

  AssemblyOptions Assembly(int64_t iteration) const {
    const auto& rc = job_.config.reward;
    AssemblyOptions options;
    options.policy_version = policy_version_;
    options.max_staleness = job_.config.rollout.max_staleness;
    options.mask_truncated = job_.config.trainer.mask_truncated;
    // The length reward is added once its warm-up is over.
    if (iteration > rc.length_penalty_warmup) options.length_weight = rc.length_penalty;
    return options;
  }

  TrainBatch PickBatch(int64_t iteration) const {
    return master::PickBatch(progress_.state(),
                             static_cast<size_t>(job_.config.trainer.groups_per_step),
                             Assembly(iteration));
  }

  void RunIteration(int64_t iteration) {
    const auto& rc = job_.config.rollout;
    const auto& tc = job_.config.trainer;
    const BufferState& state = progress_.state();
    IterationMetrics m;
    m.iteration = iteration;

    // Stale unfinished trajectories restart (stale_policy: restart); then
    // new groups keep B groups coming, and groups dropped since the last
    // draw (equal rewards) are replaced by new prompts on top.
    std::vector<Change> changes;
    uint64_t next_id = state.next_trajectory_id();
    if (rc.stale_policy == config::StalePolicy::kRestart)
      changes = RestartStale(state, policy_version_, rc.max_staleness, iteration, next_id);
    m.restarted = changes.size();
    const size_t want =
        GroupsToStart(state, static_cast<size_t>(tc.groups_per_step), tc.overlap, replace_dropped_);
    replace_dropped_ = 0;
    for (Change& g :
         StartGroups(state, feed_.Draw(want), rc.samples_per_prompt, iteration, next_id))
      changes.push_back(std::move(g));
    m.new_groups = want;
    changes.push_back(replay::SetPosition{progress_.Position(iteration_, policy_version_)});
    progress_.Commit(changes);

    // Generate every unfinished trajectory. With trainer.overlap the
    // trainers take the groups completed in earlier iterations meanwhile;
    // otherwise the ones complete after this iteration's generation and
    // scoring.
    std::vector<proto::GenerationTask> tasks = TasksToGenerate(state, rc, job_.config.run.seed);
    prompts_.Fill(tasks);
    for (const auto& task : tasks) m.continued += !task.prefix.empty();
    WorkerPool::Batch work;
    workers_.PostGenerate(work, std::move(tasks));
    TrainBatch batch;
    bool train = false;
    if (tc.overlap) {
      batch = PickBatch(iteration);
      train = !batch.ids.empty() && !stop_.Stopping();
      if (train) workers_.PostTrain(work, iteration, policy_version_ + 1, std::move(batch.groups));
    }
    workers_.Wait(work);
    std::vector<proto::Sample> samples =
        workers_.TakeSamples(work, policy_version_, &m.generated_with);
    m.generate_s = workers_.Took<proto::GenerateResult>(work);
    progress_.Commit(Segments(std::move(samples), iteration, m));

    // Score what finished; groups whose k samples are all scored are ready.
    Clock::time_point t0 = Now(env_);
    std::vector<uint64_t> completed = Score(m);
    m.dropped_equal_reward = DropEqualRewards(completed, iteration);
    m.score_s = SecondsSince(env_, t0);

    if (tc.overlap) {
      m.train = workers_.TakeStats(work);
      m.train_s = workers_.Took<proto::TrainResult>(work);
    } else {
      batch = PickBatch(iteration);
      train = !batch.ids.empty() && !stop_.Stopping();
      if (train) {
        WorkerPool::Batch step;
        workers_.PostTrain(step, iteration, policy_version_ + 1, std::move(batch.groups));
        workers_.Wait(step);
        m.train = workers_.TakeStats(step);
        m.train_s = workers_.Took<proto::TrainResult>(step);
      }
    }
    if (train) {
      t0 = Now(env_);
      workers_.SyncWeights(policy_version_ + 1);
      ++policy_version_;
      m.sync_s = SecondsSince(env_, t0);
    } else if (batch.ids.empty()) {
      LogInfo("iteration ", iteration, ": no complete group yet; nothing to train");
    }
    iteration_ = iteration;
    changes.clear();
    if (train) changes.push_back(replay::TrainGroups{batch.ids, iteration, policy_version_});
    changes.push_back(replay::SetPosition{progress_.Position(iteration_, policy_version_)});
    progress_.Commit(changes);

    for (const auto& [id, t] : state.trajectories()) m.unfinished += !t.finished();
    for (const auto& [id, g] : state.groups()) m.groups_waiting += g.state == GroupState::kReady;
    m.groups_trained = train ? batch.ids.size() : 0;
    m.policy_version = policy_version_;
    m.samples_trained = train ? batch.samples : 0;
    m.reward_sum = batch.reward_sum;
    m.length_reward_sum = batch.length_reward_sum;
    m.correct = batch.correct;
    m.tokens = batch.tokens;
    m.samples = batch.samples;
    metrics_.Iteration(m);
  }

  // The generated samples as buffer changes (a segment each).
  std::vector<Change> Segments(std::vector<proto::Sample> samples, int64_t iteration,
                               IterationMetrics& m) {
    std::vector<Change> changes;
    for (auto& s : samples) {
      m.generated_tokens += s.tokens.size();
      ++m.finish[proto::FinishReasonName(s.finish_reason)];
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
    return changes;
  }

  // Scores the finished, unscored trajectories; returns the groups that
  // became ready, and tells the sampler how each did.
  std::vector<uint64_t> Score(IterationMetrics& m) {
    const BufferState& state = progress_.state();
    std::vector<proto::ScoreItem> items;
    for (const auto& [id, t] : state.trajectories()) {
      if (t.finished() && !t.scored)
        items.push_back({id, prompts_.ForReward(state.groups().at(t.group_id).prompt), t.text});
    }
    const std::map<uint64_t, proto::Score> scores = workers_.Score(items);
    m.samples_scored = scores.size();
    std::vector<Change> changes;
    for (const auto& [id, score] : scores) {
      const bool repeated = state.trajectories().at(id).finish == proto::FinishReason::kRepeat;
      changes.emplace_back(replay::ScoreTrajectory{
          id, score.reward - (repeated ? job_.config.reward.repeat_penalty : 0.0), score.correct,
          score.details});
      for (const std::string& name : score.failed) ++m.reward_errors[name];
    }
    progress_.Commit(changes);
    std::set<uint64_t> completed;
    for (const auto& [id, score] : scores) {
      const uint64_t group = state.trajectories().at(id).group_id;
      if (state.groups().at(group).state == GroupState::kReady) completed.insert(group);
    }
    for (uint64_t group : completed) {
      const replay::Group& g = state.groups().at(group);
      double success = 0;
      for (uint64_t id : g.trajectories) success += state.trajectories().at(id).reward > 0;
      feed_.Report(g.prompt.id, success / g.trajectories.size());
    }
    return {completed.begin(), completed.end()};
  }

  // With trainer.drop_equal_reward_groups, groups just completed whose
  // rewards are all equal leave for the ledger, to be replaced at the next
  // draw. Returns how many.
  size_t DropEqualRewards(const std::vector<uint64_t>& completed, int64_t iteration) {
    if (!job_.config.trainer.drop_equal_reward_groups) return 0;
    const std::vector<Change> drops =
        DropEqualRewardGroups(progress_.state(), completed, iteration);
    progress_.Commit(drops);
    replace_dropped_ += drops.size();
    return drops.size();
  }

  const net::JobContext& job_;
  env::Env* env_;
  PromptFeed& feed_;
  PromptEncoder& prompts_;
  Cluster cluster_;
  StopWatch stop_;
  WorkerPool workers_;
  Progress progress_;
  MetricsLog metrics_;
  Evaluation evaluation_;
  double data_before_ = -1, data_after_ = -1;  // eval.data_file accuracy
  size_t replace_dropped_ = 0;                 // groups dropped since the last draw
  int64_t iteration_ = 0;                      // the last finished iteration
  proto::PolicyVersion policy_version_ = 0;
  proto::PolicyVersion checkpointed_version_ = 0;
};

}  // namespace

int RunRl(const net::JobContext& job, env::Env* env, net::MasterTransport& transport,
          PromptFeed& feed, PromptEncoder& prompts, replay::ReplayBuffer& buffer) {
  Master master(job, env, transport, feed, prompts, buffer);
  return master.Run();
}

int RunMaster(const net::JobContext& job, net::MasterSocket& socket) {
  env::Env* env = env::Env::Posix();
  env->CreateDir(job.config.run.dir);
  env::WriteFileAtomically(env, job.config.run.dir + "/master.endpoint", socket.endpoint() + "\n");
  std::unique_ptr<replay::ReplayBuffer> buffer = OpenReplayBuffer(job.config, env);
  std::unique_ptr<PromptFeed> feed = MakePromptFeed(job.config);
  PromptEncoder prompts = PromptEncoder::ForRun(job.config);
  return RunRl(job, env, socket, *feed, prompts, *buffer);
}

}  // namespace crescent::master
