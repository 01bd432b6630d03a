#include "replay/buffer.hpp"

#include <stdexcept>

#include "common/util/log.hpp"
#include "replay/record_format.hpp"

namespace crescent::replay {
namespace {

const char* ChangeName(const Change& change) {
  static const char* const kNames[] = {
      "StartGroup",  "AddSegment", "ScoreTrajectory", "RestartTrajectory", "DropGroup",
      "TrainGroups", "Rewind",     "CommitTraining",  "LedgerWritten",     "SetPosition"};
  return kNames[change.index()];
}

}  // namespace

size_t Trajectory::response_tokens() const {
  size_t n = 0;
  for (const auto& s : segments) n += s.tokens.size();
  return n;
}

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kCollecting:
      return "collecting";
    case GroupState::kReady:
      return "ready";
    case GroupState::kTrained:
      return "trained";
  }
  return "?";
}

PolicyVersion BufferState::trained_version() const {
  return std::max(last_trained_version_, position_.policy_version);
}

void BufferState::Check(bool ok, const Change& change, const std::string& why) const {
  if (!ok) throw std::logic_error(StrCat("replay buffer: ", ChangeName(change), ": ", why));
}

void BufferState::UpdateGroupState(Group& group) {
  if (group.state != GroupState::kCollecting) return;
  for (uint64_t id : group.trajectories) {
    const Trajectory& t = trajectories_.at(id);
    if (!t.finished() || !t.scored) return;
  }
  group.state = GroupState::kReady;
}

void BufferState::DropTrajectory(uint64_t id, const std::string& reason, int64_t iteration) {
  Trajectory& t = trajectories_.at(id);
  LedgerEntry e;
  e.prompt_id = groups_.at(t.group_id).prompt.id;
  e.trained = false;
  e.reason = reason;
  e.iteration = iteration;
  e.version = trained_version();
  e.trajectory = std::move(t);
  pending_ledger_.push_back(std::move(e));
  trajectories_.erase(id);
}

void BufferState::ApplyChange(const Change& change) {
  // Validate everything first so that a refused change leaves no trace.
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, StartGroup>) {
          Check(c.group_id == next_group_id_, change,
                StrCat("group id ", c.group_id, " is not the next unused one (", next_group_id_,
                       ")"));
          Check(!c.trajectory_ids.empty(), change, "a group needs at least one trajectory");
          for (size_t i = 0; i < c.trajectory_ids.size(); ++i)
            Check(c.trajectory_ids[i] == next_trajectory_id_ + i, change,
                  StrCat("trajectory id ", c.trajectory_ids[i], " is not the next unused one"));
        } else if constexpr (std::is_same_v<T, AddSegment>) {
          auto it = trajectories_.find(c.trajectory_id);
          Check(it != trajectories_.end(), change,
                StrCat("no trajectory ", c.trajectory_id, " in the buffer"));
          Check(!it->second.finished(), change,
                StrCat("trajectory ", c.trajectory_id, " is already finished"));
          const Segment& s = c.segment;
          Check(s.source != SegmentSource::kPolicy || s.logprobs.size() == s.tokens.size(), change,
                StrCat("trajectory ", c.trajectory_id, ": ", s.tokens.size(), " tokens but ",
                       s.logprobs.size(), " log-probs"));
        } else if constexpr (std::is_same_v<T, ScoreTrajectory>) {
          auto it = trajectories_.find(c.trajectory_id);
          Check(it != trajectories_.end(), change,
                StrCat("no trajectory ", c.trajectory_id, " in the buffer"));
          Check(it->second.finished(), change,
                StrCat("trajectory ", c.trajectory_id, " is not finished"));
          Check(groups_.at(it->second.group_id).state == GroupState::kCollecting, change,
                StrCat("trajectory ", c.trajectory_id, "'s group is past scoring"));
        } else if constexpr (std::is_same_v<T, RestartTrajectory>) {
          auto it = trajectories_.find(c.old_id);
          Check(it != trajectories_.end(), change, StrCat("no trajectory ", c.old_id));
          Check(!it->second.finished(), change,
                StrCat("trajectory ", c.old_id, " is finished: it cannot restart"));
          Check(c.new_id == next_trajectory_id_, change,
                StrCat("trajectory id ", c.new_id, " is not the next unused one"));
        } else if constexpr (std::is_same_v<T, DropGroup>) {
          auto it = groups_.find(c.group_id);
          Check(it != groups_.end(), change, StrCat("no group ", c.group_id));
          Check(it->second.state != GroupState::kTrained, change,
                StrCat("group ", c.group_id, " was trained"));
        } else if constexpr (std::is_same_v<T, TrainGroups>) {
          Check(c.policy_version > trained_version(), change,
                StrCat("version ", c.policy_version, " is not above ", trained_version()));
          for (uint64_t id : c.group_ids) {
            auto it = groups_.find(id);
            Check(it != groups_.end() && it->second.state == GroupState::kReady, change,
                  StrCat("group ", id, " is not ready"));
          }
        } else if constexpr (std::is_same_v<T, LedgerWritten>) {
          Check(c.count <= pending_ledger_.size(), change,
                StrCat(c.count, " entries written, ", pending_ledger_.size(), " pending"));
        }
      },
      change);
  ApplyOne(change);
}

void BufferState::ApplyOne(const Change& change) {
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, StartGroup>) {
          Group g;
          g.id = c.group_id;
          g.prompt = c.prompt;
          g.created_iteration = c.iteration;
          g.trajectories = c.trajectory_ids;
          for (uint64_t id : c.trajectory_ids) {
            Trajectory t;
            t.id = id;
            t.group_id = c.group_id;
            trajectories_[id] = std::move(t);
          }
          groups_[g.id] = std::move(g);
          next_group_id_ = c.group_id + 1;
          next_trajectory_id_ += c.trajectory_ids.size();
        } else if constexpr (std::is_same_v<T, AddSegment>) {
          Trajectory& t = trajectories_.at(c.trajectory_id);
          if (t.segments.empty() && !c.prompt_tokens.empty()) t.prompt_tokens = c.prompt_tokens;
          t.segments.push_back(c.segment);
          t.finish = c.finish;
          if (t.finished()) t.text = c.text;
        } else if constexpr (std::is_same_v<T, ScoreTrajectory>) {
          Trajectory& t = trajectories_.at(c.trajectory_id);
          t.scored = true;
          t.reward = c.reward;
          t.correct = c.correct;
          t.reward_details = c.details;
          UpdateGroupState(groups_.at(t.group_id));
        } else if constexpr (std::is_same_v<T, RestartTrajectory>) {
          const uint64_t group_id = trajectories_.at(c.old_id).group_id;
          DropTrajectory(c.old_id, c.reason, c.iteration);
          Trajectory fresh;
          fresh.id = c.new_id;
          fresh.group_id = group_id;
          trajectories_[c.new_id] = std::move(fresh);
          for (uint64_t& slot : groups_.at(group_id).trajectories)
            if (slot == c.old_id) slot = c.new_id;
          next_trajectory_id_ = c.new_id + 1;
        } else if constexpr (std::is_same_v<T, DropGroup>) {
          for (uint64_t id : groups_.at(c.group_id).trajectories)
            DropTrajectory(id, c.reason, c.iteration);
          groups_.erase(c.group_id);
        } else if constexpr (std::is_same_v<T, TrainGroups>) {
          for (uint64_t id : c.group_ids) {
            Group& g = groups_.at(id);
            g.state = GroupState::kTrained;
            g.trained_iteration = c.iteration;
            g.trained_version = c.policy_version;
          }
          last_trained_version_ = c.policy_version;
        } else if constexpr (std::is_same_v<T, Rewind>) {
          for (auto& [id, g] : groups_) {
            if (g.state == GroupState::kTrained && g.trained_version > c.policy_version) {
              g.state = GroupState::kReady;
              g.trained_iteration = 0;
              g.trained_version = -1;
            }
          }
          last_trained_version_ = c.policy_version;
          position_.policy_version = c.policy_version;
        } else if constexpr (std::is_same_v<T, CommitTraining>) {
          for (auto it = groups_.begin(); it != groups_.end();) {
            Group& g = it->second;
            if (g.state != GroupState::kTrained || g.trained_version > c.policy_version) {
              ++it;
              continue;
            }
            for (uint64_t id : g.trajectories) {
              LedgerEntry e;
              e.prompt_id = g.prompt.id;
              e.trained = true;
              e.iteration = g.trained_iteration;
              e.version = g.trained_version;
              e.trajectory = std::move(trajectories_.at(id));
              trajectories_.erase(id);
              pending_ledger_.push_back(std::move(e));
            }
            it = groups_.erase(it);
          }
        } else if constexpr (std::is_same_v<T, LedgerWritten>) {
          pending_ledger_.erase(pending_ledger_.begin(), pending_ledger_.begin() + c.count);
        } else if constexpr (std::is_same_v<T, SetPosition>) {
          position_ = c.position;
        }
      },
      change);
}

uint32_t BufferState::FormatVersion() const { return record::kFormatVersion; }

void BufferState::Apply(std::string_view record) {
  std::vector<Change> changes;
  try {
    changes = record::DecodeChanges(record);
  } catch (const record::RecordError& e) {
    throw std::logic_error(StrCat("replay buffer: undecodable record (record format version ",
                                  record::kFormatVersion, "): ", e.what()));
  }
  for (const Change& c : changes) ApplyChange(c);
}

std::string BufferState::Encode(const std::vector<Change>& changes) {
  return record::EncodeChanges(changes);
}

std::string BufferState::Snapshot() const {
  return record::EncodeImage(record::Image{groups_, trajectories_, pending_ledger_, position_,
                                           next_group_id_, next_trajectory_id_,
                                           last_trained_version_});
}

void BufferState::Restore(std::string_view snapshot) {
  record::Image d;
  try {
    d = record::DecodeImage(snapshot);
  } catch (const record::RecordError& e) {
    throw std::logic_error(StrCat("replay buffer: undecodable snapshot (record format version ",
                                  record::kFormatVersion, "): ", e.what()));
  }
  groups_ = std::move(d.groups);
  trajectories_ = std::move(d.trajectories);
  pending_ledger_ = std::move(d.pending_ledger);
  position_ = std::move(d.position);
  next_group_id_ = d.next_group_id;
  next_trajectory_id_ = d.next_trajectory_id;
  last_trained_version_ = d.last_trained_version;
}

ReplayBuffer::ReplayBuffer(Env* env, const std::string& dir, const JournalOptions& options,
                           RecoveryReport* report)
    : journal_(Journal::Open(env, dir, options, state_, report)) {}

void ReplayBuffer::Commit(const std::vector<Change>& changes) {
  if (changes.empty()) return;
  // Refuse a batch that does not fit before anything reaches the log.
  BufferState trial = state_;
  for (const Change& c : changes) trial.ApplyChange(c);
  journal_->Append(BufferState::Encode(changes));
}

BufferState ReadBuffer(Env* env, const std::string& dir, RecoveryReport* report) {
  BufferState state;
  Journal::Read(env, dir, JournalOptions{}, state, report);
  return state;
}

uint64_t TokenHash(const std::vector<int32_t>& tokens) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : tokens) {
    for (int b = 0; b < 4; ++b) {
      h ^= (static_cast<uint32_t>(t) >> (8 * b)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  return h;
}

}  // namespace crescent::replay
