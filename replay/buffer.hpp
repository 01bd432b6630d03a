// The replay buffer: prompt groups of k trajectories, finished or not, each
// trajectory an ordered list of segments, kept durably on a Journal.
//
// Every change is a Change; a batch of changes is one journal record, so it
// commits (and is replayed after a crash) all at once. BufferState is the
// state machine: it validates each change, so a record that does not fit the
// state (a bug, or a journal from another run) is refused, never half-applied.
//
// Life of a group: started with k new trajectories; each trajectory grows by
// segments until it finishes (any finish reason but kBudget), then is scored;
// when all k are scored the group is ready; a Train change marks ready groups
// trained with the policy version they produced; Rewind puts groups trained
// after a trainer checkpoint back to ready; CommitTraining retires groups
// covered by a checkpoint into the pending ledger. A dropped trajectory (or a
// restarted one, which is dropped and replaced by a fresh id) also goes to the
// pending ledger. Trajectory and group ids are never reused.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/proto/messages.hpp"
#include "replay/journal.hpp"

namespace crescent::replay {

using proto::FinishReason;
using proto::PolicyVersion;

enum class SegmentSource : uint8_t {
  kPolicy = 0,       // sampled from a policy: carries log-probs and a version
  kEnvironment = 1,  // tool or environment output: never in the loss
};

struct Segment {
  SegmentSource source = SegmentSource::kPolicy;
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;        // kPolicy: one per token, under policy_version
  PolicyVersion policy_version = -1;  // kPolicy: the version that generated it
  int64_t iteration = 0;              // the iteration that produced it
};

struct Trajectory {
  uint64_t id = 0;
  uint64_t group_id = 0;
  std::vector<int32_t> prompt_tokens;  // set by the first segment
  std::vector<Segment> segments;
  FinishReason finish = FinishReason::kBudget;  // kBudget: not finished yet
  std::string text;                             // the whole response, decoded; set when it finishes
  bool scored = false;
  double reward = 0;
  bool correct = false;
  std::string reward_details;  // JSON object: each reward function's details, by name
  bool finished() const { return finish != FinishReason::kBudget; }
  size_t response_tokens() const;
};

enum class GroupState : uint8_t {
  kCollecting = 0,  // some trajectory is unfinished or unscored
  kReady = 1,       // all k scored, waiting for the trainer
  kTrained = 2,     // trained into trained_version, not yet covered by a checkpoint
};
const char* GroupStateName(GroupState state);

struct Group {
  uint64_t id = 0;
  proto::Prompt prompt;
  int64_t created_iteration = 0;
  std::vector<uint64_t> trajectories;  // k slots, in sample order
  GroupState state = GroupState::kCollecting;
  int64_t trained_iteration = 0;
  PolicyVersion trained_version = -1;
};

// What the ledger (RUN_DIR/ledger.jsonl) will say about a trajectory that
// left the buffer: trained (covered by a trainer checkpoint) or dropped.
struct LedgerEntry {
  Trajectory trajectory;
  std::string prompt_id;
  bool trained = false;
  std::string reason;          // why dropped
  int64_t iteration = 0;       // trained in / dropped in
  PolicyVersion version = -1;  // trained: the version it produced; dropped: current
};

// The master's position: the last finished iteration and the prompt sampler.
struct Position {
  int64_t iteration = 0;
  PolicyVersion policy_version = 0;
  std::string sampler_state;
};

// ---- changes ----------------------------------------------------------------

// k new trajectories for one prompt; ids must be the next unused ones.
struct StartGroup {
  uint64_t group_id = 0;
  proto::Prompt prompt;
  int64_t iteration = 0;
  std::vector<uint64_t> trajectory_ids;
};

// Appends a segment to an unfinished trajectory; `finish` kBudget leaves it
// unfinished.
struct AddSegment {
  uint64_t trajectory_id = 0;
  std::vector<int32_t> prompt_tokens;  // recorded with the first segment
  Segment segment;
  FinishReason finish = FinishReason::kBudget;
  std::string text;  // the whole response decoded (kept when finished)
};

struct ScoreTrajectory {
  uint64_t trajectory_id = 0;
  double reward = 0;
  bool correct = false;
  std::string details = {};  // Trajectory::reward_details
};

// Drops an unfinished trajectory and puts a fresh one (the next id) in its slot.
struct RestartTrajectory {
  uint64_t old_id = 0;
  uint64_t new_id = 0;
  std::string reason;
  int64_t iteration = 0;
};

struct DropGroup {
  uint64_t group_id = 0;
  std::string reason;
  int64_t iteration = 0;
};

// Ready groups trained in `iteration` into `policy_version`.
struct TrainGroups {
  std::vector<uint64_t> group_ids;
  int64_t iteration = 0;
  PolicyVersion policy_version = 0;
};

// Groups trained into a version above `policy_version` (the trainer checkpoint
// a resumed run starts from) are ready again.
struct Rewind {
  PolicyVersion policy_version = 0;
};

// A trainer checkpoint of `policy_version` is durable: groups trained into it
// or earlier leave the buffer for the pending ledger.
struct CommitTraining {
  PolicyVersion policy_version = 0;
};

// The first `count` pending ledger entries are in the ledger file.
struct LedgerWritten {
  uint64_t count = 0;
};

struct SetPosition {
  Position position;
};

using Change = std::variant<StartGroup, AddSegment, ScoreTrajectory, RestartTrajectory, DropGroup,
                            TrainGroups, Rewind, CommitTraining, LedgerWritten, SetPosition>;

// ---- state ------------------------------------------------------------------

class BufferState : public StateMachine {
 public:
  // Throws std::logic_error naming the change when it does not fit the state;
  // the state is then unchanged.
  void ApplyChange(const Change& change);

  const std::map<uint64_t, Group>& groups() const { return groups_; }
  const std::map<uint64_t, Trajectory>& trajectories() const { return trajectories_; }
  const std::vector<LedgerEntry>& pending_ledger() const { return pending_ledger_; }
  const Position& position() const { return position_; }
  uint64_t next_group_id() const { return next_group_id_; }
  uint64_t next_trajectory_id() const { return next_trajectory_id_; }
  // The latest version groups were trained into (the position's, if none).
  PolicyVersion trained_version() const;

  // StateMachine: one record is a std::vector<Change>, encoded in the
  // buffer's own versioned schema (replay/record_format.hpp), not as wire
  // messages.
  uint32_t FormatVersion() const override;
  void Apply(std::string_view record) override;
  std::string Snapshot() const override;
  void Restore(std::string_view snapshot) override;

  static std::string Encode(const std::vector<Change>& changes);

 private:
  void Check(bool ok, const Change& change, const std::string& why) const;
  void ApplyOne(const Change& change);
  void UpdateGroupState(Group& group);
  void DropTrajectory(uint64_t id, const std::string& reason, int64_t iteration);

  std::map<uint64_t, Group> groups_;
  std::map<uint64_t, Trajectory> trajectories_;
  std::vector<LedgerEntry> pending_ledger_;
  Position position_;
  uint64_t next_group_id_ = 1;
  uint64_t next_trajectory_id_ = 1;
  PolicyVersion last_trained_version_ = -1;
};

// The buffer of a run: its state, and the journal every change goes through.
class ReplayBuffer {
 public:
  // Opens (creating, or recovering) the buffer in `dir`, locking it.
  ReplayBuffer(Env* env, const std::string& dir, const JournalOptions& options,
               RecoveryReport* report = nullptr);
  const BufferState& state() const { return state_; }
  // Commits the changes as one record (durable under the fsync policy) and
  // applies them. An empty list does nothing.
  void Commit(const std::vector<Change>& changes);
  void Sync() { journal_->Sync(); }
  // Snapshot + compaction.
  void Checkpoint() { journal_->Checkpoint(); }

 private:
  BufferState state_;
  std::unique_ptr<Journal> journal_;
};

// The state in `dir` without locking or changing it (for `crescent replay`).
BufferState ReadBuffer(Env* env, const std::string& dir, RecoveryReport* report = nullptr);

// FNV-1a 64 of the tokens: how the ledger names a segment's content.
uint64_t TokenHash(const std::vector<int32_t>& tokens);

}  // namespace crescent::replay

namespace crescent::replay {

// ---- ledger -------------------------------------------------------------------

// Whether a segment is trained on by an update from policy version `from`: it
// came from a policy at most `max_staleness` versions older.
bool SegmentInLoss(const Segment& segment, PolicyVersion from, int64_t max_staleness);

// RUN_DIR/ledger.jsonl: one JSON line per trajectory that left the buffer,
// trained or dropped. Appends the buffer's pending entries (skipping any that
// a crash left written but not acknowledged), fsyncs, and acknowledges them
// in the buffer. Every line is whole: the first Flush cuts a line a crash
// left torn (it is written again, as it was never acknowledged).
class Ledger {
 public:
  // `max_staleness`, `mask_truncated`: what decided a trained segment's
  // in_loss (rollout.max_staleness, trainer.mask_truncated). The file goes
  // through env (Env::Posix() when not given).
  Ledger(Env* env, std::string path, int64_t max_staleness, bool mask_truncated = false);
  Ledger(std::string path, int64_t max_staleness, bool mask_truncated = false);
  // Returns the number of lines written.
  size_t Flush(ReplayBuffer& buffer);
  std::string Line(const LedgerEntry& entry) const;

 private:
  // Cuts a torn last line; returns the trajectory ids in the file.
  std::set<uint64_t> Recover();

  Env* env_;
  std::string path_;
  int64_t max_staleness_;
  bool mask_truncated_;
  bool checked_file_ = false;
};

}  // namespace crescent::replay
