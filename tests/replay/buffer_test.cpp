// The replay buffer against a simple in-memory model of its documented
// semantics (replay/buffer.hpp), across checkpoints and reopenings; refused
// changes; the ledger after a crash between writing it and acknowledging it;
// `crescent replay stats|dump` on a locked buffer.
#include "replay/buffer.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "tests/common/process.hpp"

using namespace crescent::replay;
using crescent::testing::TempDir;

namespace {

// What the buffer should hold, kept the simplest way.
struct Model {
  struct G {
    std::vector<uint64_t> slots;
    GroupState state = GroupState::kCollecting;
    PolicyVersion version = -1;
  };
  struct T {
    uint64_t group = 0;
    size_t segments = 0;
    bool finished = false, scored = false;
  };
  std::map<uint64_t, G> groups;
  std::map<uint64_t, T> trajs;
  std::deque<std::pair<uint64_t, bool>> pending;  // (trajectory, trained)
  uint64_t next_group = 1, next_traj = 1;
  PolicyVersion last_trained = -1, position_version = 0;
  PolicyVersion version() const { return std::max(last_trained, position_version); }

  void Ready(uint64_t g) {
    for (uint64_t t : groups[g].slots)
      if (!trajs[t].finished || !trajs[t].scored) return;
    groups[g].state = GroupState::kReady;
  }
};

void ExpectSame(const BufferState& s, const Model& m) {
  REQUIRE(s.next_group_id() == m.next_group);
  REQUIRE(s.next_trajectory_id() == m.next_traj);
  REQUIRE(s.trained_version() == m.version());
  REQUIRE(s.groups().size() == m.groups.size());
  for (const auto& [id, g] : m.groups) {
    INFO("group " << id);
    REQUIRE(s.groups().count(id));
    CHECK(s.groups().at(id).trajectories == g.slots);
    CHECK(s.groups().at(id).state == g.state);
    if (g.state == GroupState::kTrained) CHECK(s.groups().at(id).trained_version == g.version);
  }
  REQUIRE(s.trajectories().size() == m.trajs.size());
  for (const auto& [id, t] : m.trajs) {
    INFO("trajectory " << id);
    REQUIRE(s.trajectories().count(id));
    const Trajectory& b = s.trajectories().at(id);
    CHECK(b.group_id == t.group);
    CHECK(b.segments.size() == t.segments);
    CHECK(b.finished() == t.finished);
    CHECK(b.scored == t.scored);
  }
  REQUIRE(s.pending_ledger().size() == m.pending.size());
  for (size_t i = 0; i < m.pending.size(); ++i) {
    CHECK(s.pending_ledger()[i].trajectory.id == m.pending[i].first);
    CHECK(s.pending_ledger()[i].trained == m.pending[i].second);
  }
}

template <class Pred>
std::vector<uint64_t> Pick(const std::map<uint64_t, Model::T>& trajs, Pred pred) {
  std::vector<uint64_t> out;
  for (const auto& [id, t] : trajs)
    if (pred(t)) out.push_back(id);
  return out;
}

// One random valid change, applied to the model too; nullopt when none fits.
std::optional<Change> RandomChange(Model& m, std::mt19937_64& rng, int64_t iteration) {
  auto pick = [&](const std::vector<uint64_t>& v) { return v[rng() % v.size()]; };
  switch (rng() % 9) {
    case 0:
    case 1: {
      StartGroup c{m.next_group, {"p" + std::to_string(m.next_group), "1+1=", {}}, iteration, {}};
      const size_t k = 1 + rng() % 3;
      for (size_t i = 0; i < k; ++i) c.trajectory_ids.push_back(m.next_traj + i);
      Model::G g;
      g.slots = c.trajectory_ids;
      for (uint64_t t : g.slots) m.trajs[t] = {m.next_group, 0, false, false};
      m.groups[m.next_group++] = g;
      m.next_traj += k;
      return c;
    }
    case 2:
    case 3: {
      auto open = Pick(m.trajs, [](const Model::T& t) { return !t.finished; });
      if (open.empty()) return std::nullopt;
      AddSegment c;
      c.trajectory_id = pick(open);
      const size_t n = 1 + rng() % 5;
      for (size_t i = 0; i < n; ++i) {
        c.segment.tokens.push_back(static_cast<int32_t>(rng() % 50));
        c.segment.logprobs.push_back(-0.1f * (rng() % 30));
      }
      c.segment.policy_version = m.version();
      c.segment.iteration = iteration;
      c.finish = rng() % 2 ? FinishReason::kBudget
                           : static_cast<FinishReason>(rng() % 3);  // stop, length, repeat
      c.text = "t";
      Model::T& t = m.trajs[c.trajectory_id];
      ++t.segments;
      t.finished = c.finish != FinishReason::kBudget;
      return c;
    }
    case 4: {
      auto done = Pick(m.trajs, [&](const Model::T& t) {
        return t.finished && !t.scored && m.groups[t.group].state == GroupState::kCollecting;
      });
      if (done.empty()) return std::nullopt;
      ScoreTrajectory c{pick(done), static_cast<double>(rng() % 2), rng() % 2 == 0};
      m.trajs[c.trajectory_id].scored = true;
      m.Ready(m.trajs[c.trajectory_id].group);
      return c;
    }
    case 5: {
      const uint64_t what = rng() % 3;
      if (what == 0) {  // restart
        auto open = Pick(m.trajs, [](const Model::T& t) { return !t.finished; });
        if (open.empty()) return std::nullopt;
        RestartTrajectory c{pick(open), m.next_traj, "stale", iteration};
        const uint64_t g = m.trajs[c.old_id].group;
        m.trajs.erase(c.old_id);
        m.pending.emplace_back(c.old_id, false);
        m.trajs[c.new_id] = {g, 0, false, false};
        for (auto& slot : m.groups[g].slots)
          if (slot == c.old_id) slot = c.new_id;
        ++m.next_traj;
        return c;
      }
      std::vector<uint64_t> droppable;
      for (const auto& [id, g] : m.groups)
        if (g.state != GroupState::kTrained) droppable.push_back(id);
      if (droppable.empty()) return std::nullopt;
      DropGroup c{pick(droppable), "end of run", iteration};
      for (uint64_t t : m.groups[c.group_id].slots) {
        m.trajs.erase(t);
        m.pending.emplace_back(t, false);
      }
      m.groups.erase(c.group_id);
      return c;
    }
    case 6: {
      TrainGroups c;
      for (const auto& [id, g] : m.groups)
        if (g.state == GroupState::kReady && rng() % 3 != 0) c.group_ids.push_back(id);
      if (c.group_ids.empty()) return std::nullopt;
      c.iteration = iteration;
      c.policy_version = m.version() + 1;
      for (uint64_t id : c.group_ids) {
        m.groups[id].state = GroupState::kTrained;
        m.groups[id].version = c.policy_version;
      }
      m.last_trained = c.policy_version;
      return c;
    }
    case 7: {
      if (rng() % 2) {
        Rewind c{std::max<PolicyVersion>(0, m.version() - static_cast<PolicyVersion>(rng() % 3))};
        for (auto& [id, g] : m.groups) {
          if (g.state == GroupState::kTrained && g.version > c.policy_version) {
            g.state = GroupState::kReady;
            g.version = -1;
          }
        }
        m.last_trained = m.position_version = c.policy_version;
        return c;
      }
      CommitTraining c{m.version() - static_cast<PolicyVersion>(rng() % 2)};
      for (auto it = m.groups.begin(); it != m.groups.end();) {
        if (it->second.state == GroupState::kTrained && it->second.version <= c.policy_version) {
          for (uint64_t t : it->second.slots) {
            m.trajs.erase(t);
            m.pending.emplace_back(t, true);
          }
          it = m.groups.erase(it);
        } else {
          ++it;
        }
      }
      return c;
    }
    default: {
      if (m.pending.empty() || rng() % 2) {
        SetPosition c{{iteration, m.version(), "sampler " + std::to_string(iteration)}};
        m.position_version = c.position.policy_version;
        return c;
      }
      LedgerWritten c{1 + rng() % m.pending.size()};
      m.pending.erase(m.pending.begin(), m.pending.begin() + c.count);
      return c;
    }
  }
}

// A change that does not fit the state (the model is left alone).
Change InvalidChange(const Model& m, std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return StartGroup{m.next_group + 1, {}, 0, {m.next_traj}};  // skips a group id
    case 1: {
      AddSegment c;
      c.trajectory_id = m.next_traj + 7;  // no such trajectory
      return c;
    }
    case 2:
      return TrainGroups{{m.next_group + 3}, 0, m.version() + 1};  // no such group
    default:
      return LedgerWritten{m.pending.size() + 1};  // more than pending
  }
}

}  // namespace

TEST_CASE("the replay buffer behaves like a simple model across checkpoints and reopening",
          "[replay]") {
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    INFO("seed " << seed);
    const std::string dir = TempDir("crescent-buffer") + "/replay";
    std::mt19937_64 rng(seed);
    Model m;
    auto buffer = std::make_unique<ReplayBuffer>(Env::Posix(), dir, JournalOptions{});
    for (int step = 0; step < 400; ++step) {
      std::vector<Change> batch;
      const size_t n = 1 + rng() % 4;
      for (size_t i = 0; i < n; ++i)
        if (auto c = RandomChange(m, rng, step)) batch.push_back(std::move(*c));
      buffer->Commit(batch);
      ExpectSame(buffer->state(), m);
      if (rng() % 10 == 0) {
        // A batch with a bad change is refused whole and leaves no trace.
        const std::string before = buffer->state().Snapshot();
        Model scratch = m;
        std::vector<Change> bad;
        if (auto c = RandomChange(scratch, rng, step)) bad.push_back(std::move(*c));
        bad.push_back(InvalidChange(scratch, rng));
        CHECK_THROWS_AS(buffer->Commit(bad), std::logic_error);
        REQUIRE(buffer->state().Snapshot() == before);
      }
      if (rng() % 25 == 0) buffer->Checkpoint();
      if (rng() % 40 == 0) {
        buffer.reset();
        buffer = std::make_unique<ReplayBuffer>(Env::Posix(), dir, JournalOptions{});
        ExpectSame(buffer->state(), m);
        ExpectSame(ReadBuffer(Env::Posix(), dir), m);
      }
    }
    buffer.reset();
    RecoveryReport report;
    ExpectSame(ReplayBuffer(Env::Posix(), dir, JournalOptions{}, &report).state(), m);
    CHECK_FALSE(report.tail_truncated);
  }
}

TEST_CASE("a ledger written but not acknowledged before a crash is not written twice", "[replay]") {
  const std::string run = TempDir("crescent-ledger");
  const std::string dir = run + "/replay", path = run + "/ledger.jsonl";
  {
    ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
    StartGroup g{1, {"p1", "2+2=", {}}, 1, {1, 2}};
    std::vector<Change> changes = {g};
    for (uint64_t t : {1, 2}) {
      AddSegment a;
      a.trajectory_id = t;
      a.segment = {SegmentSource::kPolicy, {4, 5}, {-0.1f, -0.2f}, 0, 1};
      a.finish = FinishReason::kStop;
      changes.push_back(a);
      changes.push_back(ScoreTrajectory{t, 1.0, true});
    }
    changes.push_back(TrainGroups{{1}, 1, 1});
    changes.push_back(CommitTraining{1});
    changes.push_back(StartGroup{2, {"p2", "3+3=", {}}, 1, {3, 4}});
    changes.push_back(RestartTrajectory{3, 5, "stale: test", 2});
    buffer.Commit(changes);
    REQUIRE(buffer.state().pending_ledger().size() == 3);
    // The crash: the lines reach the file, the acknowledgement does not.
    Ledger ledger(path, 4);
    std::ofstream out(path);
    for (const auto& e : buffer.state().pending_ledger()) out << ledger.Line(e) << "\n";
  }
  ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
  REQUIRE(buffer.state().pending_ledger().size() == 3);
  Ledger ledger(path, 4);
  CHECK(ledger.Flush(buffer) == 0);
  CHECK(buffer.state().pending_ledger().empty());
  std::ifstream in(path);
  std::string line;
  std::multiset<uint64_t> ids;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    ids.insert(j["trajectory"].get<uint64_t>());
    if (j["outcome"] == "trained") {
      CHECK(j["segments"][0]["in_loss"] == true);
      CHECK(j["segments"][0]["hash"].get<std::string>().size() == 16);
    } else {
      CHECK(j["trajectory"] == 3);
      CHECK(j["reason"] == "stale: test");
    }
  }
  CHECK(ids == std::multiset<uint64_t>{1, 2, 3});
  // New entries after that are written once each.
  buffer.Commit({DropGroup{2, "end of run", 3}});
  CHECK(ledger.Flush(buffer) == 2);
  CHECK(ledger.Flush(buffer) == 0);
}

TEST_CASE("stale segments are out of the loss, environment segments always", "[replay]") {
  Segment s{SegmentSource::kPolicy, {1}, {-1}, 3, 1};
  CHECK(SegmentInLoss(s, 5, 2));
  CHECK_FALSE(SegmentInLoss(s, 6, 2));
  s.source = SegmentSource::kEnvironment;
  CHECK_FALSE(SegmentInLoss(s, 3, 2));
}
