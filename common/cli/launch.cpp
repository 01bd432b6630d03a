#include "common/cli/launch.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "common/mpi/mpi_session.hpp"
#include "common/net/job.hpp"
#include "common/net/transport.hpp"
#include "common/util/log.hpp"
#include "master/master.hpp"
#include "reward/reward_worker.hpp"
#include "rollout/rollout_worker.hpp"
#include "trainer/trainer_worker.hpp"

namespace crescent::cli {
namespace fs = std::filesystem;

namespace {

std::string SelfExecutable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the crescent executable (/proc/self/exe)");
  return self.string();
}

LogLevel ParseLevel(const std::string& name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

}  // namespace

int LaunchJob(const config::Config& given) {
  config::Config c = given;
  c.run.dir = fs::absolute(c.run.dir).lexically_normal().string();
  fs::create_directories(c.run.dir);
  const std::string config_path = c.run.dir + "/config.yaml";
  {
    std::ofstream out(config_path);
    out << config::ToYaml(c);
    if (!out) throw std::runtime_error("cannot write " + config_path);
  }
  const size_t ranks = config::RankRoles(c.cluster).size();
  std::vector<std::string> argv = {c.cluster.mpirun};
  if (geteuid() == 0) argv.push_back("--allow-run-as-root");
  argv.insert(argv.end(), {"--oversubscribe", "--bind-to", "none"});
  if (!c.cluster.hostfile.empty()) argv.insert(argv.end(), {"--hostfile", c.cluster.hostfile});
  argv.insert(argv.end(), c.cluster.mpirun_args.begin(), c.cluster.mpirun_args.end());
  argv.insert(argv.end(), {"-np", std::to_string(ranks), SelfExecutable(), "worker", config_path});

  std::string shown;
  for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + a;
  std::cerr << "crescent run: " << shown << std::endl;
  // Open MPI's PMIx shared-memory store logs a spurious error in containers.
  setenv("PMIX_MCA_gds", "hash", /*overwrite=*/0);
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  execvp(raw[0], raw.data());
  throw std::runtime_error(StrCat("cannot start ", c.cluster.mpirun, " (cluster.mpirun, ",
                                  c.Where("cluster.mpirun"), "): ", std::strerror(errno)));
}

int RunWorkerRank(int argc, char** argv) {
  mpi::MpiSession session(&argc, &argv);
  net::JobContext job;
  job.rank = session.rank();
  const std::string host = net::HostName();
  try {
    if (argc < 3) throw config::ConfigError("usage: crescent worker CONFIG [--set key=value]...");
    std::vector<std::string> overrides;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (std::string(argv[i]) != "--set")
        throw config::ConfigError(StrCat("unexpected argument ", argv[i]));
      overrides.push_back(argv[i + 1]);
    }
    job.config = config::LoadConfigFile(argv[2], overrides);
    job.roles = config::RankRoles(job.config.cluster);
    if (static_cast<int>(job.roles.size()) != session.size()) {
      throw config::ConfigError(StrCat(argv[2], ": the config asks for ", job.roles.size(),
                                       " ranks (1 master, ", job.config.cluster.trainers,
                                       " trainers, ", job.config.cluster.rollout_workers,
                                       " rollout workers, ", job.config.cluster.reward_services,
                                       " reward services) but MPI started ", session.size()));
    }
    SetLogLevel(ParseLevel(job.config.run.log_level));
    SetLogIdentity(StrCat(config::RoleName(job.role()), "[", job.rank, "]@", host));
    // "vm/10.77.0.12": simulated hosts share a host name, so add the address.
    std::string where = host;
    try {
      where += "/" + net::InterfaceAddress(job.config.cluster.interface);
    } catch (const std::exception&) {
    }
    job.hosts = mpi::AllGatherStrings(where);

    std::unique_ptr<net::MasterSocket> socket;
    int master_rank = 0;
    while (job.roles[master_rank] != config::Role::kMaster) ++master_rank;
    if (job.role() == config::Role::kMaster) {
      socket = std::make_unique<net::MasterSocket>(
          net::InterfaceAddress(job.config.cluster.interface),
          static_cast<int>(job.config.cluster.master_port), job.link_options());
      LogInfo("listening on ", socket->endpoint());
    }
    job.master_endpoint = mpi::BroadcastString(socket ? socket->endpoint() : "", master_rank);

    // Trainers and rollout workers share the weight broadcast (the first
    // trainer is its root); trainers alone all-reduce gradients.
    const bool trainer = job.role() == config::Role::kTrainer;
    const bool rollout = job.role() == config::Role::kRollout;
    const int world = static_cast<int>(job.roles.size());
    MPI_Comm weights = mpi::SplitComm(trainer || rollout, job.rank + (trainer ? 0 : world));
    MPI_Comm trainers = mpi::SplitComm(trainer, job.rank);

    int code = 1;
    switch (job.role()) {
      case config::Role::kMaster:
        code = master::RunMaster(job, *socket);
        break;
      case config::Role::kTrainer:
        code = trainer::RunTrainerWorker(job, weights, trainers);
        break;
      case config::Role::kRollout:
        code = rollout::RunRolloutWorker(job, weights);
        break;
      case config::Role::kReward:
        code = reward::RunRewardWorker(job);
        break;
    }
    // A rank that cannot go on takes the job down rather than leave the
    // others waiting (MPI_Finalize would wait for them).
    if (code != 0) MPI_Abort(MPI_COMM_WORLD, code);
    return code;
  } catch (const std::exception& e) {
    LogError("rank ", job.rank, " on host ", host, ": ", e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

}  // namespace crescent::cli
