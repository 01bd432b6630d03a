// The master in one process: its request tracking, its scheduling rules, and
// whole RL iterations against fake services behind the real role contracts.
#include "master/master.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/util/log.hpp"
#include "fake_workers.hpp"
#include "master/progress.hpp"
#include "master/requests.hpp"
#include "master/scheduling.hpp"
#include "master/workers.hpp"
#include "tests/common/fault_env.hpp"
#include "tests/common/process.hpp"

using namespace crescent;
using namespace std::chrono_literals;
using master::RequestTracker;
using testing::FakeReward;
using testing::FakeRollout;
using testing::FakeTrainer;

namespace {

// Prompts "a+b=" with their answers; the held-out set is two more.
class FixedFeed : public master::PromptFeed {
 public:
  std::vector<proto::Prompt> Draw(size_t n) override {
    std::vector<proto::Prompt> out;
    for (size_t i = 0; i < n; ++i, ++drawn) out.push_back(Make(drawn % 7 + 2, drawn % 5 + 1));
    return out;
  }
  void Report(const std::string& prompt_id, double success_rate) override { ++reports; }
  const std::vector<proto::Prompt>& Heldout() const override { return heldout; }
  std::string SaveState() const override { return std::to_string(drawn); }
  void LoadState(const std::string& state) override { drawn = std::stoul(state); }

  static proto::Prompt Make(int a, int b) {
    return {StrCat(a, "+", b), StrCat(a, "+", b, "="), {{"answer", std::to_string(a + b)}}};
  }
  size_t drawn = 0, reports = 0;
  std::vector<proto::Prompt> heldout = {Make(1, 1), Make(2, 2)};
};

config::Config SmallRun(const std::string& dir) {
  config::Config c;
  c.run.dir = dir;
  c.run.iterations = 3;
  c.rollout.samples_per_prompt = 2;
  c.rollout.max_response_tokens = 4;
  c.rollout.budget = 1;
  c.trainer.groups_per_step = 2;
  c.trainer.checkpoint_every = 1;
  c.eval.every = 0;
  return c;
}

std::vector<nlohmann::json> Lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("the request tracker matches replies by request id, never by peer or type alone",
          "[master]") {
  RequestTracker tracker(10s);
  const auto t0 = RequestTracker::Clock::now();
  proto::Message score = proto::ScoreRequest{};
  proto::Message sync = proto::SyncWeights{0, 4};
  const uint64_t a = tracker.Sent("rank-3", score, t0);
  const uint64_t b = tracker.Sent("rank-2", sync, t0);
  CHECK(a != b);
  CHECK(proto::RequestIdOf(score) == a);
  CHECK(proto::RequestIdOf(sync) == b);
  CHECK(tracker.outstanding() == 2);

  CHECK(tracker.Received("rank-3", proto::ScoreResult{99, {}, 0, ""}, t0) ==
        "no request 99 is awaited");
  CHECK(tracker.Received("rank-2", proto::ScoreResult{a, {}, 0, ""}, t0) ==
        StrCat("request ", a, " went to another worker"));
  CHECK(tracker.Received("rank-3", proto::WeightsSynced{a, 4, 0, ""}, t0) ==
        StrCat("request ", a, " is a ScoreRequest"));
  CHECK(tracker.Received("rank-3", proto::ScoreResult{a, {}, 0, ""}, t0 + 2s).empty());
  CHECK(tracker.Received("rank-3", proto::ScoreResult{a, {}, 0, ""}, t0) ==
        StrCat("request ", a, " is answered already"));
  CHECK(tracker.Answered(a));
  CHECK(!tracker.Answered(b));
  // An ErrorReply answers a request of any type.
  CHECK(tracker.Received("rank-2", proto::ErrorReply{b, "no"}, t0).empty());
  const RequestTracker::Request r = tracker.Take(a);
  CHECK(r.peer == "rank-3");
  CHECK(r.seconds == Approx(2.0));
  CHECK(std::holds_alternative<proto::ScoreResult>(*r.reply));
  CHECK(tracker.outstanding() == 0);
  CHECK_THROWS(tracker.Take(a));
  proto::Message not_a_request = proto::Heartbeat{};
  CHECK_THROWS(tracker.Sent("rank-3", not_a_request, t0));
}

TEST_CASE("a request past its deadline is overdue, an answered one never is", "[master]") {
  RequestTracker tracker(5s);
  const auto t0 = RequestTracker::Clock::now();
  proto::Message first = proto::GenerateRequest{}, second = proto::GenerateRequest{};
  const uint64_t a = tracker.Sent("rank-2", first, t0);
  const uint64_t b = tracker.Sent("rank-4", second, t0 + 1s);
  CHECK(tracker.Overdue(t0 + 4s).empty());
  REQUIRE(tracker.Overdue(t0 + 5500ms).size() == 1);
  CHECK(tracker.Overdue(t0 + 5500ms)[0].id == a);
  CHECK(tracker.Received("rank-2", proto::GenerateResult{a, 0, {}, 0, ""}, t0 + 5600ms).empty());
  REQUIRE(tracker.Overdue(t0 + 7s).size() == 1);
  CHECK(tracker.Overdue(t0 + 7s)[0].id == b);
  CHECK(tracker.Overdue(t0 + 7s)[0].peer == "rank-4");
}

TEST_CASE(
    "cluster.request_timeout_s: a request left unanswered is reported after its deadline, naming "
    "the worker",
    "[master]") {
  config::Config c = SmallRun(testing::TempDir("master-deadline"));
  c.cluster.request_timeout_s = 1800;
  const net::JobContext job = testing::FourRankJob(c);
  FakeTrainer trainer;
  FakeRollout rollout;
  FakeReward reward;
  env::testing::FaultInjectionEnv clock;  // its fake clock: waiting takes no time
  testing::InProcessTransport transport(job, {{1, &trainer}, {2, &rollout}, {3, &reward}}, &clock);
  transport.silent.insert("rank-3");
  master::Cluster cluster(job, transport, &clock);
  cluster.WaitForHellos();
  master::StopWatch stop(c.run.shutdown_grace_s, &clock);
  master::WorkerPool workers(job.config, cluster, stop, &clock);
  // The rollout worker answers; the reward service never does.
  proto::GenerationTask task = master::NewTask(c.rollout, 1, FixedFeed::Make(1, 2));
  task.prompt_tokens = {0, 3, 12, 4, 15};
  CHECK(workers.Generate({task}, 0).size() == 1);
  const uint64_t t0 = clock.NowMicros();
  CHECK_THROWS_WITH(workers.Score({{1, FixedFeed::Make(1, 2), "3"}}),
                    "no reply from reward service rank 3 on host testhost (pid 1003) to "
                    "ScoreRequest 2 within 1800 s (cluster.request_timeout_s)");
  const double waited = (clock.NowMicros() - t0) / 1e6;
  CHECK(waited > 1800);
  CHECK(waited < 1801);
}

TEST_CASE("a failed request stops the job naming the worker and the reason", "[master]") {
  const net::JobContext job = testing::FourRankJob(SmallRun(testing::TempDir("master-errors")));
  FakeTrainer trainer;
  FakeRollout rollout;
  FakeReward reward;
  testing::InProcessTransport transport(job, {{1, &trainer}, {2, &rollout}, {3, &reward}});
  master::Cluster cluster(job, transport, env::Env::Posix());
  cluster.WaitForHellos();
  master::StopWatch stop(30, env::Env::Posix());
  master::WorkerPool workers(job.config, cluster, stop, env::Env::Posix());
  // The service threw: the error travels in the reply's error field.
  CHECK_THROWS_WITH(workers.SaveCheckpoint(1, 7),
                    "trainer rank 1 on host testhost (pid 1001): CheckpointSaved: not the "
                    "version held");
  // A request the role does not serve comes back as an ErrorReply.
  master::WorkerPool::Batch batch;
  workers.Post(batch, "rank-3", proto::SyncWeights{0, 1});
  CHECK_THROWS_WITH(workers.Wait(batch),
                    "reward service rank 3 on host testhost (pid 1003): ErrorReply: not served");
}

TEST_CASE("scheduling: what restarts, starts, continues, trains and is dropped", "[master]") {
  config::RolloutSection rollout;
  rollout.budget = 3;
  replay::BufferState state;
  uint64_t next_id = state.next_trajectory_id();
  std::vector<replay::Change> start =
      master::StartGroups(state, {FixedFeed::Make(1, 2), FixedFeed::Make(3, 4)}, 2, 1, next_id);
  REQUIRE(start.size() == 2);
  CHECK(next_id == 5);
  for (const auto& c : start) state.ApplyChange(c);
  // Trajectory 1 has a segment of version 0; the others none yet.
  replay::AddSegment add;
  add.trajectory_id = 1;
  add.prompt_tokens = {1};
  add.segment.tokens = {5, 6};
  add.segment.logprobs = {-1, -1};
  add.segment.policy_version = 0;
  add.finish = proto::FinishReason::kBudget;
  state.ApplyChange(add);

  std::vector<proto::GenerationTask> tasks = master::TasksToGenerate(state, rollout, 7);
  REQUIRE(tasks.size() == 4);
  CHECK(tasks[0].trajectory_id == 1);
  CHECK(tasks[0].prefix == std::vector<int32_t>{5, 6});
  CHECK(tasks[0].budget == 3);
  CHECK(tasks[0].sampling.seed == 7u * 1000003u + 1u * 7919u + 1u);
  CHECK(tasks[1].prefix.empty());
  CHECK(tasks[2].prompt.text == "3+4=");

  // At version 2 with max_staleness 1, trajectory 1's segment is stale.
  uint64_t id = next_id;
  std::vector<replay::Change> restart = master::RestartStale(state, 2, 1, 3, id);
  REQUIRE(restart.size() == 1);
  CHECK(std::get<replay::RestartTrajectory>(restart[0]).old_id == 1);
  CHECK(id == next_id + 1);
  CHECK(master::RestartStale(state, 1, 1, 3, id).empty());

  // Group 1 complete with equal rewards, group 2 with unequal ones.
  for (uint64_t t : {1, 2, 3, 4}) {
    replay::AddSegment done;
    done.trajectory_id = t;
    done.prompt_tokens = {1};
    done.segment.tokens = {7};
    done.segment.logprobs = {-1};
    done.segment.policy_version = 0;
    done.finish = proto::FinishReason::kStop;
    state.ApplyChange(done);
    state.ApplyChange(replay::ScoreTrajectory{t, t == 4 ? 1.0 : 0.0, t == 4});
  }
  CHECK(master::GroupsToTrain(state, 16) == std::vector<uint64_t>{1, 2});
  CHECK(master::GroupsToTrain(state, 1) == std::vector<uint64_t>{1});
  // Two ready groups: without overlap they count toward B; with overlap the
  // step takes them while new ones generate. Dropped groups come on top.
  CHECK(master::GroupsToStart(state, 2, false, 0) == 0);
  CHECK(master::GroupsToStart(state, 2, true, 0) == 2);
  CHECK(master::GroupsToStart(state, 3, false, 1) == 2);
  std::vector<replay::Change> drops = master::DropEqualRewardGroups(state, {1, 2}, 3);
  REQUIRE(drops.size() == 1);
  CHECK(std::get<replay::DropGroup>(drops[0]).group_id == 1);
  CHECK(std::get<replay::DropGroup>(drops[0]).reason ==
        "all 2 rewards equal 0 (trainer.drop_equal_reward_groups)");
  master::TrainBatch batch = master::PickBatch(state, 16, {});
  CHECK(batch.ids == std::vector<uint64_t>{1, 2});
  CHECK(batch.samples == 4);
  CHECK(batch.reward_sum == 1);
  CHECK(batch.correct == 1);
}

TEST_CASE("whole RL iterations against fake services, in-process", "[master]") {
  const std::string dir = testing::TempDir("master-run");
  for (bool overlap : {false, true}) {
    DYNAMIC_SECTION("trainer.overlap " << overlap) {
      config::Config c = SmallRun(dir + (overlap ? "/overlap" : "/sync"));
      c.trainer.overlap = overlap;
      const net::JobContext job = testing::FourRankJob(c);
      FakeTrainer trainer;
      FakeRollout rollout;
      FakeReward reward;
      testing::InProcessTransport transport(job, {{1, &trainer}, {2, &rollout}, {3, &reward}});
      FixedFeed feed;
      std::unique_ptr<replay::ReplayBuffer> buffer = master::OpenReplayBuffer(c, env::Env::Posix());
      master::PromptEncoder prompts(c.task, tok::BuiltinPolicyTokenizer("0123456789+-*="));
      REQUIRE(master::RunRl(job, env::Env::Posix(), transport, feed, prompts, *buffer) == 0);
      // The master encoded the prompts: <bos> (0), then one id per character.
      CHECK(rollout.prompts.at("2+1=") == std::vector<int32_t>{0, 4, 12, 3, 15});

      // Every iteration trained (with overlap, from the second on: the
      // first has no complete group yet), and the new weights reached every
      // worker.
      const int steps = overlap ? 2 : 3;
      REQUIRE(trainer.trained.size() == static_cast<size_t>(steps));
      for (size_t i = 0; i < trainer.trained.size(); ++i) {
        const proto::TrainRequest& step = trainer.trained[i];
        CHECK(step.new_policy_version == static_cast<int64_t>(i) + 1);
        CHECK(step.total_groups == static_cast<int64_t>(step.groups.size()));
        CHECK(step.groups.size() <= 2);
        for (const auto& g : step.groups) {
          REQUIRE(g.samples.size() == 2);
          for (const auto& s : g.samples)
            CHECK(s.loss_mask == std::vector<uint8_t>(s.response_tokens.size(), 1));
        }
      }
      CHECK(rollout.version == steps);
      CHECK(trainer.version == steps);
      CHECK(trainer.checkpoints == (overlap ? std::vector<proto::PolicyVersion>{1, 2}
                                            : std::vector<proto::PolicyVersion>{1, 2, 3}));
      CHECK(transport.shutdowns.size() == 3);
      CHECK(feed.reports > 0);

      // metrics.jsonl: evaluation before and after, one line per iteration.
      const std::vector<nlohmann::json> metrics = Lines(c.run.dir + "/metrics.jsonl");
      REQUIRE(metrics.size() == 5);
      CHECK(metrics[0]["eval"] == "before RL");
      CHECK(metrics[0]["heldout_accuracy"] == 0.5);  // version 0 answers every other prompt
      for (int i = 1; i <= 3; ++i) {
        const int version = overlap ? i - 1 : i;
        CHECK(metrics[i]["iteration"] == i);
        CHECK(metrics[i]["policy_version"] == version);
        CHECK(metrics[i]["generated_with_policy_versions"] ==
              std::vector<int>{overlap ? std::max(0, i - 2) : i - 1});
      }
      CHECK(metrics[4]["eval"] == "iteration 3");
      CHECK(metrics[4]["heldout_accuracy"] == 1.0);

      // Every trajectory started left the buffer for the ledger once:
      // trained, or dropped at the end.
      const std::vector<nlohmann::json> ledger = Lines(c.run.dir + "/ledger.jsonl");
      CHECK(ledger.size() == buffer->state().next_trajectory_id() - 1);
      std::set<uint64_t> ids;
      size_t trained_lines = 0;
      for (const auto& line : ledger) {
        ids.insert(line["trajectory"].get<uint64_t>());
        trained_lines += line["outcome"] == "trained";
      }
      CHECK(ids.size() == ledger.size());
      size_t trained_samples = 0;
      for (const auto& step : trainer.trained)
        for (const auto& g : step.groups) trained_samples += g.samples.size();
      CHECK(trained_lines == trained_samples);
    }
  }
}
