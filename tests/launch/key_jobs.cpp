#include "tests/launch/key_jobs.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "tests/common/json_lines.hpp"
#include "tests/common/process.hpp"

namespace crescent::testing::keys {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kCrescent = CRESCENT_BINARY;
const std::string kConfig = std::string(CRESCENT_SOURCE_DIR) + "/tests/launch/smoke.yaml";

std::vector<std::string> Command(const std::string& verb, const std::string& dir,
                                 const std::vector<std::string>& settings) {
  std::vector<std::string> argv = {kCrescent, verb, kConfig, "--set", "run.dir=" + dir};
  for (const auto& s : settings) argv.insert(argv.end(), {"--set", s});
  return argv;
}

const std::string& SftModel() {
  static std::string model;
  if (model.empty()) {
    const std::string dir = TempDir("crescent-keys-sft");
    Process sft(Command("sft", dir, {}), dir + "/sft.log");
    INFO(sft.Output());
    REQUIRE(sft.Wait(120s) == 0);
    model = dir + "/sft";
  }
  return model;
}

void CopyModel(const std::string& dest) { fs::copy(SftModel(), dest, fs::copy_options::recursive); }

std::vector<json> JsonLines(const std::string& path) {
  return testing::ParseJsonLines(testing::ReadFile(path));
}

Job RunToEnd(const std::string& dir, const std::vector<std::string>& settings) {
  Process run(Command("run", dir, settings), dir + ".log");
  const int rc = run.Wait(300s);
  INFO(run.Output());
  REQUIRE(rc == 0);
  Job job{dir, run.Output(), {}, {}, JsonLines(dir + "/ledger.jsonl")};
  for (auto& j : JsonLines(dir + "/metrics.jsonl"))
    (j.contains("iteration") ? job.iterations : job.evals).push_back(j);
  return job;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  REQUIRE(ok);
  return ntohs(address.sin_port);
}

const MainJob& Main() {
  static std::unique_ptr<MainJob> job;
  if (!job) {
    const std::string dir = TempDir("crescent-keys-main");
    CopyModel(dir + "/sft");
    const int port = FreePort();
    auto j = std::make_unique<MainJob>();
    static_cast<Job&>(*j) =
        RunToEnd(dir, {"run.iterations=" + std::to_string(kIterations),
                       "cluster.master_port=" + std::to_string(port), "trainer.checkpoint_every=2",
                       "replay.snapshot_every=1", "eval.every=2", "rollout.repeat_ngram=1",
                       "rollout.repeat_count=2", "reward.repeat_penalty=0.5", "rollout.budget=2",
                       "rollout.max_staleness=0", "rollout.stale_policy=restart"});
    j->port = port;
    job = std::move(j);
  }
  return *job;
}

const ContrastJob& Contrast() {
  static std::unique_ptr<ContrastJob> job;
  if (!job) {
    const std::string root = TempDir("crescent-keys-contrast");
    auto j = std::make_unique<ContrastJob>();
    j->model = root + "/elsewhere/model";
    fs::create_directories(root + "/elsewhere");
    CopyModel(j->model);
    static_cast<Job&>(*j) = RunToEnd(
        root + "/run", {"run.iterations=" + std::to_string(kIterations), "model.path=" + j->model,
                        "rollout.repeat_ngram=1", "rollout.repeat_count=2", "rollout.budget=2",
                        "rollout.max_staleness=0"});
    job = std::move(j);
  }
  return *job;
}

std::string RegexEscape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

int PidOf(const std::string& output, const std::string& who) {
  std::smatch m;
  std::regex re("hello from " + who + " on host [^ ]+ \\(pid ([0-9]+)\\)");
  if (!std::regex_search(output, m, re)) return -1;
  return std::stoi(m[1]);
}

bool HasChild(pid_t parent) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...; comm may hold spaces: parse after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) return true;
  }
  return false;
}

std::string CheckpointName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof name, "v%08lld", static_cast<long long>(version));
  return name;
}

std::vector<std::pair<int64_t, int64_t>> ExpectedCheckpoints(const Job& job, int64_t every) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t saved = 0;
  for (const auto& j : job.iterations) {
    const int64_t it = j["iteration"], version = j["policy_version"];
    if ((it % every == 0 || it == kIterations) && version != saved) {
      out.emplace_back(it, version);
      saved = version;
    }
  }
  return out;
}

std::vector<std::pair<int64_t, int64_t>> LoggedCheckpoints(const Job& job) {
  std::vector<std::pair<int64_t, int64_t>> out;
  const std::regex re("\\] checkpoint ([^ ]+) \\(iteration ([0-9]+), policy version ([0-9]+);");
  const std::string& text = job.output;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    const int64_t version = std::stoll((*it)[3]);
    CHECK((*it)[1] == job.dir + "/checkpoints/" + CheckpointName(version));
    out.emplace_back(std::stoll((*it)[2]), version);
  }
  return out;
}

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.insert(entry.path().filename());
  return out;
}

std::vector<std::string> EvalNames(const Job& job) {
  std::vector<std::string> out;
  for (const auto& j : job.evals) out.push_back(j["eval"]);
  return out;
}

int64_t SumRestarted(const Job& job) {
  int64_t n = 0;
  for (const auto& j : job.iterations) n += j["rollouts"]["restarted"].get<int64_t>();
  return n;
}

}  // namespace crescent::testing::keys
