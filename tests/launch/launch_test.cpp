// Whole jobs launched the way users launch them: `crescent run` through mpirun,
// real processes on real sockets.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <zmq.hpp>

#include "common/proto/envelope.hpp"
#include "tests/common/process.hpp"

using namespace std::chrono_literals;
using crescent::testing::Process;
using crescent::testing::ReadFile;
using crescent::testing::TempDir;

namespace {

const std::string kCrescent = CRESCENT_BINARY;
const std::string kSource = CRESCENT_SOURCE_DIR;

// A small, quick job (`extra` overrides on top), after the SFT warm start it
// starts from.
std::vector<std::string> RunCommand(const std::string& dir, std::vector<std::string> extra) {
  std::vector<std::string> argv = {kCrescent, "run", kSource + "/tests/launch/smoke.yaml", "--set",
                                   "run.dir=" + dir};
  for (auto& e : extra) argv.insert(argv.end(), {"--set", e});
  std::vector<std::string> sft = argv;
  sft[1] = "sft";
  Process warm_start(sft, dir + "/sft.log");
  if (warm_start.Wait(120s) != 0) throw std::runtime_error("sft failed: " + warm_start.Output());
  return argv;
}

int PidOf(const std::string& output, const std::string& who) {
  std::smatch m;
  std::regex re("hello from " + who + " on host [^ ]+ \\(pid ([0-9]+)\\)");
  if (!std::regex_search(output, m, re)) return -1;
  return std::stoi(m[1]);
}

}  // namespace

TEST_CASE("crescent run starts all four roles on this machine", "[launch]") {
  std::string dir = TempDir("crescent-launch");
  Process job(RunCommand(dir, {"cluster.rollout_workers=2"}), dir + "/out.log");
  int rc = job.Wait(300s);
  std::string out = job.Output();
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(out.find("hello from trainer rank 1 on host") != std::string::npos);
  CHECK(out.find("hello from rollout worker rank 2 on host") != std::string::npos);
  CHECK(out.find("hello from rollout worker rank 3 on host") != std::string::npos);
  CHECK(out.find("hello from reward service rank 4 on host") != std::string::npos);
  CHECK(out.find("all 4 workers connected") != std::string::npos);
  CHECK(ReadFile(dir + "/config.yaml").find("rollout_workers: 2") != std::string::npos);
}

TEST_CASE("a config error stops crescent run before anything starts", "[launch]") {
  std::string dir = TempDir("crescent-badconfig");
  std::ofstream(dir + "/bad.yaml") << "run:\n  seed: 1\ncluster:\n  trainers: lots\n";
  Process job({kCrescent, "run", dir + "/bad.yaml"}, dir + "/out.log");
  CHECK(job.Wait(30s) == 2);
  CHECK(job.Output().find("cluster.trainers: expected an integer, got \"lots\" (" + dir +
                          "/bad.yaml:4)") != std::string::npos);
}

TEST_CASE("the same job across two simulated hosts", "[launch][netns]") {
  REQUIRE(geteuid() == 0);  // network namespaces need root, as CI has
  const std::string hosts = kSource + "/scripts/netns-hosts.sh";
  std::string dir = TempDir("crescent-netns");
  REQUIRE(system((hosts + " up 2 crn > " + dir + "/netns.log 2>&1").c_str()) == 0);
  Process job(RunCommand(dir, {"cluster.interface=eth0",
                               "cluster.mpirun_args=[--mca, plm_rsh_agent, \"" + hosts +
                                   " agent\", --mca, btl, \"tcp,self\", --mca, btl_tcp_if_include, "
                                   "10.77.0.0/24, --mca, oob_tcp_if_include, 10.77.0.0/24, -H, "
                                   "\"crn1:2,crn2:2\"]"}),
              dir + "/out.log");
  int rc = job.Wait(300s);
  std::string out = job.Output();
  system((hosts + " down crn >> " + dir + "/netns.log 2>&1").c_str());
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(out.find("listening on tcp://10.77.0.11:") != std::string::npos);
  CHECK(out.find("hello from trainer rank 1 on host ") != std::string::npos);
  CHECK(std::regex_search(
      out, std::regex("hello from rollout worker rank 2 on host [^ ]*/10\\.77\\.0\\.12")));
  CHECK(std::regex_search(
      out, std::regex("hello from reward service rank 3 on host [^ ]*/10\\.77\\.0\\.12")));
  CHECK(out.find("all 3 workers connected") != std::string::npos);
}

TEST_CASE("a frozen rollout worker is reported by role, rank and host within 30 s", "[launch]") {
  std::string dir = TempDir("crescent-sigstop");
  Process job(RunCommand(dir, {"cluster.heartbeat_interval_s=1", "cluster.heartbeat_timeout_s=5",
                               "run.iterations=100"}),
              dir + "/out.log");
  REQUIRE(job.WaitForOutput("workers connected", 120s));
  int pid = PidOf(job.Output(), "rollout worker rank 2");
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGSTOP) == 0);
  auto frozen_at = std::chrono::steady_clock::now();
  bool reported = job.WaitForOutput("unresponsive: rollout worker rank 2 on host", 30s);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - frozen_at).count();
  kill(pid, SIGCONT);
  INFO(job.Output());
  REQUIRE(reported);
  CHECK(seconds < 30);
  CHECK(std::regex_search(job.Output(),
                          std::regex("unresponsive: rollout worker rank 2 on host [^ ]+ \\(pid " +
                                     std::to_string(pid) + "\\)")));
  CHECK(job.WaitForOutput("responsive again: rollout worker rank 2", 30s));
  CHECK(job.Wait(300s) == 0);
}

TEST_CASE("garbage sent to a live master is dropped and the job goes on", "[launch]") {
  std::string dir = TempDir("crescent-garbage");
  Process job(RunCommand(dir, {"run.iterations=100"}), dir + "/out.log");
  REQUIRE(job.WaitForOutput("workers connected", 120s));
  std::string endpoint = ReadFile(dir + "/master.endpoint");
  endpoint = endpoint.substr(0, endpoint.find('\n'));
  REQUIRE(!endpoint.empty());
  {
    zmq::context_t context;
    zmq::socket_t raw(context, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::routing_id, "intruder");
    raw.set(zmq::sockopt::linger, 1000);
    raw.connect(endpoint);
    std::string good = crescent::proto::Encode(crescent::proto::Heartbeat{1});
    std::string wrong_version = good;
    wrong_version[4] = 9;
    for (const std::string& frame :
         {std::string("garbage"), good.substr(0, good.size() - 1), wrong_version}) {
      raw.send(zmq::buffer(frame), zmq::send_flags::none);
    }
  }
  INFO(job.Output());
  CHECK(job.WaitForOutput("dropped a frame from peer \"intruder\": protocol version 9", 30s));
  CHECK(job.Output().find("dropped a frame from peer \"intruder\": frame of 7 bytes") !=
        std::string::npos);
  CHECK(job.Wait(300s) == 0);
}
