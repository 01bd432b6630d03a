#include "master/progress.hpp"

#include <optional>

#include "common/run/run_dir.hpp"
#include "common/util/log.hpp"

namespace crescent::master {

using replay::Change;
using replay::GroupState;

std::unique_ptr<replay::ReplayBuffer> OpenReplayBuffer(const config::Config& config,
                                                       env::Env* env) {
  const auto& rc = config.replay;
  const replay::JournalOptions options = rc.journal;
  const std::string dir = run::ReplayDir(config.run.dir);
  env->CreateDir(config.run.dir);
  // The master of a job killed a moment ago may still hold the lock.
  const uint64_t give_up = env->NowMicros() + 20'000'000;
  while (true) {
    try {
      replay::RecoveryReport report;
      auto buffer = std::make_unique<replay::ReplayBuffer>(env, dir, options, &report);
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
      return buffer;
    } catch (const replay::JournalIoError& e) {
      if (env->NowMicros() > give_up || std::string(e.what()).find("held by") == std::string::npos)
        throw;
      env->SleepForMicroseconds(250'000);
    }
  }
}

Progress::Progress(const config::Config& config, env::Env* env, replay::ReplayBuffer& buffer,
                   PromptFeed& feed)
    : config_(config),
      env_(env),
      buffer_(buffer),
      feed_(feed),
      ledger_(env, run::LedgerPath(config.run.dir), config.rollout.max_staleness,
              config.trainer.mask_truncated) {}

void Progress::Commit(const std::vector<Change>& changes) {
  buffer_.Commit(changes);
  if (++commits_since_snapshot_ >= config_.replay.snapshot_every) {
    buffer_.Checkpoint();
    commits_since_snapshot_ = 0;
  }
}

replay::Position Progress::Position(int64_t iteration, proto::PolicyVersion version) const {
  return {iteration, version, feed_.SaveState()};
}

Progress::Start Progress::Resume() {
  const replay::BufferState& state = buffer_.state();
  const std::optional<run::Checkpoint> checkpoint = run::LatestCheckpoint(env_, config_.run.dir);
  const proto::PolicyVersion version = checkpoint ? checkpoint->policy_version : 0;
  size_t covered = 0, redo = 0, unfinished = 0;
  for (const auto& [id, g] : state.groups()) {
    if (g.state != GroupState::kTrained) continue;
    (g.trained_version <= version ? covered : redo)++;
  }
  for (const auto& [id, t] : state.trajectories()) unfinished += !t.finished();
  std::vector<Change> changes;
  if (covered > 0) changes.emplace_back(replay::CommitTraining{version});
  if (state.trained_version() > version) changes.emplace_back(replay::Rewind{version});
  const std::string sampler = state.position().sampler_state;
  if (!sampler.empty()) feed_.LoadState(sampler);
  const Start start{checkpoint ? checkpoint->iteration : 0, version};
  if (state.position().iteration > 0 || checkpoint) {
    changes.push_back(replay::SetPosition{Position(start.iteration, version)});
    LogInfo("resuming at iteration ", start.iteration, " (policy version ", version, ", ",
            checkpoint ? "checkpoint " + checkpoint->dir : std::string("no checkpoint yet"),
            "); the run had reached iteration ", state.position().iteration, ": ", redo,
            " groups trained since go back to the trainer, ", unfinished,
            " unfinished trajectories continue");
  }
  Commit(changes);
  ledger_.Flush(buffer_);
  return start;
}

size_t Progress::CheckpointSaved(proto::PolicyVersion version) {
  Commit({replay::CommitTraining{version}});
  return ledger_.Flush(buffer_);
}

size_t Progress::DropUntrained(int64_t iteration) {
  std::vector<Change> changes;
  for (const auto& [id, g] : buffer_.state().groups()) {
    if (g.state == GroupState::kTrained) continue;
    changes.push_back(
        replay::DropGroup{id,
                          StrCat("the run ended (run.iterations = ", config_.run.iterations,
                                 ") with the group ", replay::GroupStateName(g.state)),
                          iteration});
  }
  Commit(changes);
  return ledger_.Flush(buffer_);
}

}  // namespace crescent::master
