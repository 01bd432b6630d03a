#include "common/config/config.hpp"

#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <map>

using crescent::config::Config;
using crescent::config::ConfigError;
using crescent::config::ParseConfig;

namespace {
std::string ErrorOf(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    ParseConfig(yaml, "configs/x.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("defaults fill every key of an empty file", "[config]") {
  Config c = ParseConfig("", "empty.yaml");
  CHECK(c.cluster.rollout_workers == 1);
  using R = crescent::config::Role;
  CHECK(c.cluster.rank_order == std::vector<R>{R::kMaster, R::kTrainer, R::kRollout, R::kReward});
  CHECK(c.Where("cluster.trainers") == "default");
}

TEST_CASE("values and their lines are recorded", "[config]") {
  Config c = ParseConfig("run:\n  seed: 7\ncluster:\n  rollout_workers: 3\n", "a.yaml");
  CHECK(c.run.seed == 7);
  CHECK(c.cluster.rollout_workers == 3);
  CHECK(c.Where("cluster.rollout_workers") == "a.yaml:4");
}

TEST_CASE("a wrongly typed value names key, file and line", "[config]") {
  CHECK(ErrorOf("run:\n  seed: 1\ncluster:\n  heartbeat_interval_s: fast\n") ==
        "cluster.heartbeat_interval_s: expected a number, got \"fast\" (configs/x.yaml:4)");
  CHECK(ErrorOf("run:\n  seed: 1.5\n") ==
        "run.seed: expected an integer, got \"1.5\" (configs/x.yaml:2)");
  CHECK(ErrorOf("cluster:\n  rank_order: master\n") ==
        "cluster.rank_order: expected a list of strings, got \"master\" (configs/x.yaml:2)");
  CHECK(ErrorOf("cluster: 3\n") == "cluster: expected a map of keys, got \"3\" (configs/x.yaml:1)");
}

TEST_CASE("a value out of range names key, file and line", "[config]") {
  CHECK(ErrorOf("cluster:\n  heartbeat_interval_s: -1\n") ==
        "cluster.heartbeat_interval_s: expected a positive number, got \"-1\" (configs/x.yaml:2)");
  CHECK(ErrorOf("\ncluster:\n  rollout_workers: 0\n") ==
        "cluster.rollout_workers: expected an integer >= 1, got \"0\" (configs/x.yaml:3)");
  CHECK(ErrorOf("cluster:\n  master_port: 70000\n") ==
        "cluster.master_port: expected a port number in 0..65535, got \"70000\" "
        "(configs/x.yaml:2)");
  CHECK(ErrorOf("run:\n  log_level: loud\n") ==
        "run.log_level: expected one of debug, info, warn, error, got \"loud\" (configs/x.yaml:2)");
  CHECK(ErrorOf("run:\n  dir: \"\"\n") ==
        "run.dir: expected a non-empty string, got \"\" (configs/x.yaml:2)");
}

TEST_CASE("unknown keys are errors, with a suggestion when one is close", "[config]") {
  CHECK(ErrorOf("cluster:\n  rollout_worker: 2\n") ==
        "cluster.rollout_worker: unknown key; did you mean cluster.rollout_workers? "
        "(configs/x.yaml:2)");
  CHECK(ErrorOf("run:\n  seed: 1\nbanana: 1\n") == "banana: unknown key (configs/x.yaml:3)");
}

TEST_CASE("cross-key rules name the key at fault", "[config]") {
  CHECK(ErrorOf("cluster:\n  rank_order: [master, trainer, boss, reward]\n") ==
        "cluster.rank_order: expected one of master, trainer, rollout, reward in each item, got "
        "[master, trainer, boss, reward] (configs/x.yaml:2)");
  CHECK(ErrorOf("cluster:\n  rank_order: [master, trainer, rollout]\n") ==
        "cluster.rank_order: expected each of master, trainer, rollout, reward exactly once "
        "(configs/x.yaml:2)");
  CHECK(ErrorOf("cluster:\n  heartbeat_interval_s: 5\n  heartbeat_timeout_s: 6\n") ==
        "cluster.heartbeat_timeout_s: expected more than twice cluster.heartbeat_interval_s "
        "(configs/x.yaml:3)");
  CHECK(ErrorOf("rollout:\n  max_staleness: 0\ntrainer:\n  overlap: true\n") ==
        "rollout.max_staleness: expected >= 1 with trainer.overlap (what is trained was "
        "generated one policy version earlier) (configs/x.yaml:2)");
}

TEST_CASE("broken YAML names the file and line", "[config]") {
  CHECK(ErrorOf("run:\n  seed: [1\n").find("configs/x.yaml:") == 0);
}

TEST_CASE("overrides (--set) reach any key and are named in errors", "[config]") {
  Config c = ParseConfig("cluster:\n  trainers: 2\n", "a.yaml",
                         {"cluster.trainers=3", "run.dir=/tmp/r", "cluster.mpirun_args=[-v, -x]"});
  CHECK(c.cluster.trainers == 3);
  CHECK(c.run.dir == "/tmp/r");
  CHECK(c.cluster.mpirun_args == std::vector<std::string>{"-v", "-x"});
  CHECK(c.Where("cluster.trainers") == "--set cluster.trainers");
  CHECK(ErrorOf("", {"cluster.trainers=many"}) ==
        "cluster.trainers: expected an integer, got \"many\" (--set cluster.trainers)");
  CHECK(ErrorOf("", {"cluster.nope=1"}) == "cluster.nope: unknown key (--set cluster.nope)");
  CHECK(ErrorOf("", {"novalue"}) == "--set novalue: expected key.path=value");
}

TEST_CASE("show prints a config that parses back to the same values", "[config]") {
  Config c = ParseConfig("cluster:\n  rollout_workers: 4\n  interface: eth0\n", "a.yaml");
  Config again = ParseConfig(crescent::config::ToYaml(c), "shown.yaml");
  CHECK(crescent::config::ToYaml(again) == crescent::config::ToYaml(c));
  CHECK(again.cluster.rollout_workers == 4);
  CHECK(again.cluster.interface == "eth0");
}

TEST_CASE("enumerated keys parse into enums, and modules' options fill from their keys",
          "[config]") {
  namespace cfg = crescent::config;
  namespace task = crescent::task;
  namespace replay = crescent::replay;
  Config c = ParseConfig(
      "run:\n  log_level: warn\ntask:\n  name: jsonl\n  prompts_file: p.jsonl\n  sampler: "
      "curriculum\n  curriculum_warmup: 7\n  seed: 5\n  max_level: 4\nrollout:\n  stale_policy: "
      "restart\ntrainer:\n  algorithm: grpo\n  loss_normalisation: sequence\n  lr_schedule: "
      "cosine\nsft:\n  lr_schedule: constant\nreplay:\n  fsync: interval\n  "
      "fsync_interval_ms: 250\ncluster:\n  heartbeat_interval_s: 2\n  heartbeat_timeout_s: 9\n  "
      "max_message_mb: 3\n",
      "a.yaml");
  CHECK(c.run.log_level == crescent::LogLevel::kWarn);
  CHECK(c.task.name == task::SourceKind::kJsonl);
  CHECK(c.task.sampler.kind == task::SamplerKind::kCurriculum);
  CHECK(c.task.sampler.curriculum_warmup == 7);
  CHECK(c.task.arithmetic.seed == 5);
  CHECK(c.task.arithmetic.max_level == 4);
  CHECK(c.rollout.stale_policy == cfg::StalePolicy::kRestart);
  CHECK(c.trainer.algorithm == cfg::Algorithm::kGrpo);
  CHECK(c.trainer.loss_normalisation == cfg::LossNormalisation::kSequence);
  CHECK(c.trainer.lr_schedule == cfg::LrScheduleKind::kCosine);
  CHECK(c.sft.lr_schedule == cfg::LrScheduleKind::kConstant);
  CHECK(c.replay.journal.fsync_policy == replay::FsyncPolicy::kInterval);
  CHECK(c.replay.journal.fsync_interval == std::chrono::milliseconds(250));
  CHECK(c.cluster.link.heartbeat_interval_s == 2);
  CHECK(c.cluster.link.heartbeat_timeout_s == 9);
  CHECK(c.cluster.link.max_payload_bytes == size_t{3} << 20);
  CHECK(cfg::ChoiceName(c.rollout.stale_policy) == std::string("restart"));
  CHECK(cfg::ChoiceName(replay::FsyncPolicy::kEveryCommit) == std::string("commit"));
  // The modules' own structs carry the documented defaults: the sections
  // embed them, so a default is stated once.
  const Config defaults;
  CHECK(task::SamplerOptions{}.curriculum_warmup == 200);
  CHECK(task::ArithmeticSourceOptions{}.max_level == 3);
  CHECK(defaults.replay.journal.fsync_policy == replay::FsyncPolicy::kEveryCommit);
  CHECK(ErrorOf("task:\n  seed: -1\n") ==
        "task.seed: expected an integer >= 0, got \"-1\" (configs/x.yaml:2)");
  CHECK(ErrorOf("replay:\n  fsync: sometimes\n") ==
        "replay.fsync: expected one of commit, interval, never, got \"sometimes\" "
        "(configs/x.yaml:2)");
}

TEST_CASE("the embedded default config is valid", "[config]") {
  Config c = ParseConfig(crescent::config::EmbeddedDefaultConfig(), "<embedded>");
  CHECK(c.run.dir == "runs/quickstart");
}

TEST_CASE("ranks get roles in the configured order", "[config]") {
  Config c = ParseConfig("cluster:\n  trainers: 2\n  rollout_workers: 2\n", "a.yaml");
  using R = crescent::config::Role;
  CHECK(crescent::config::RankRoles(c.cluster) ==
        std::vector<R>{R::kMaster, R::kTrainer, R::kTrainer, R::kRollout, R::kRollout, R::kReward});
  c = ParseConfig("cluster:\n  rank_order: [reward, master, rollout, trainer]\n", "a.yaml");
  CHECK(crescent::config::RankRoles(c.cluster) ==
        std::vector<R>{R::kReward, R::kMaster, R::kRollout, R::kTrainer});
}

TEST_CASE("docs/config.md lists every key as the program describes it", "[config]") {
  std::ifstream in(std::string(CRESCENT_SOURCE_DIR) + "/docs/config.md");
  REQUIRE(in);
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string reference = crescent::config::ConfigReference();
  INFO("regenerate with: crescent config reference > part of docs/config.md");
  CHECK(doc.find(reference) != std::string::npos);
}

TEST_CASE("docs/config.md names, for every key, a test that shows its effect", "[config]") {
  const std::string root = CRESCENT_SOURCE_DIR;
  std::ifstream in(root + "/docs/config.md");
  REQUIRE(in);
  // Rows of the section "## Which test shows each key's effect":
  // | `key` | tests/dir/file.cpp: "TEST_CASE name" |
  std::map<std::string, std::pair<std::string, std::string>> rows;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Which test shows each key's effect";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const size_t key_end = line.find('`', 3);
    const size_t file_begin = line.find("| ", key_end) + 2;
    const size_t colon = line.find(": \"", file_begin);
    const size_t name_end = line.rfind("\" |");
    INFO(line);
    REQUIRE(key_end != std::string::npos);
    REQUIRE(colon != std::string::npos);
    REQUIRE(name_end > colon);
    rows[line.substr(3, key_end - 3)] = {line.substr(file_begin, colon - file_begin),
                                         line.substr(colon + 3, name_end - colon - 3)};
  }
  const std::string reference = crescent::config::ConfigReference();
  size_t keys = 0;
  for (size_t at = reference.find("\n| `"); at != std::string::npos;
       at = reference.find("\n| `", at + 1)) {
    const std::string key = reference.substr(at + 4, reference.find('`', at + 4) - at - 4);
    ++keys;
    INFO("key " << key);
    REQUIRE(rows.count(key) == 1);
    const auto& [file, name] = rows.at(key);
    std::ifstream test(root + "/" + file);
    INFO(file);
    REQUIRE(test);
    const std::string text((std::istreambuf_iterator<char>(test)),
                           std::istreambuf_iterator<char>());
    // clang-format may put the name on the next line, or split it: match
    // its first 40 characters, opening a TEST_CASE.
    const size_t found = text.find("\"" + name.substr(0, 40));
    REQUIRE(found != std::string::npos);
    size_t before = found;
    while (before > 0 && std::isspace(static_cast<unsigned char>(text[before - 1]))) --before;
    CHECK(text.compare(before - std::min<size_t>(before, 10), 10, "TEST_CASE(") == 0);
  }
  CHECK(keys > 50);
  CHECK(rows.size() == keys);  // no rows for keys that do not exist
}
