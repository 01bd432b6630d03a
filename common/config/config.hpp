// The run configuration: one YAML file parsed once into typed, validated
// structs. Every key has a default and a one-line meaning (docs/config.md is
// generated from the same table); unknown keys are errors; errors name the key,
// the file and the line.
//
// Options: a module's options struct is defined once, with its defaults, in a
// dependency-free header here (net_options.hpp, replay_options.hpp,
// task_options.hpp), and embedded in its section; the module takes that
// struct. Enumerated keys are parsed once into enum classes (ChoicesOf names
// their YAML values); consumers switch on them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config/net_options.hpp"
#include "common/config/replay_options.hpp"
#include "common/config/task_options.hpp"
#include "common/util/log.hpp"

namespace crescent::config {

// Thrown for any configuration problem; what() names key, file and line.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- enumerated choices --------------------------------------------------------

// The roles of a job's ranks (cluster.rank_order; RoleName in logs).
enum class Role { kMaster, kTrainer, kRollout, kReward };

// rollout.stale_policy
enum class StalePolicy { kExclude, kRestart };
// trainer.algorithm
enum class Algorithm { kKimi, kGrpo, kReinforce };
// trainer.loss_normalisation
enum class LossNormalisation { kToken, kSequence };
// trainer.lr_schedule, sft.lr_schedule
enum class LrScheduleKind { kConstant, kCosine };
// Where the math reward finds a response's final answer without a \boxed{}.
enum class MathAnswer { kBoxed, kAnswerLine, kLastNumber, kWhole };

template <class E>
struct Choice {
  const char* name;  // as written in YAML
  E value;
};
// The YAML names of each enumerated key's values, in the documented order.
const std::vector<Choice<Role>>& ChoicesOf(const Role*);
const std::vector<Choice<LogLevel>>& ChoicesOf(const LogLevel*);
const std::vector<Choice<task::SourceKind>>& ChoicesOf(const task::SourceKind*);
const std::vector<Choice<task::SamplerKind>>& ChoicesOf(const task::SamplerKind*);
const std::vector<Choice<StalePolicy>>& ChoicesOf(const StalePolicy*);
const std::vector<Choice<Algorithm>>& ChoicesOf(const Algorithm*);
const std::vector<Choice<LossNormalisation>>& ChoicesOf(const LossNormalisation*);
const std::vector<Choice<LrScheduleKind>>& ChoicesOf(const LrScheduleKind*);
const std::vector<Choice<MathAnswer>>& ChoicesOf(const MathAnswer*);
const std::vector<Choice<replay::FsyncPolicy>>& ChoicesOf(const replay::FsyncPolicy*);

// The YAML name of a choice: ChoiceName(StalePolicy::kRestart) is "restart".
template <class E>
const char* ChoiceName(E value) {
  for (const auto& c : ChoicesOf(static_cast<const E*>(nullptr))) {
    if (c.value == value) return c.name;
  }
  return "?";
}

// ---- sections -------------------------------------------------------------------

struct RunSection {
  std::string dir = "runs/quickstart";
  int64_t seed = 1;
  int64_t iterations = 300;
  LogLevel log_level = LogLevel::kInfo;
  double shutdown_grace_s = 30.0;
  template <class V>
  void Visit(V& v);
};

struct ClusterSection {
  int64_t trainers = 1;
  int64_t rollout_workers = 1;
  int64_t reward_services = 1;
  std::vector<Role> rank_order = {Role::kMaster, Role::kTrainer, Role::kRollout, Role::kReward};
  std::string interface = "auto";
  int64_t master_port = 0;
  net::LinkOptions link;  // heartbeat_interval_s, heartbeat_timeout_s, max_message_mb
  double startup_timeout_s = 120.0;
  double worker_lost_after_s = 300.0;
  double request_timeout_s = 3600.0;
  std::string mpirun = "mpirun";
  std::vector<std::string> mpirun_args = {};
  std::string hostfile = "";
  template <class V>
  void Visit(V& v);
};

struct ThreadsSection {
  int64_t trainer = 1;
  int64_t rollout = 1;
  template <class V>
  void Visit(V& v);
};

// The policy: a Hugging Face checkpoint, or the built-in tiny Llama.
struct ModelSection {
  std::string path = "";  // empty: the built-in model (trained by `crescent sft`)
  int64_t hidden_size = 128;
  int64_t intermediate_size = 352;
  int64_t layers = 3;
  int64_t heads = 4;
  int64_t kv_heads = 2;
  int64_t max_sequence = 64;
  template <class V>
  void Visit(V& v);
};

struct TaskSection {
  task::SourceKind name = task::SourceKind::kArithmetic;
  std::string prompts_file = "";  // for name: jsonl
  bool chat_template = true;      // render prompts with the policy's chat template, if it has one
  bool enable_thinking = true;    // Qwen3's thinking switch
  // task.seed, task.min_level, task.max_level, task.heldout_size
  task::ArithmeticSourceOptions arithmetic;
  task::SamplerOptions sampler;  // task.sampler (its kind), task.curriculum_warmup
  template <class V>
  void Visit(V& v);
};

struct SftSection {
  int64_t steps = 1500;
  int64_t batch_size = 64;
  std::string data_file = "";      // empty: the built-in task's worked examples
  double heldout_fraction = 0.05;  // of data_file's documents
  int64_t token_budget = 0;        // data_file: tokens per step; 0: batch_size documents
  int64_t examples = 0;            // 0: the whole training pool
  int64_t max_level = 0;           // 0: task.max_level
  double teacher_error = 0;
  double lr = 3e-3;
  LrScheduleKind lr_schedule = LrScheduleKind::kCosine;
  int64_t warmup_steps = 100;
  double min_lr_ratio = 0.1;
  double grad_clip = 1.0;
  int64_t seed = 1;
  template <class V>
  void Visit(V& v);
};

struct RolloutSection {
  int64_t samples_per_prompt = 8;  // k
  int64_t max_response_tokens = 8;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  int64_t batch_slots = 64;
  int64_t kv_cache_mb = 0;  // 0: no bound but batch_slots
  int64_t budget = 0;       // 0: no partial rollouts
  std::vector<std::string> stop_strings = {};
  int64_t repeat_ngram = 0;
  int64_t repeat_count = 4;
  int64_t max_staleness = 4;
  StalePolicy stale_policy = StalePolicy::kExclude;
  template <class V>
  void Visit(V& v);
};

struct TrainerSection {
  Algorithm algorithm = Algorithm::kKimi;
  double tau = 0.5;
  double lr = 3e-4;
  LrScheduleKind lr_schedule = LrScheduleKind::kConstant;
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;
  int64_t groups_per_step = 16;  // B: complete prompt groups per training step
  int64_t steps_per_iteration = 1;
  bool reset_optimizer = true;
  double grad_clip = 1.0;
  double clip_epsilon = 0.2;                                         // grpo
  double kl_coef = 0.0;                                              // grpo
  LossNormalisation loss_normalisation = LossNormalisation::kToken;  // grpo
  bool mask_truncated = false;
  bool drop_equal_reward_groups = false;
  int64_t checkpoint_every = 10;
  bool activation_checkpointing = false;
  int64_t micro_batch_tokens = 0;  // 0: one backward per step
  bool overlap = false;            // train on earlier iterations' groups while this one generates
  template <class V>
  void Visit(V& v);
};

// One entry of reward.functions or of a reward.domains list: a built-in or a
// C plug-in by `fn` (a name, or the path of a shared library), or an
// any-language plug-in by `cmd` (its command line); exactly one of the two.
// In YAML a bare string is `fn` with the defaults.
struct RewardFunctionSpec {
  std::string fn;
  std::vector<std::string> cmd = {};
  double weight = 1.0;
  std::optional<double> fallback = {};  // its reward when it fails; unset: reward.failure_reward
  std::string pattern = {};             // fn: regex only
  // How errors, metrics and details name it: `fn`, or `cmd` joined by spaces.
  std::string Name() const;
};

struct RewardSection {
  std::vector<RewardFunctionSpec> functions = {{"math"}};
  // A prompt's metadata "domain" -> the functions that score it instead of
  // `functions`.
  std::map<std::string, std::vector<RewardFunctionSpec>> domains = {};
  double timeout_s = 5.0;
  double correct_reward = 1.0;
  double incorrect_reward = 0.0;
  double format_reward = 1.0;
  MathAnswer math_answer = MathAnswer::kLastNumber;
  double math_tolerance = 1e-6;
  bool partial_credit = false;  // code
  int64_t sandboxes = 2;        // code: sandboxed runs at once per reward service
  double code_cpu_s = 2.0;
  double code_wall_s = 10.0;
  int64_t code_memory_mb = 512;
  bool code_filter_tests = false;
  double failure_reward = 0.0;
  double repeat_penalty = 0.0;
  double length_penalty = 0.0;
  int64_t length_penalty_warmup = 0;
  template <class V>
  void Visit(V& v);
};

struct ReplaySection {
  replay::JournalOptions journal;  // fsync, fsync_interval_ms
  int64_t snapshot_every = 200;
  template <class V>
  void Visit(V& v);
};

struct EvalSection {
  int64_t every = 50;     // iterations; 0: only before and after
  std::string data_file;  // JSONL prompts evaluated beside the held-out set; empty: none
  template <class V>
  void Visit(V& v);
};

struct Config {
  RunSection run;
  ClusterSection cluster;
  ThreadsSection threads;
  ModelSection model;
  TaskSection task;
  SftSection sft;
  RolloutSection rollout;
  TrainerSection trainer;
  RewardSection reward;
  ReplaySection replay;
  EvalSection eval;
  // Where each key's value came from ("configs/x.yaml:14", "--set", "default"),
  // so that later errors can point at the line the user wrote.
  std::map<std::string, std::string> provenance;

  template <class V>
  void Visit(V& v);

  // "trainer.lr" -> "configs/x.yaml:14"; "default" when the key was not set.
  std::string Where(const std::string& key) const;
};

// Role names as used in cluster.rank_order and in logs: ChoiceName(role).
const char* RoleName(Role role);
// The role of each MPI rank, in rank order, as the cluster section lays it out.
std::vector<Role> RankRoles(const ClusterSection& cluster);

// Parses YAML text. `source` names it in errors (a path, or "<embedded>").
// `overrides` are "key.path=value" strings (from --set), applied before
// validation; a value is parsed as YAML ("[a, b]" is a list).
Config ParseConfig(const std::string& yaml_text, const std::string& source,
                   const std::vector<std::string>& overrides = {});
Config LoadConfigFile(const std::string& path, const std::vector<std::string>& overrides = {});

// The quickstart configuration compiled into the program (configs/quickstart.yaml).
const std::string& EmbeddedDefaultConfig();

// The effective configuration as YAML, every key present.
std::string ToYaml(const Config& config);
// A Markdown reference of every key: name, type, default, meaning.
std::string ConfigReference();

// "section.key: before -> after" for every key whose value differs, except
// the `ignored` keys.
std::vector<std::string> Differences(const Config& before, const Config& after,
                                     const std::set<std::string>& ignored = {});

}  // namespace crescent::config
