// Config keys seen from outside: whole jobs (`crescent run` through mpirun,
// on tests/launch/smoke.yaml) with a key set, each test checking an outcome
// that depends on the key's value. Two short RL jobs are shared by several
// tests: the main job sets several keys at once, the contrast job leaves them
// at their defaults (or sets the other choice); the rest are short jobs of
// their own, most of which fail before or right after the workers start.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/common/process.hpp"

using namespace std::chrono_literals;
using crescent::testing::KillProcessTree;
using crescent::testing::Process;
using crescent::testing::ReadFile;
using crescent::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kCrescent = CRESCENT_BINARY;
const std::string kConfig = std::string(CRESCENT_SOURCE_DIR) + "/tests/launch/smoke.yaml";

// `crescent VERB smoke.yaml --set run.dir=DIR --set SETTING...`
std::vector<std::string> Command(const std::string& verb, const std::string& dir,
                                 const std::vector<std::string>& settings) {
  std::vector<std::string> argv = {kCrescent, verb, kConfig, "--set", "run.dir=" + dir};
  for (const auto& s : settings) argv.insert(argv.end(), {"--set", s});
  return argv;
}

// The SFT warm start every job here starts from, made once per test program.
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

// A copy of the SFT model at `dest`.
void CopyModel(const std::string& dest) { fs::copy(SftModel(), dest, fs::copy_options::recursive); }

std::vector<json> JsonLines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// A finished RL job: its directory, output, metrics and ledger.
struct Job {
  std::string dir;
  std::string output;
  std::vector<json> iterations;  // metrics.jsonl lines of the iterations
  std::vector<json> evals;       // metrics.jsonl lines of the evaluations
  std::vector<json> ledger;
};

// Runs `crescent run` in `dir` (which already holds what it starts from) to
// its end; it must succeed.
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

// A port no socket holds now, for cluster.master_port.
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

constexpr int64_t kIterations = 5;

// The main job: RL from RUN_DIR/sft (model.path empty), with a chosen
// master port, checkpoints every 2 iterations, a replay snapshot every
// commit, evaluation every 2 iterations, a repetition detector that fires
// on any token twice in a row with a penalty, and partial rollouts whose
// stale trajectories restart.
struct MainJob : Job {
  int port = 0;
};
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

// The contrast job: the same partial rollouts and repetition detector, but
// from a copy of the SFT model in another directory (model.path), with
// everything else at the defaults of smoke.yaml: no repeat penalty,
// stale_policy exclude, checkpoint_every 10, snapshot_every 200, eval.every 0.
struct ContrastJob : Job {
  std::string model;
};
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

// Whether some process has `parent` as its parent.
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

// (iteration, policy version) of the checkpoints a run saves with
// trainer.checkpoint_every = every: at each N-th iteration and the last,
// when the policy changed since the checkpoint before.
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

// (iteration, policy version) of each "checkpoint DIR (iteration N, policy
// version V; ...)" line of the master; DIR must be the version's directory.
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

}  // namespace

TEST_CASE("run.log_level warn: no info lines, and the job still succeeds", "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-warn");
  CopyModel(dir + "/sft");
  const Job job = RunToEnd(dir, {"run.log_level=warn", "run.iterations=2"});
  INFO(job.output);
  std::istringstream lines(job.output);
  size_t info = 0;
  for (std::string line; std::getline(lines, line);) info += line.rfind("I ", 0) == 0;
  CHECK(info == 0);
  CHECK(job.iterations.size() == 2);  // it ran, quietly
  CHECK(fs::exists(dir + "/policy/config.json"));
  // The same kind of job at the default level (info) logs info lines.
  CHECK(Contrast().output.find("\nI ") != std::string::npos);
}

TEST_CASE("cluster.reward_services 2: both reward services say hello and both score",
          "[launch][keys]") {
  // A plug-in that hangs until reward.timeout_s: each sample a service
  // scores keeps a child of that service alive for 0.3 s.
  const std::string dir = TempDir("crescent-keys-rewards");
  CopyModel(dir + "/sft");
  Process job(
      Command("run", dir,
              {"cluster.reward_services=2", "run.iterations=1",
               "reward.functions=[" + std::string(PLUGIN_HANG) + "]", "reward.timeout_s=0.3"}),
      dir + ".log");
  const bool connected = job.WaitForOutput("all 4 workers connected", 120s);
  INFO(job.Output());
  REQUIRE(connected);
  const int first = PidOf(job.Output(), "reward service rank 3");
  const int second = PidOf(job.Output(), "reward service rank 4");
  REQUIRE(first > 0);
  REQUIRE(second > 0);
  bool first_scored = false, second_scored = false;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!(first_scored && second_scored) && std::chrono::steady_clock::now() < give_up &&
         job.Wait(0ms) == -1) {
    first_scored = first_scored || HasChild(first);
    second_scored = second_scored || HasChild(second);
    std::this_thread::sleep_for(20ms);
  }
  CHECK(first_scored);
  CHECK(second_scored);
  const int rc = job.Wait(120s);
  if (rc == -1) KillProcessTree(job.pid());
  REQUIRE(rc == 0);
  auto metrics = JsonLines(dir + "/metrics.jsonl");
  size_t iterations = 0;
  for (const auto& j : metrics) {
    if (!j.contains("iteration")) continue;
    ++iterations;
    CHECK(j["samples_scored"] == 16);  // both halves came back
  }
  CHECK(iterations == 1);
}

TEST_CASE("cluster.master_port: the master listens on the chosen port, master.endpoint names it",
          "[launch][keys]") {
  const MainJob& job = Main();
  std::string endpoint = ReadFile(job.dir + "/master.endpoint");
  endpoint = endpoint.substr(0, endpoint.find('\n'));
  INFO(endpoint);
  const std::string suffix = ":" + std::to_string(job.port);
  REQUIRE(endpoint.size() > suffix.size());
  CHECK(endpoint.rfind("tcp://", 0) == 0);
  CHECK(endpoint.compare(endpoint.size() - suffix.size(), suffix.size(), suffix) == 0);
  CHECK(job.output.find("listening on " + endpoint + "\n") != std::string::npos);
}

TEST_CASE("cluster.startup_timeout_s: ranks that never say hello are named after that long",
          "[launch][keys]") {
  // model.path whose model.safetensors is a FIFO nobody writes: the trainer
  // and the rollout worker block loading the weights, so never say hello;
  // the reward service does. (The launcher reads only config.json and the
  // tokenizer, so it gets as far as mpirun.)
  const std::string root = TempDir("crescent-keys-startup");
  const std::string model = root + "/model";
  fs::create_directories(model);
  for (const char* f : {"config.json", "alphabet.txt"})
    fs::copy_file(SftModel() + "/" + f, model + "/" + f);
  const std::string fifo = model + "/model.safetensors";
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  Process job(Command("run", root + "/run",
                      {"model.path=" + model, "cluster.startup_timeout_s=3", "run.iterations=2"}),
              root + "/run.log");
  const std::string error = "these ranks did not connect within 3 s (cluster.startup_timeout_s):";
  const bool reported = job.WaitForOutput(error, 60s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int rc = job.Wait(60s);
  // Unblock any reader of the FIFO still there (end of file), then end the job.
  const int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  if (fd >= 0) close(fd);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  REQUIRE(reported);
  CHECK(seconds >= 3);
  CHECK(seconds < 30);  // not the default 120 s
  CHECK(rc != 0);
  CHECK(rc != -1);
  const std::string missing = out.substr(out.find(error));
  CHECK(missing.find("\n  trainer rank 1 on host ") != std::string::npos);
  CHECK(missing.find("\n  rollout worker rank 2 on host ") != std::string::npos);
  CHECK(out.find("hello from reward service rank 3 on host ") != std::string::npos);
  CHECK(out.find("workers connected") == std::string::npos);
}

TEST_CASE("cluster.worker_lost_after_s: a stopped rollout worker is given up after that long",
          "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-lost");
  CopyModel(dir + "/sft");
  // heartbeat_timeout_s is 5 in smoke.yaml: the worker is lost before it
  // would even be reported unresponsive.
  Process job(Command("run", dir, {"cluster.worker_lost_after_s=3", "run.iterations=100000"}),
              dir + ".log");
  const bool connected = job.WaitForOutput("all 3 workers connected", 120s);
  INFO(job.Output());
  REQUIRE(connected);
  const int pid = PidOf(job.Output(), "rollout worker rank 2");
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGSTOP) == 0);
  const auto stopped_at = std::chrono::steady_clock::now();
  const bool lost = job.WaitForOutput("lost rollout worker rank 2 on host", 60s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
  kill(pid, SIGCONT);
  const int rc = job.Wait(60s);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  REQUIRE(lost);
  // Its last heartbeat came at most heartbeat_interval_s (0.5 s) before the stop.
  CHECK(seconds >= 2.5);
  CHECK(seconds < 15);  // not the default 300 s
  std::smatch m;
  REQUIRE(std::regex_search(
      out, m,
      std::regex("lost rollout worker rank 2 on host [^ ]+ \\(pid " + std::to_string(pid) +
                 "\\): no heartbeat for ([0-9.e+-]+) s \\(cluster.worker_lost_after_s\\)")));
  const double silent = std::stod(m[1]);
  CHECK(silent > 3);
  CHECK(silent < 15);
  CHECK(out.find("unresponsive: rollout worker rank 2") == std::string::npos);
  CHECK(rc != 0);
  CHECK(rc != -1);
}

TEST_CASE("cluster.mpirun: a program that does not exist is named in the error", "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-mpirun");
  const std::string program = dir + "/no-such-mpirun";
  Process job(Command("run", dir + "/run", {"cluster.mpirun=" + program}), dir + "/out.log");
  const int rc = job.Wait(60s);
  const std::string out = job.Output();
  INFO(out);
  CHECK(rc == 127);
  CHECK(out.find("crescent run: cannot start " + program +
                 " (cluster.mpirun, --set cluster.mpirun): No such file or directory") !=
        std::string::npos);
  CHECK(out.find("listening on") == std::string::npos);
}

TEST_CASE("cluster.hostfile: a missing hostfile is named before mpirun starts", "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-hostfile");
  const std::string hostfile = dir + "/no-such-hostfile";
  Process job(Command("run", dir + "/run", {"cluster.hostfile=" + hostfile}), dir + "/out.log");
  const int rc = job.Wait(60s);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(out.find("cluster.hostfile: cannot read " + hostfile) != std::string::npos);
  CHECK(out.find("--set cluster.hostfile") != std::string::npos);
  CHECK(out.find(" --hostfile ") == std::string::npos);  // mpirun was never started
}

TEST_CASE("model.path: a policy without a tokenizer is named before mpirun starts",
          "[launch][keys]") {
  const std::string dir = TempDir("crescent-keys-notokenizer");
  const std::string model = dir + "/model";
  fs::create_directories(model);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(SftModel() + "/" + f, model + "/" + f);
  Process job(Command("run", dir + "/run", {"model.path=" + model}), dir + "/out.log");
  const int rc = job.Wait(60s);
  if (rc == -1) KillProcessTree(job.pid());
  const std::string out = job.Output();
  INFO(out);
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(out.find("the initial policy (model.path, --set model.path) cannot be used: " + model +
                 ": no tokenizer: neither tokenizer.json nor alphabet.txt") != std::string::npos);
  CHECK(out.find(" worker ") == std::string::npos);  // mpirun was never started
}

TEST_CASE("model.path: RL starts from a copied SFT model in another directory", "[launch][keys]") {
  const ContrastJob& job = Contrast();
  INFO(job.output);
  // The trainer and the rollout worker load it; the run directory has no sft.
  const std::regex loaded(
      "(trainer|rollout)\\[[0-9]+\\]@[^ ]+ pid [0-9]+\\] loaded [a-z]+ model "
      "from " +
      RegexEscape(job.model) + ":");
  std::set<std::string> roles;
  for (auto it = std::sregex_iterator(job.output.begin(), job.output.end(), loaded);
       it != std::sregex_iterator(); ++it)
    roles.insert((*it)[1]);
  CHECK(roles == std::set<std::string>{"trainer", "rollout"});
  CHECK_FALSE(fs::exists(job.dir + "/sft"));
  CHECK(job.iterations.size() == kIterations);
  CHECK(fs::exists(job.dir + "/policy/config.json"));
  // Empty (the main job), RL starts from RUN_DIR/sft.
  CHECK(Main().output.find("loaded llama model from " + Main().dir + "/sft:") != std::string::npos);

  // A model.path without a model: the ranks loading it name it.
  const std::string root = TempDir("crescent-keys-nomodel");
  Process bad(Command("run", root + "/run", {"model.path=" + root + "/nothing"}),
              root + "/run.log");
  const int rc = bad.Wait(120s);
  if (rc == -1) KillProcessTree(bad.pid());
  INFO(bad.Output());
  CHECK(rc != 0);
  CHECK(rc != -1);
  CHECK(bad.Output().find(root + "/nothing: no policy checkpoint here") != std::string::npos);
}

TEST_CASE("trainer.checkpoint_every: checkpoints at every N-th iteration and at the end",
          "[launch][keys]") {
  SECTION("checkpoint_every 2") {
    const Job& job = Main();
    INFO(job.output);
    const auto expected = ExpectedCheckpoints(job, 2);
    REQUIRE(expected.size() >= 2);
    CHECK(expected.front().first < kIterations);  // one before the end
    CHECK(LoggedCheckpoints(job) == expected);
    // The newest two are kept; latest names the newest.
    std::set<std::string> kept = {"latest"};
    for (size_t i = expected.size() - 2; i < expected.size(); ++i)
      kept.insert(CheckpointName(expected[i].second));
    CHECK(Entries(job.dir + "/checkpoints") == kept);
    CHECK(ReadFile(job.dir + "/checkpoints/latest") ==
          CheckpointName(expected.back().second) + "\n");
  }
  SECTION("checkpoint_every 10 (the default), 5 iterations: only at the end") {
    const Job& job = Contrast();
    INFO(job.output);
    const auto expected = ExpectedCheckpoints(job, 10);
    REQUIRE(expected.size() == 1);
    CHECK(expected[0].first == kIterations);
    CHECK(LoggedCheckpoints(job) == expected);
    CHECK(Entries(job.dir + "/checkpoints") ==
          std::set<std::string>{"latest", CheckpointName(expected[0].second)});
  }
}

TEST_CASE("replay.snapshot_every: 1 leaves a snapshot of the replay buffer, 200 none",
          "[launch][keys]") {
  std::set<std::string> snapshots, logs;
  for (const auto& name : Entries(Main().dir + "/replay")) {
    if (name.rfind("snapshot-", 0) == 0) snapshots.insert(name);
    if (name.rfind("log-", 0) == 0) logs.insert(name);
  }
  INFO(Main().output);
  REQUIRE(snapshots.size() == 1);  // the newest; the ones before it are removed
  const std::string snapshot = *snapshots.begin();
  const uint64_t number = std::stoull(snapshot.substr(9, snapshot.find('.') - 9));
  CHECK(number > kIterations);  // a snapshot at every commit, several commits an iteration
  char log[40];
  std::snprintf(log, sizeof log, "log-%06llu.log", static_cast<unsigned long long>(number));
  CHECK(logs == std::set<std::string>{log});  // the log goes on from the snapshot

  // snapshot_every 200: the short contrast job commits fewer times.
  for (const auto& name : Entries(Contrast().dir + "/replay"))
    CHECK(name.rfind("snapshot-", 0) != 0);
}

TEST_CASE("eval.every: held-out evaluation every N iterations, else only before and after",
          "[launch][keys]") {
  const std::vector<std::string> every_2 = {"before RL", "iteration 2", "iteration 4",
                                            "iteration 5"};
  CHECK(EvalNames(Main()) == every_2);
  for (const auto& when : every_2)
    CHECK(Main().output.find("] eval " + when + ": held-out accuracy ") != std::string::npos);
  const std::vector<std::string> every_0 = {"before RL", "iteration 5"};
  CHECK(EvalNames(Contrast()) == every_0);
  CHECK(Contrast().output.find("] eval iteration 2:") == std::string::npos);
}

TEST_CASE("reward.repeat_penalty: responses stopped as repeats score the penalty less",
          "[launch][keys]") {
  // The reward is math's (1 correct, 0 not) less the penalty for finish
  // "repeat": 0.5 in the main job, 0 (the default) in the contrast job.
  for (const auto& [job, penalty] :
       {std::pair<const Job*, double>{&Main(), 0.5}, {&Contrast(), 0.0}}) {
    INFO("repeat_penalty " << penalty);
    size_t repeats = 0, others = 0;
    for (const auto& j : job->ledger) {
      if (!j.contains("reward")) continue;
      INFO(j.dump());
      const double math = j["correct"].get<bool>() ? 1.0 : 0.0;
      if (j["finish"] == "repeat") {
        ++repeats;
        CHECK(j["reward"].get<double>() == Approx(math - penalty));
      } else {
        ++others;
        CHECK(j["reward"].get<double>() == Approx(math));
      }
    }
    CHECK(repeats > 0);
    CHECK(others > 0);
    int64_t in_metrics = 0;
    for (const auto& j : job->iterations) in_metrics += j["rollouts"]["finish"].value("repeat", 0);
    CHECK(in_metrics == static_cast<int64_t>(repeats));
  }
}

TEST_CASE("rollout.stale_policy: restart regenerates stale trajectories, exclude keeps them",
          "[launch][keys]") {
  // budget 2, max_staleness 0: an unfinished trajectory is stale once the
  // policy moves on.
  SECTION("restart") {
    const Job& job = Main();
    size_t stale = 0;
    for (const auto& j : job.ledger) {
      const std::string reason = j.value("reason", "");
      if (reason.find("stale") == std::string::npos) continue;
      INFO(j.dump());
      ++stale;
      CHECK(j["outcome"] == "dropped");
      CHECK(j["finish"] == "unfinished");
      CHECK(reason.find("(rollout.max_staleness 0)") != std::string::npos);
    }
    CHECK(stale > 0);
    CHECK(SumRestarted(job) == static_cast<int64_t>(stale));
  }
  SECTION("exclude (the default)") {
    const Job& job = Contrast();
    CHECK(SumRestarted(job) == 0);
    size_t excluded = 0;
    for (const auto& j : job.ledger) {
      CHECK(j.value("reason", "").find("stale") == std::string::npos);
      if (j["outcome"] != "trained") continue;
      for (const auto& s : j["segments"]) excluded += s["in_loss"] == false;
    }
    CHECK(excluded > 0);  // stale segments were trained on, without gradient
  }
}
