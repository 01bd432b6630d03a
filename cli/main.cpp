// crescent: one program, with subcommands. `crescent help` lists them.

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench.hpp"
#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "cli/launch.hpp"
#include "common/config/config.hpp"
#include "common/util/blas_kernels.hpp"
#include "trainer/sft.hpp"

namespace crescent {
namespace {

using Args = std::vector<std::string>;

// The arguments of `crescent COMMAND [CONFIG] [--set key=value]...`.
cli::Flags ConfigArgs(const std::string& command, const Args& args) {
  const std::string usage = StrCat("usage: crescent ", command, " [CONFIG] [--set key=value]...");
  cli::Flags flags(args, {}, usage);
  if (flags.positional().size() > 1) throw std::runtime_error(usage);
  return flags;
}

int ConfigCommand(const Args& args) {
  const std::string verb = args.empty() ? "" : args[0];
  if (verb == "reference") {
    std::cout << config::ConfigReference();
    return 0;
  }
  if (verb != "check" && verb != "show") {
    std::cerr << "usage: crescent config check|show [CONFIG] [--set key=value]... | reference\n";
    return 2;
  }
  const cli::Flags flags = ConfigArgs("config " + verb, Args(args.begin() + 1, args.end()));
  const config::Config c = cli::CommandConfig(flags);
  if (verb == "check") {
    std::cout << (flags.positional().empty() ? "<embedded quickstart>" : flags.positional()[0])
              << ": ok\n";
  } else {
    std::cout << config::ToYaml(c);
  }
  return 0;
}

int RunCommand(const Args& args) {
  return cli::LaunchJob(cli::CommandConfig(ConfigArgs("run", args)));
}

int SftCommand(const Args& args) {
  trainer::RunSft(cli::CommandConfig(ConfigArgs("sft", args)));
  return 0;
}

int WorkerCommand(int argc, char** argv) { return cli::RunWorkerRank(argc, argv); }

void Usage(std::ostream& out) {
  out << "usage: crescent COMMAND [ARGS]\n"
         "  run [CONFIG] [--set key=value]...   launch the whole job through mpirun\n"
         "                                       (no CONFIG: the embedded quickstart)\n"
         "  sft [CONFIG] [--set key=value]...   SFT of model.path (or the built-in model) on\n"
         "                                       sft.data_file (or the built-in task) into\n"
         "                                       RUN_DIR/sft (RL starts from it)\n"
         "  eval [CONFIG] --data FILE [--model DIR] [--samples N] [--set key=value]...\n"
         "                                       the policy's greedy accuracy on a JSONL set\n"
         "                                       (as a run evaluates), pass@k with --samples\n"
         "  reward eval [CONFIG] --input FILE|- [--set key=value]...\n"
         "                                       the config's rewards on JSONL prompt + response\n"
         "                                       lines, one JSON result a line\n"
         "  sandbox run [--dir DIR [--writable true]] [--cpu-s S --wall-s S --memory-mb N ...]\n"
         "              -- PROGRAM [ARGS...]    one program in the code sandbox; a JSON result\n"
         "  generate --model DIR --input FILE [--output FILE] [--max-tokens N]\n"
         "           [--temperature T] [--top-k K] [--top-p P] [--samples N] [--seed S]\n"
         "           [--chat-template true|false] [--enable-thinking true|false]\n"
         "                                       responses to JSONL prompts, one JSON line each\n"
         "  worker CONFIG [--set key=value]...  what every MPI rank runs (for your own\n"
         "                                       mpirun or srun; see docs/launch.md)\n"
         "  tokenize --tokenizer PATH [--decode]  JSON strings in, id arrays out (one a line);\n"
         "                                       --decode: arrays in, strings out\n"
         "  model logits --model DIR            JSON id array in, logits per position out\n"
         "  model init --tokenizer DIR --out DIR [--arch qwen3|qwen2|llama --hidden N ...]\n"
         "                                       a random model around a tokenizer (HF directory)\n"
         "  bench [--hidden N --layers N ...]   model throughput, MFU and matmul efficiency\n"
         "  bench journal [...]                 replay journal appends and recovery vs raw I/O\n"
         "  bench partial [...]                 training tokens/s, partial rollouts vs waiting\n"
         "  bench memory [...]                  a training step's peak memory, micro-batched or "
         "not\n"
         "  bench reward [...]                  math verifications/s; command vs C plug-in round "
         "trips/s\n"
         "  bench sandbox [...]                 sandboxed runs/s; sandbox start-up vs fork+exec\n"
         "  replay stats|dump RUN_DIR           what a run's replay buffer holds (JSON; dump:\n"
         "                                       one line per trajectory, with its tokens)\n"
         "  export RUN_DIR OUT_DIR [--version N]  a kept policy version (default: the latest)\n"
         "                                       as a Hugging Face directory\n"
         "  config check|show [CONFIG] [--set key=value]...\n"
         "  config reference                    every key, its default and meaning\n";
}

}  // namespace
}  // namespace crescent

int main(int argc, char** argv) {
  using namespace crescent;
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help")) {
    Usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  // The commands that compute with tensors run with OpenBLAS's best kernels
  // for this processor (common/util/blas_kernels.hpp).
  for (const char* computes : {"worker", "sft", "eval", "generate", "bench"}) {
    if (command == computes) util::ReexecForBlasKernels(argv);
  }
  Args args(argv + 2, argv + argc);
  try {
    if (command == "worker") return WorkerCommand(argc, argv);
    if (command == "run") return RunCommand(args);
    if (command == "sft") return SftCommand(args);
    if (command == "tokenize") return cli::TokenizeCommand(args, std::cin, std::cout);
    if (command == "bench" && !args.empty() && args[0] == "journal") {
      return bench::JournalBenchCommand(Args(args.begin() + 1, args.end()), std::cout);
    }
    if (command == "bench" && !args.empty() && args[0] == "partial") {
      return bench::PartialBenchCommand(Args(args.begin() + 1, args.end()), std::cout);
    }
    if (command == "bench" && !args.empty() && args[0] == "memory") {
      return bench::MemoryBenchCommand(Args(args.begin() + 1, args.end()), std::cout);
    }
    if (command == "bench" && !args.empty() && args[0] == "reward") {
      return bench::RewardBenchCommand(Args(args.begin() + 1, args.end()), std::cout);
    }
    if (command == "bench" && !args.empty() && args[0] == "sandbox") {
      return bench::SandboxBenchCommand(Args(args.begin() + 1, args.end()), std::cout);
    }
    if (command == "bench") return bench::ModelBenchCommand(args, std::cout);
    if (command == "model" && !args.empty() && args[0] == "logits") {
      return cli::ModelLogitsCommand(Args(args.begin() + 1, args.end()), std::cin, std::cout);
    }
    if (command == "model" && !args.empty() && args[0] == "init")
      return cli::ModelInitCommand(Args(args.begin() + 1, args.end()), std::cout);
    if (command == "config") return ConfigCommand(args);
    if (command == "replay") return cli::ReplayCommand(args, std::cout);
    if (command == "export") return cli::ExportCommand(args, std::cout);
    if (command == "generate") return cli::GenerateCommand(args, std::cout);
    if (command == "eval") return cli::EvalCommand(args, std::cout);
    if (command == "reward") return cli::RewardCommand(args, std::cout);
    if (command == "sandbox") return cli::SandboxCommand(args, std::cout);
  } catch (const config::ConfigError& e) {
    std::cerr << "crescent " << command << ": config error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "crescent " << command << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "crescent: unknown command \"" << command << "\"\n";
  Usage(std::cerr);
  return 2;
}
