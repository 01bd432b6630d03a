// The cluster section's keys seen from outside: whole jobs with a key set,
// most of which fail before or right after the workers start (the other
// keys: keys_test.cpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "tests/common/process.hpp"
#include "tests/launch/key_jobs.hpp"

using namespace std::chrono_literals;
using namespace crescent::testing::keys;
using crescent::testing::KillProcessTree;
using crescent::testing::Process;
using crescent::testing::ReadFile;
using crescent::testing::TempDir;
namespace fs = std::filesystem;

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
    CHECK(j["samples_scored"] == 16);              // both halves came back
    CHECK(j["reward_errors"][PLUGIN_HANG] == 16);  // every one timed out, and was counted
  }
  CHECK(iterations == 1);
  // The ledger says why each sample scored what it did.
  size_t explained = 0;
  for (const auto& j : JsonLines(dir + "/ledger.jsonl")) {
    if (!j.contains("reward_details")) continue;
    ++explained;
    CHECK_THAT(j["reward_details"][PLUGIN_HANG]["error"].get<std::string>(),
               Catch::Contains("timed out after 0.3 s"));
  }
  CHECK(explained > 0);
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
