// The ledger file.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/util/log.hpp"
#include "replay/buffer.hpp"
#include "replay/trajectory_json.hpp"

namespace crescent::replay {
namespace {

std::string Hex(uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

const char* SourceName(SegmentSource s) {
  return s == SegmentSource::kPolicy ? "policy" : "environment";
}

}  // namespace

nlohmann::json TrajectoryJson(const Trajectory& t, bool with_tokens) {
  nlohmann::json segments = nlohmann::json::array();
  for (const Segment& s : t.segments) {
    nlohmann::json j = {{"source", SourceName(s.source)},
                        {"policy_version", s.policy_version},
                        {"iteration", s.iteration},
                        {"tokens", s.tokens.size()},
                        {"hash", Hex(TokenHash(s.tokens))}};
    if (with_tokens) {
      j["token_ids"] = s.tokens;
      j["logprobs"] = s.logprobs;
    }
    segments.push_back(std::move(j));
  }
  nlohmann::json j = {{"trajectory", t.id},
                      {"group", t.group_id},
                      {"finish", t.finished() ? proto::FinishReasonName(t.finish) : "unfinished"},
                      {"segments", std::move(segments)}};
  if (t.scored) {
    j["reward"] = t.reward;
    j["correct"] = t.correct;
    if (!t.reward_details.empty()) {
      j["reward_details"] = nlohmann::json::parse(t.reward_details, nullptr, false);
    }
  }
  return j;
}

bool SegmentInLoss(const Segment& segment, PolicyVersion from, int64_t max_staleness) {
  return segment.source == SegmentSource::kPolicy && from - segment.policy_version <= max_staleness;
}

Ledger::Ledger(Env* env, std::string path, int64_t max_staleness, bool mask_truncated)
    : env_(env),
      path_(std::move(path)),
      max_staleness_(max_staleness),
      mask_truncated_(mask_truncated) {}

Ledger::Ledger(std::string path, int64_t max_staleness, bool mask_truncated)
    : Ledger(Env::Posix(), std::move(path), max_staleness, mask_truncated) {}

std::set<uint64_t> Ledger::Recover() {
  std::set<uint64_t> ids;
  if (!env_->FileExists(path_)) return ids;
  std::string text = env_->ReadFile(path_);
  if (!text.empty() && text.back() != '\n') {
    // A crash cut the last append short: every line is whole or absent.
    const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    LogWarn("replay ledger: cutting the torn last line of ", path_, " at byte offset ", keep, " (",
            text.size() - keep, " bytes)");
    env_->Truncate(path_, keep);
    auto f = env_->NewAppendableFile(path_);
    f->Sync();
    f->Close();
    text.resize(keep);
  }
  size_t number = 0, begin = 0;
  while (begin < text.size()) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    ++number;
    const std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    if (line.empty()) continue;
    try {
      ids.insert(nlohmann::json::parse(line).at("trajectory").get<uint64_t>());
    } catch (const std::exception&) {
      LogWarn(path_, ":", number, ": unreadable ledger line skipped");
    }
  }
  return ids;
}

std::string Ledger::Line(const LedgerEntry& e) const {
  nlohmann::json j = TrajectoryJson(e.trajectory, /*with_tokens=*/false);
  j["prompt"] = e.prompt_id;
  j["outcome"] = e.trained ? "trained" : "dropped";
  j["iteration"] = e.iteration;
  j["policy_version"] = e.version;
  if (!e.trained) j["reason"] = e.reason;
  if (e.trained) {
    const bool masked = mask_truncated_ && e.trajectory.finish == FinishReason::kLength;
    for (size_t i = 0; i < e.trajectory.segments.size(); ++i) {
      j["segments"][i]["in_loss"] =
          !masked && SegmentInLoss(e.trajectory.segments[i], e.version - 1, max_staleness_);
    }
  }
  return j.dump();
}

size_t Ledger::Flush(ReplayBuffer& buffer) {
  const auto& pending = buffer.state().pending_ledger();
  if (pending.empty()) return 0;
  // After a crash the file may already hold some of these lines.
  std::set<uint64_t> written;
  if (!checked_file_) written = Recover();
  checked_file_ = true;
  std::string text;
  size_t lines = 0;
  for (const LedgerEntry& e : pending) {
    if (written.count(e.trajectory.id)) continue;
    text += Line(e) + "\n";
    ++lines;
  }
  if (!text.empty()) {
    const bool created = !env_->FileExists(path_);
    auto f = env_->NewAppendableFile(path_);
    f->Append(text);
    f->Sync();
    f->Close();
    if (created) env_->SyncDir(env::Dirname(path_));
  }
  buffer.Commit({LedgerWritten{pending.size()}});
  return lines;
}

}  // namespace crescent::replay
