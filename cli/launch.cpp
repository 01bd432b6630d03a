#include "cli/launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "common/env/env.hpp"
#include "common/mpi/mpi_session.hpp"
#include "common/net/job.hpp"
#include "common/net/transport.hpp"
#include "common/run/run_dir.hpp"
#include "common/task/prompt_source.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"
#include "common/util/log.hpp"
#include "master/master.hpp"
#include "master/prompt_encoder.hpp"
#include "master/prompt_feed.hpp"
#include "reward/composed_reward.hpp"
#include "reward/reward_worker.hpp"
#include "rollout/generation.hpp"
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

// Set by the launcher's signal handler.
volatile sig_atomic_t g_launcher_signal = 0;
void OnLauncherSignal(int signal) {
  if (!g_launcher_signal) g_launcher_signal = signal;
}

// The run directory's config.yaml: written on the first run; a resumed run
// must have the same config, but for the numbers of rollout workers and
// reward services.
void CheckOrWriteRunConfig(env::Env* env, const config::Config& c) {
  const std::string path = c.run.dir + "/config.yaml";
  if (env->FileExists(path)) {
    config::Config saved = config::LoadConfigFile(path);
    std::vector<std::string> diffs =
        config::Differences(saved, c, {"cluster.rollout_workers", "cluster.reward_services"});
    if (!diffs.empty()) {
      std::string list;
      for (const auto& d : diffs) list += "\n  " + d;
      throw config::ConfigError(
          StrCat(c.run.dir, " holds a run started with a different config (", path,
                 "); only cluster.rollout_workers and cluster.reward_services may change when "
                 "resuming. Differing keys (saved -> now):",
                 list, "\nUse another run.dir for a new run."));
    }
    std::cerr << "crescent run: resuming the run in " << c.run.dir << std::endl;
  }
  env::WriteFileAtomically(env, path, config::ToYaml(c));
}

// The reward functions (an unknown name, a C plug-in that does not load, a
// command not found), the prompts file, eval.data_file and the initial policy's tokenizer
// (RUN_DIR/sft or model.path, when the directory is there), checked before
// mpirun starts: a bad JSONL line, a checkpoint without a tokenizer or with
// one bigger than the embedding, a chat prompt the policy cannot render are
// named here rather than by every rank. Every prompt is rendered and encoded as the
// master will, and rollout.kv_cache_mb must hold the longest prompt plus
// rollout.max_response_tokens (at most the model's context) of the policy's
// KV cache (config.json). The
// weights are the ranks' to load (no LibTorch work here).
void CheckInputs(const config::Config& c) {
  try {
    reward::ComposedReward check(c);  // loads C plug-ins and finds commands; starts none
  } catch (const std::exception& e) {
    throw config::ConfigError(e.what());  // names the key and its line
  }
  std::unique_ptr<task::PromptSource> source;
  if (c.task.name == task::SourceKind::kJsonl) source = task::MakeTaskSource(c);
  const std::vector<task::Prompt> eval_data = master::ReadEvalData(c);
  const std::string dir = run::InitialPolicyDir(c);
  if (!fs::is_directory(dir)) return;
  std::optional<tok::PolicyTokenizer> tokenizer;
  try {
    tokenizer = tok::LoadPolicyTokenizer(dir);
  } catch (const std::exception& e) {
    const std::string which =
        c.model.path.empty() ? "RUN_DIR/sft" : StrCat("model.path, ", c.Where("model.path"));
    throw std::runtime_error(StrCat("the initial policy (", which, ") cannot be used: ", e.what()));
  }
  master::PromptEncoder prompts(c.task, *tokenizer);
  size_t longest = 0;  // prompt, in tokens
  auto encode_all = [&](const std::vector<task::Prompt>& set, const std::string& key,
                        const std::string& file) {
    for (const task::Prompt& p : set) {
      try {
        longest = std::max(longest, prompts.Encode(p).ids.size());
      } catch (const std::exception& e) {
        throw std::runtime_error(
            StrCat(key, " (", c.Where(key), "): ", file, ": ", e.what(), " (policy ", dir, ")"));
      }
    }
  };
  if (source) {
    encode_all(source->Training(), "task.prompts_file", c.task.prompts_file);
    encode_all(source->Heldout(), "task.prompts_file", c.task.prompts_file);
  }
  encode_all(eval_data, "eval.data_file", c.eval.data_file);
  if (c.rollout.kv_cache_mb > 0) {
    const rollout::KvCacheSize cache = rollout::PolicyKvCache(dir);
    const int64_t per_token = cache.bytes_per_token;
    const int64_t holds = c.rollout.kv_cache_mb * (int64_t{1} << 20) / per_token;
    // The generator's cache never exceeds the model's context.
    const int64_t sequence = std::min(
        cache.max_positions, static_cast<int64_t>(longest) + c.rollout.max_response_tokens);
    if (holds < sequence) {
      throw config::ConfigError(StrCat(
          "rollout.kv_cache_mb (", c.Where("rollout.kv_cache_mb"), "): ", c.rollout.kv_cache_mb,
          " MiB holds ", holds, " tokens of the KV cache of ", dir, " (", per_token,
          " bytes a token), fewer than its longest sequence: ", sequence,
          " tokens (the longest prompt, ", longest,
          " tokens, plus rollout.max_response_tokens, at most the model's ", cache.max_positions,
          " positions)"));
    }
  }
}

}  // namespace

int LaunchJob(const config::Config& given) {
  config::Config c = given;
  if (!c.cluster.hostfile.empty() && !std::ifstream(c.cluster.hostfile)) {
    throw config::ConfigError(StrCat("cluster.hostfile: cannot read ", c.cluster.hostfile, ": ",
                                     std::strerror(errno), " (", c.Where("cluster.hostfile"), ")"));
  }
  c.run.dir = fs::absolute(c.run.dir).lexically_normal().string();
  CheckInputs(c);
  fs::create_directories(c.run.dir);
  env::Env* const env = env::Env::Posix();
  std::unique_ptr<env::FileLock> lock;
  try {
    lock = env->LockFile(c.run.dir + "/LOCK");
  } catch (const std::exception& e) {
    throw std::runtime_error(
        StrCat("run directory ", c.run.dir, " is in use by another crescent job: ", e.what()));
  }
  CheckOrWriteRunConfig(env, c);
  if (!run::LatestCheckpoint(env, c.run.dir))
    std::cerr << "crescent run: the policy starts from " << run::InitialPolicyDir(c) << std::endl;
  const std::string config_path = c.run.dir + "/config.yaml";
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

  struct sigaction action = {};
  action.sa_handler = OnLauncherSignal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGTERM, SIGINT}) sigaction(s, &action, nullptr);
  const pid_t launcher = getpid();
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error(StrCat("fork: ", std::strerror(errno)));
  if (child == 0) {
    // Its own process group, so that a terminal's Ctrl-C or a signal to our
    // group reaches mpirun only through us (mpirun kills the job at once on
    // SIGTERM or SIGINT); stdin from /dev/null, as a background group must.
    setpgid(0, 0);
    // If we die (even by SIGKILL), mpirun is told to end the job.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != launcher) _exit(1);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    execvp(raw[0], raw.data());
    std::fprintf(stderr, "crescent run: cannot start %s (cluster.mpirun, %s): %s\n", raw[0],
                 c.Where("cluster.mpirun").c_str(), std::strerror(errno));
    _exit(127);
  }
  // On SIGTERM/SIGINT: SIGUSR1 to mpirun, which forwards it to every rank;
  // the master commits and ends the job within run.shutdown_grace_s. Past
  // that (and a margin), mpirun is told to kill the job.
  uint64_t deadline = 0;  // env->NowMicros()
  int stage = 0;          // 1: SIGUSR1 sent; 2: SIGTERM sent; 3: SIGKILL sent
  int status = 0;
  while (true) {
    const pid_t r = waitpid(child, &status, WNOHANG);
    if (r == child) break;
    if (r < 0 && errno != EINTR)
      throw std::runtime_error(StrCat("waitpid: ", std::strerror(errno)));
    if (g_launcher_signal && stage == 0) {
      std::cerr << "crescent run: received " << strsignal(g_launcher_signal)
                << ": committing and stopping (up to run.shutdown_grace_s = "
                << c.run.shutdown_grace_s << " s)" << std::endl;
      kill(child, SIGUSR1);
      deadline =
          env->NowMicros() + static_cast<uint64_t>(c.run.shutdown_grace_s * 1e6) + 10'000'000;
      stage = 1;
    } else if (stage >= 1 && stage < 3 && env->NowMicros() > deadline) {
      std::cerr << "crescent run: the job did not stop in time: "
                << (stage == 1 ? "terminating" : "killing") << " it" << std::endl;
      kill(child, stage == 1 ? SIGTERM : SIGKILL);
      deadline = env->NowMicros() + 10'000'000;
      ++stage;
    }
    env->SleepForMicroseconds(50'000);
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (g_launcher_signal && code == 0) {
    std::cerr << "crescent run: stopped on " << strsignal(g_launcher_signal)
              << "; run the same command to resume" << std::endl;
    return 128 + g_launcher_signal;
  }
  return code;
}

int RunWorkerRank(int argc, char** argv) {
  net::CatchStopSignals();  // before MPI starts threads
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
    SetLogLevel(job.config.run.log_level);
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
