// `crescent replay stats|dump RUN_DIR`: what a run's replay buffer holds.
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.hpp"
#include "common/util/log.hpp"
#include "replay/buffer.hpp"
#include "replay/trajectory_json.hpp"

namespace crescent::cli {

using namespace replay;

namespace {

int Usage(std::ostream& out) {
  out << "usage: crescent replay stats RUN_DIR\n"
         "       crescent replay dump RUN_DIR\n";
  return 2;
}

}  // namespace

int ReplayCommand(const std::vector<std::string>& args, std::ostream& out) {
  if (args.size() != 2 || (args[0] != "stats" && args[0] != "dump")) return Usage(out);
  const std::string dir = args[1] + "/replay";
  RecoveryReport report;
  BufferState state = ReadBuffer(Env::Posix(), dir, &report);
  if (report.tail_truncated) {
    LogWarn(report.truncated_file, ": torn tail of ", report.truncated_bytes,
            " bytes at byte offset ", report.truncated_offset, " (", report.truncated_reason,
            "; the job cuts it when it next opens the buffer)");
  }
  const Position& pos = state.position();
  if (args[0] == "dump") {
    for (const auto& [id, t] : state.trajectories()) {
      const Group& g = state.groups().at(t.group_id);
      nlohmann::json j = TrajectoryJson(t, /*with_tokens=*/true);
      j["prompt"] = g.prompt.id;
      j["group_state"] = GroupStateName(g.state);
      j["prompt_tokens"] = t.prompt_tokens;
      out << j.dump() << "\n";
    }
    return 0;
  }
  std::map<std::string, int64_t> groups_by_state, by_finish, by_age;
  int64_t unfinished_tokens = 0;
  for (const auto& [id, g] : state.groups()) ++groups_by_state[GroupStateName(g.state)];
  for (const auto& [id, t] : state.trajectories()) {
    ++by_finish[t.finished() ? proto::FinishReasonName(t.finish) : "unfinished"];
    if (!t.finished()) unfinished_tokens += static_cast<int64_t>(t.response_tokens());
    // Age: iterations since its group was started.
    const int64_t age = pos.iteration - state.groups().at(t.group_id).created_iteration;
    const std::string bucket = age <= 0   ? "0"
                               : age == 1 ? "1"
                               : age <= 3 ? "2-3"
                               : age <= 7 ? "4-7"
                                          : "8+";
    ++by_age[bucket];
  }
  nlohmann::json j = {{"iteration", pos.iteration},
                      {"policy_version", pos.policy_version},
                      {"trained_version", state.trained_version()},
                      {"groups", state.groups().size()},
                      {"groups_by_state", groups_by_state},
                      {"trajectories", state.trajectories().size()},
                      {"trajectories_by_finish", by_finish},
                      {"trajectories_by_age_iterations", by_age},
                      {"unfinished_response_tokens", unfinished_tokens},
                      {"pending_ledger_entries", state.pending_ledger().size()},
                      {"next_trajectory_id", state.next_trajectory_id()},
                      {"snapshot", report.snapshot_file},
                      {"records_replayed", report.records_replayed}};
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace crescent::cli
