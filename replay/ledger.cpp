// The ledger file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
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

// Trajectory ids already in a ledger file (a missing file has none).
std::set<uint64_t> LedgerIds(const std::string& path) {
  std::set<uint64_t> ids;
  std::ifstream in(path);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      ids.insert(nlohmann::json::parse(line).at("trajectory").get<uint64_t>());
    } catch (const std::exception&) {
      // A torn last line from a crash; everything before it stands.
      LogWarn(path, ":", number, ": unreadable ledger line skipped");
    }
  }
  return ids;
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
  }
  return j;
}

bool SegmentInLoss(const Segment& segment, PolicyVersion from, int64_t max_staleness) {
  return segment.source == SegmentSource::kPolicy && from - segment.policy_version <= max_staleness;
}

Ledger::Ledger(std::string path, int64_t max_staleness, bool mask_truncated)
    : path_(std::move(path)), max_staleness_(max_staleness), mask_truncated_(mask_truncated) {}

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
  if (!checked_file_) written = LedgerIds(path_);
  checked_file_ = true;
  std::string text;
  size_t lines = 0;
  for (const LedgerEntry& e : pending) {
    if (written.count(e.trajectory.id)) continue;
    text += Line(e) + "\n";
    ++lines;
  }
  if (!text.empty()) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw JournalIoError(StrCat("open ", path_, ": ", std::strerror(errno)));
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        throw JournalIoError(StrCat("write ", path_, ": ", std::strerror(err)));
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    const bool synced = ::fdatasync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!synced) throw JournalIoError(StrCat("fdatasync ", path_, ": ", std::strerror(err)));
  }
  buffer.Commit({LedgerWritten{pending.size()}});
  return lines;
}

}  // namespace crescent::replay
