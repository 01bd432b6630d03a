// `crescent sandbox run`: one program in the code sandbox (reward/sandbox.hpp),
// for reward plug-ins in other languages (reward/examples/format_compile_test.py)
// and for trying the sandbox by hand.
#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/flags.hpp"
#include "common/util/log.hpp"
#include "reward/sandbox.hpp"

namespace crescent::cli {
namespace {

constexpr const char* kUsage =
    "usage: crescent sandbox run [--dir DIR [--writable true]] [--cpu-s S] [--wall-s S] "
    "[--memory-mb N] [--file-mb N] [--tmp-mb N] [--output-kb N] [--processes N] -- PROGRAM "
    "[ARGS...]";

const char* StatusName(reward::SandboxStatus s) {
  switch (s) {
    case reward::SandboxStatus::kExited:
      return "exited";
    case reward::SandboxStatus::kSignaled:
      return "signaled";
    case reward::SandboxStatus::kTimeLimit:
      return "time_limit";
    case reward::SandboxStatus::kMemoryLimit:
      return "memory_limit";
    case reward::SandboxStatus::kOutputLimit:
      return "output_limit";
    case reward::SandboxStatus::kError:
      return "error";
  }
  return "?";
}

// The regular files directly in `dir` (links and subdirectories are skipped).
std::map<std::string, std::string> ReadFiles(const std::string& dir) {
  std::map<std::string, std::string> files;
  DIR* d = opendir(dir.c_str());
  if (!d) throw std::runtime_error(StrCat("--dir: cannot read ", dir));
  while (const dirent* e = readdir(d)) {
    const std::string path = dir + "/" + e->d_name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::ifstream in(path, std::ios::binary);
    files[e->d_name] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  closedir(d);
  return files;
}

}  // namespace

int SandboxCommand(const std::vector<std::string>& args, std::ostream& out) {
  size_t dashes = 0;
  while (dashes < args.size() && args[dashes] != "--") ++dashes;
  if (args.empty() || args[0] != "run" || dashes + 1 >= args.size()) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const Flags flags(std::vector<std::string>(args.begin() + 1, args.begin() + dashes),
                    {"dir", "writable", "cpu-s", "wall-s", "memory-mb", "file-mb", "tmp-mb",
                     "output-kb", "processes"},
                    kUsage);
  if (!flags.positional().empty()) throw std::runtime_error(kUsage);
  const std::vector<std::string> argv(args.begin() + dashes + 1, args.end());
  reward::SandboxLimits limits;
  limits.cpu_s = flags.Number("cpu-s", limits.cpu_s);
  limits.wall_s = flags.Number("wall-s", limits.wall_s);
  limits.memory_mb = flags.Int("memory-mb", limits.memory_mb);
  limits.file_mb = flags.Int("file-mb", limits.file_mb);
  limits.tmp_mb = flags.Int("tmp-mb", limits.tmp_mb);
  limits.output_kb = flags.Int("output-kb", limits.output_kb);
  limits.processes = flags.Int("processes", limits.processes);
  const bool writable = flags.Bool("writable", false);

  const std::unique_ptr<reward::Sandbox> sandbox = reward::Sandbox::Make();
  const std::unique_ptr<reward::SandboxDir> box = sandbox->NewDir();
  const std::string dir = flags.String("dir");
  if (!dir.empty()) {
    for (const auto& [name, content] : ReadFiles(dir)) {
      struct stat st;
      stat((dir + "/" + name).c_str(), &st);
      box->Write(name, content, (st.st_mode & S_IXUSR) != 0);
    }
  }
  const std::string input(std::istreambuf_iterator<char>(std::cin), {});
  const reward::SandboxResult r = sandbox->Run(*box, argv, input, limits, writable);
  if (writable && !dir.empty()) {
    // What the run wrote (a compiled program) goes back, executable as it was.
    for (const auto& [name, content] : ReadFiles(box->path())) {
      const std::string path = dir + "/" + name;
      std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
      struct stat st;
      if (stat((box->path() + "/" + name).c_str(), &st) == 0)
        chmod(path.c_str(), st.st_mode & 0755);
    }
  }
  const nlohmann::json j = {{"status", StatusName(r.status)},
                            {"exit_code", r.exit_code},
                            {"signal", r.signal},
                            {"stdout", r.out},
                            {"stderr", r.err},
                            {"wall_s", r.wall_s},
                            {"passed", r.Passed()},
                            {"describe", r.Describe()}};
  out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return r.status == reward::SandboxStatus::kError ? 1 : 0;
}

}  // namespace crescent::cli
