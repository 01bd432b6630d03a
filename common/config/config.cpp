#include "common/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "common/util/log.hpp"

namespace crescent::config {
namespace {

// A field check returns "" when the value is fine, else what was expected.
template <class T>
using Check = std::function<std::string(const T&)>;

template <class T>
Check<T> Any() {
  return [](const T&) { return std::string(); };
}
Check<int64_t> AtLeast(int64_t low) {
  return [low](const int64_t& v) {
    return v >= low ? std::string() : StrCat("expected an integer >= ", low);
  };
}
Check<int64_t> PortNumber() {
  return [](const int64_t& v) {
    return v >= 0 && v <= 65535 ? std::string() : "expected a port number in 0..65535";
  };
}
Check<double> Positive() {
  return [](const double& v) {
    return v > 0 && std::isfinite(v) ? std::string() : "expected a positive number";
  };
}
Check<double> NonNegative() {
  return [](const double& v) {
    return v >= 0 && std::isfinite(v) ? std::string() : "expected a number >= 0";
  };
}
Check<double> Fraction() {
  return [](const double& v) {
    return v >= 0 && v <= 1 ? std::string() : "expected a number in 0..1";
  };
}
Check<std::string> OneOf(std::vector<std::string> choices) {
  return [choices](const std::string& v) {
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) return std::string();
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    return StrCat("expected one of ", list);
  };
}
Check<std::string> NonEmpty() {
  return [](const std::string& v) { return v.empty() ? "expected a non-empty string" : ""; };
}

const char* TypeName(const int64_t*) { return "integer"; }
const char* TypeName(const double*) { return "number"; }
const char* TypeName(const bool*) { return "boolean"; }
const char* TypeName(const std::string*) { return "string"; }
const char* TypeName(const std::vector<std::string>*) { return "list of strings"; }

std::string Join(const std::string& prefix, const char* key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    default:
      return Quote(node.Scalar());
  }
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// ---- parsing ---------------------------------------------------------------

bool ParseScalar(const YAML::Node& n, int64_t* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}
bool ParseScalar(const YAML::Node& n, double* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}
bool ParseScalar(const YAML::Node& n, bool* out) {
  if (!n.IsScalar()) return false;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on")
    *out = true;
  else if (s == "false" || s == "no" || s == "off")
    *out = false;
  else
    return false;
  return true;
}
bool ParseScalar(const YAML::Node& n, std::string* out) {
  if (n.IsNull()) {
    *out = "";
    return true;
  }
  if (!n.IsScalar()) return false;
  *out = n.Scalar();
  return true;
}
bool ParseScalar(const YAML::Node& n, std::vector<std::string>* out) {
  if (n.IsNull()) {
    out->clear();
    return true;
  }
  if (!n.IsSequence()) return false;
  std::vector<std::string> v;
  for (const auto& item : n) {
    if (!item.IsScalar()) return false;
    v.push_back(item.Scalar());
  }
  *out = v;
  return true;
}

class Parser {
 public:
  Parser(const YAML::Node& node, std::string prefix, const std::string& source,
         const std::set<std::string>& overridden, std::map<std::string, std::string>* provenance)
      : node_(node),
        prefix_(std::move(prefix)),
        source_(source),
        overridden_(overridden),
        provenance_(provenance) {}

  std::string Where(const std::string& key, const YAML::Node& n) const {
    if (overridden_.count(key)) return "--set " + key;
    if (n.Mark().is_null()) return source_;
    return StrCat(source_, ":", n.Mark().line + 1);
  }

  [[noreturn]] void Fail(const std::string& key, const YAML::Node& n, const std::string& what,
                         const std::string& got) const {
    throw ConfigError(StrCat(key, ": ", what, ", got ", got, " (", Where(key, n), ")"));
  }

  template <class T>
  void Field(const char* name, T& value, const char* /*doc*/, Check<T> check = Any<T>()) {
    seen_.insert(name);
    const std::string key = Join(prefix_, name);
    if (!node_ || !node_.IsMap() || !node_[name]) {
      (*provenance_)[key] = "default";
      return;
    }
    const YAML::Node n = node_[name];
    T parsed{};
    if (!ParseScalar(n, &parsed)) {
      Fail(key, n, StrCat("expected ", Article(TypeName(&value)), TypeName(&value)), Describe(n));
    }
    std::string problem = check(parsed);
    if (!problem.empty()) Fail(key, n, problem, Describe(n));
    value = parsed;
    (*provenance_)[key] = Where(key, n);
  }

  template <class S>
  void Section(const char* name, S& section, const char* /*doc*/) {
    seen_.insert(name);
    const std::string key = Join(prefix_, name);
    YAML::Node child;
    if (node_ && node_.IsMap() && node_[name]) {
      child = node_[name];
      if (!child.IsMap() && !child.IsNull())
        Fail(key, child, "expected a map of keys", Describe(child));
    }
    Parser sub(child, key, source_, overridden_, provenance_);
    section.Visit(sub);
    sub.RejectUnknown();
  }

  void RejectUnknown() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string name = kv.first.as<std::string>();
      if (seen_.count(name)) continue;
      std::string hint;
      size_t best = 3;
      for (const auto& known : seen_) {
        size_t d = EditDistance(name, known);
        if (d < best) best = d, hint = known;
      }
      const std::string key = Join(prefix_, name.c_str());
      throw ConfigError(
          StrCat(key, ": unknown key",
                 hint.empty() ? "" : "; did you mean " + Join(prefix_, hint.c_str()) + "?", " (",
                 Where(key, kv.first), ")"));
    }
  }

 private:
  static const char* Article(const char* type) {
    return (type[0] == 'a' || type[0] == 'i') ? "an " : "a ";
  }

  YAML::Node node_;
  std::string prefix_;
  const std::string& source_;
  const std::set<std::string>& overridden_;
  std::map<std::string, std::string>* provenance_;
  std::set<std::string> seen_;
};

// ---- printing --------------------------------------------------------------

class Emitter {
 public:
  explicit Emitter(YAML::Emitter& out) : out_(out) {}
  template <class T>
  void Field(const char* name, T& value, const char*, Check<T> = Any<T>()) {
    out_ << YAML::Key << name << YAML::Value;
    Emit(value);
  }
  template <class S>
  void Section(const char* name, S& section, const char*) {
    out_ << YAML::Key << name << YAML::Value << YAML::BeginMap;
    section.Visit(*this);
    out_ << YAML::EndMap;
  }

 private:
  void Emit(const int64_t& v) { out_ << v; }
  void Emit(const double& v) { out_ << v; }
  void Emit(const bool& v) { out_ << (v ? "true" : "false"); }
  void Emit(const std::string& v) { out_ << YAML::DoubleQuoted << v; }
  void Emit(const std::vector<std::string>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const auto& s : v) out_ << s;
    out_ << YAML::EndSeq;
  }
  YAML::Emitter& out_;
};

class Documenter {
 public:
  explicit Documenter(std::ostream& out) : out_(out) {}
  template <class T>
  void Field(const char* name, T& value, const char* doc, Check<T> = Any<T>()) {
    out_ << "| `" << Join(prefix_, name) << "` | " << TypeName(&value) << " | `" << Default(value)
         << "` | " << doc << " |\n";
  }
  template <class S>
  void Section(const char* name, S& section, const char* doc) {
    std::string saved = prefix_;
    prefix_ = Join(prefix_, name);
    out_ << "\n## `" << prefix_ << "`\n\n"
         << doc << "\n\n| key | type | default | meaning |\n"
         << "|---|---|---|---|\n";
    section.Visit(*this);
    prefix_ = saved;
  }

 private:
  static std::string Default(const int64_t& v) { return std::to_string(v); }
  static std::string Default(const double& v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }
  static std::string Default(const bool& v) { return v ? "true" : "false"; }
  static std::string Default(const std::string& v) { return Quote(v); }
  static std::string Default(const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s + "]";
  }
  std::ostream& out_;
  std::string prefix_;
};

void ApplyOverride(YAML::Node& root, const std::string& assignment, std::set<std::string>* keys) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(StrCat("--set ", assignment, ": expected key.path=value"));
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(StrCat("--set ", assignment, ": value is not valid YAML: ", e.msg));
  }
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  // yaml-cpp nodes are handles: walk down by reassigning copies.
  std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
    if (i + 1 == parts.size()) {
      node[parts[i]] = value;
      return;
    }
    if (!node[parts[i]] || !node[parts[i]].IsMap())
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    set(node[parts[i]], i + 1);
  };
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  set(root, 0);
  keys->insert(key);
}

void Validate(const Config& c) {
  auto fail = [&c](const std::string& key, const std::string& what) {
    throw ConfigError(StrCat(key, ": ", what, " (", c.Where(key), ")"));
  };
  std::multiset<std::string> order(c.cluster.rank_order.begin(), c.cluster.rank_order.end());
  std::multiset<std::string> roles = {"master", "trainer", "rollout", "reward"};
  if (order != roles) {
    fail("cluster.rank_order", "expected each of master, trainer, rollout, reward exactly once");
  }
  if (c.task.max_level < c.task.min_level) fail("task.max_level", "expected >= task.min_level");
  if (c.task.name == "jsonl" && c.task.prompts_file.empty()) {
    fail("task.prompts_file", "expected a file when task.name is jsonl");
  }
  if (c.model.heads % c.model.kv_heads != 0 || c.model.hidden_size % c.model.heads != 0) {
    fail("model.kv_heads", "expected heads divisible by kv_heads, hidden_size by heads");
  }
  if (c.rollout.budget >= c.rollout.max_response_tokens) {
    fail("rollout.budget", "expected less than rollout.max_response_tokens (or 0: off)");
  }
  if (c.trainer.overlap && c.rollout.max_staleness < 1) {
    fail("rollout.max_staleness",
         "expected >= 1 with trainer.overlap (what is trained was generated one policy version "
         "earlier)");
  }
  if (c.trainer.kl_coef > 0 && c.trainer.algorithm != "grpo") {
    fail("trainer.kl_coef", "expected 0 unless trainer.algorithm is grpo");
  }
  if (c.cluster.heartbeat_timeout_s <= 2 * c.cluster.heartbeat_interval_s) {
    fail("cluster.heartbeat_timeout_s", "expected more than twice cluster.heartbeat_interval_s");
  }
}

}  // namespace

template <class V>
void RunSection::Visit(V& v) {
  v.Field("dir", dir, "Run directory: effective config, metrics, logs, checkpoints.", NonEmpty());
  v.Field("seed", seed, "Seed for prompt sampling, initialisation and generation.");
  v.Field("iterations", iterations, "Number of RL iterations to run.", AtLeast(0));
  v.Field("log_level", log_level, "Log verbosity: debug, info, warn or error.",
          OneOf({"debug", "info", "warn", "error"}));
  v.Field("shutdown_grace_s", shutdown_grace_s,
          "On SIGTERM (or SIGINT), the job commits its work and exits within this many seconds; "
          "run the same command again to resume.",
          Positive());
}

template <class V>
void ClusterSection::Visit(V& v) {
  v.Field("trainers", trainers, "Number of trainer ranks.", AtLeast(1));
  v.Field("rollout_workers", rollout_workers, "Number of rollout worker ranks.", AtLeast(1));
  v.Field("reward_services", reward_services, "Number of reward service ranks.", AtLeast(1));
  v.Field("rank_order", rank_order,
          "Order in which MPI ranks are given roles (each role once; master's single rank first "
          "by default).");
  v.Field("interface", interface,
          "Network interface whose IPv4 address the master advertises (e.g. eth0), or auto: the "
          "first non-loopback interface that is up, else loopback.",
          NonEmpty());
  v.Field("master_port", master_port, "TCP port of the master's socket; 0 lets the OS choose.",
          PortNumber());
  v.Field("heartbeat_interval_s", heartbeat_interval_s,
          "Seconds between heartbeats, sent both ways.", Positive());
  v.Field("heartbeat_timeout_s", heartbeat_timeout_s,
          "Seconds without a heartbeat after which a peer is reported unresponsive.", Positive());
  v.Field("startup_timeout_s", startup_timeout_s,
          "Seconds the master waits for every rank to say hello.", Positive());
  v.Field("worker_lost_after_s", worker_lost_after_s,
          "Seconds of silence after which the master gives a worker up and stops the job.",
          Positive());
  v.Field("request_timeout_s", request_timeout_s,
          "Seconds the master waits for the reply to one request (generate, score, train, "
          "weight sync, checkpoint) before it names the worker and stops the job.",
          Positive());
  v.Field("max_message_mb", max_message_mb, "Largest message accepted on a socket, in MiB.",
          AtLeast(1));
  v.Field("mpirun", mpirun, "The mpirun program `crescent run` launches the job with.", NonEmpty());
  v.Field("mpirun_args", mpirun_args, "Extra arguments for mpirun (e.g. [--mca, btl, tcp,self]).");
  v.Field("hostfile", hostfile,
          "An Open MPI hostfile for multi-machine runs; empty: this machine.");
}

template <class V>
void ThreadsSection::Visit(V& v) {
  v.Field("trainer", trainer, "Compute threads of each trainer rank (LibTorch intra-op).",
          AtLeast(1));
  v.Field("rollout", rollout, "Compute threads of each rollout worker (LibTorch intra-op).",
          AtLeast(1));
}

template <class V>
void ModelSection::Visit(V& v) {
  v.Field("path", path,
          "A Hugging Face checkpoint directory (config.json + safetensors) to start from; empty: "
          "the built-in tiny Llama below, warm-started by `crescent sft` into RUN_DIR/sft.");
  v.Field("hidden_size", hidden_size, "Built-in model: hidden size.", AtLeast(8));
  v.Field("intermediate_size", intermediate_size, "Built-in model: SwiGLU inner size.", AtLeast(8));
  v.Field("layers", layers, "Built-in model: decoder layers.", AtLeast(1));
  v.Field("heads", heads, "Built-in model: attention heads.", AtLeast(1));
  v.Field("kv_heads", kv_heads, "Built-in model: key/value heads (grouped-query attention).",
          AtLeast(1));
  v.Field("max_sequence", max_sequence, "Built-in model: longest prompt + response, in tokens.",
          AtLeast(8));
}

template <class V>
void TaskSection::Visit(V& v) {
  v.Field("name", name, "Prompt source: arithmetic (built-in) or jsonl (task.prompts_file).",
          OneOf({"arithmetic", "jsonl"}));
  v.Field("prompts_file", prompts_file,
          "JSONL prompts, one {\"id\", \"prompt\", \"answer\", ...} per line (task.name: jsonl).");
  v.Field("seed", seed, "Seed of the built-in task's problems and of prompt sampling.");
  v.Field("min_level", min_level, "Built-in task: easiest difficulty level.", AtLeast(1));
  v.Field("max_level", max_level,
          "Built-in task: hardest difficulty level (1: a+b one digit each, 2: two digits plus one, "
          "3: two digits each, 4: a-b, 5: a*b).",
          AtLeast(1));
  v.Field("heldout_size", heldout_size,
          "Held-out problems, never trained on, for accuracy before, during and after RL.",
          AtLeast(0));
  v.Field(
      "sampler", sampler,
      "Prompt sampling: uniform, curriculum (easy to hard) or prioritised (by 1 - success rate).",
      OneOf({"uniform", "curriculum", "prioritised"}));
  v.Field("curriculum_warmup", curriculum_warmup,
          "Curriculum: prompts drawn from the whole set before drawing hard ones only.",
          AtLeast(0));
}

template <class V>
void SftSection::Visit(V& v) {
  v.Field("steps", steps, "Supervised warm-up steps of `crescent sft`.", AtLeast(0));
  v.Field("batch_size", batch_size, "Problems per supervised step.", AtLeast(1));
  v.Field("examples", examples,
          "Worked examples SFT trains on: the first N problems of the task's training pool (the "
          "prompts RL draws from), batches drawn from them at random; 0: the whole pool.",
          AtLeast(0));
  v.Field("max_level", max_level,
          "Built-in task: SFT's worked examples go up to this level only (RL and the held-out set "
          "keep task.min_level..task.max_level); 0: task.max_level.",
          AtLeast(0));
  v.Field("teacher_error", teacher_error,
          "Built-in task: the probability that a worked example whose units carry is shown with "
          "the carry forgotten (the answer 10 too small), as an imperfect teacher's "
          "demonstrations are: SFT imitates the mistake, RL against the verifier can correct it.",
          Fraction());
  v.Field("lr", lr, "Supervised peak learning rate (Adam).", Positive());
  v.Field("lr_schedule", lr_schedule,
          "constant, or cosine: after the warm-up, decay to min_lr_ratio * lr at the last step.",
          OneOf({"constant", "cosine"}));
  v.Field("warmup_steps", warmup_steps,
          "Steps over which the learning rate rises linearly to sft.lr.", AtLeast(0));
  v.Field("min_lr_ratio", min_lr_ratio, "cosine: the final learning rate, as a fraction of lr.",
          NonNegative());
  v.Field("grad_clip", grad_clip, "Clip the gradient's global norm to this.", Positive());
  v.Field("seed", seed, "Seed of the built-in model's initialisation and of SFT batches.");
}

template <class V>
void RolloutSection::Visit(V& v) {
  v.Field("samples_per_prompt", samples_per_prompt, "k: samples generated for each prompt.",
          AtLeast(2));
  v.Field("max_response_tokens", max_response_tokens, "Longest response, in tokens.", AtLeast(1));
  v.Field("temperature", temperature, "Sampling temperature.", Positive());
  v.Field("top_k", top_k, "Sample among the k most likely tokens; 0: all.", AtLeast(0));
  v.Field("top_p", top_p, "Nucleus sampling mass; 1: off.", Positive());
  v.Field("batch_slots", batch_slots,
          "Sequences decoded at once by a rollout worker (continuous batching fills freed slots).",
          AtLeast(1));
  v.Field("budget", budget,
          "Partial rollouts: new tokens a trajectory may generate per iteration; an unfinished "
          "one is kept in the replay buffer and continued in the next iteration. 0: every "
          "trajectory is generated to its end.",
          AtLeast(0));
  v.Field("stop_strings", stop_strings,
          "A response ends when its text ends with one of these (the end-of-sequence token "
          "always ends it).");
  v.Field("repeat_ngram", repeat_ngram,
          "Repetition detector: n-gram size; 0: off. A response whose last repeat_count n-grams "
          "are the same stops with finish reason repeat.",
          AtLeast(0));
  v.Field("repeat_count", repeat_count, "Repetition detector: consecutive repeats that stop it.",
          AtLeast(2));
  v.Field("max_staleness", max_staleness,
          "Partial rollouts: a segment generated more than this many policy versions before the "
          "one being trained is excluded from the loss (or restarted, see stale_policy).",
          AtLeast(0));
  v.Field("stale_policy", stale_policy,
          "What happens to an unfinished trajectory with a segment older than max_staleness: "
          "exclude (continue it; its stale segments carry no gradient) or restart (drop it, "
          "logged in the ledger, and generate a fresh one).",
          OneOf({"exclude", "restart"}));
}

template <class V>
void TrainerSection::Visit(V& v) {
  v.Field("algorithm", algorithm,
          "kimi (k1.5 mirror descent, docs/training.md), grpo, or reinforce (group-mean baseline).",
          OneOf({"kimi", "grpo", "reinforce"}));
  v.Field("tau", tau,
          "kimi: the relative-entropy weight tau; it acts from an iteration's second optimizer "
          "step on (docs/training.md).",
          Positive());
  v.Field("lr", lr, "Peak learning rate (Adam).", Positive());
  v.Field("lr_schedule", lr_schedule,
          "constant, or cosine: after the warm-up, decay to min_lr_ratio * lr at the last "
          "optimizer step of the run (run.iterations * steps_per_iteration). Steps are counted "
          "across resumes.",
          OneOf({"constant", "cosine"}));
  v.Field("warmup_steps", warmup_steps,
          "Optimizer steps over which the learning rate rises linearly to trainer.lr.", AtLeast(0));
  v.Field("min_lr_ratio", min_lr_ratio, "cosine: the final learning rate, as a fraction of lr.",
          NonNegative());
  v.Field("groups_per_step", groups_per_step,
          "B: complete prompt groups (of k samples) per training step.", AtLeast(1));
  v.Field("steps_per_iteration", steps_per_iteration, "Optimizer steps per iteration.", AtLeast(1));
  v.Field("reset_optimizer", reset_optimizer,
          "Reset Adam's state every iteration, as the k1.5 paper does; false keeps its moments "
          "across iterations and resumes (checkpoints hold them in optimizer.pt).");
  v.Field("grad_clip", grad_clip, "Clip the gradient's global norm to this.", Positive());
  v.Field("clip_epsilon", clip_epsilon, "grpo: ratio clipping epsilon.", Positive());
  v.Field("kl_coef", kl_coef,
          "grpo: weight of the KL term to the frozen initial policy (the k3 estimator per token, "
          "normalised like the policy term); 0: off, no reference model is loaded.",
          NonNegative());
  v.Field("loss_normalisation", loss_normalisation,
          "grpo: token (a group's token terms summed, divided by its trained tokens: long "
          "responses weigh more) or sequence (each response's per-token mean, averaged over the "
          "group).",
          OneOf({"token", "sequence"}));
  v.Field("mask_truncated", mask_truncated,
          "Responses cut by length (finish reason length) carry no loss; they still count in "
          "their group's mean reward.");
  v.Field("drop_equal_reward_groups", drop_equal_reward_groups,
          "Drop a complete group whose k rewards are all equal (it has no learning signal; "
          "DAPO's dynamic sampling); logged in the ledger, counted in the metrics, and replaced "
          "by a new prompt at the next draw.");
  v.Field("checkpoint_every", checkpoint_every,
          "Save a trainer checkpoint (RUN_DIR/checkpoints) every N iterations; a resumed run "
          "starts from the last one and trains again on what came after it.",
          AtLeast(1));
  v.Field("activation_checkpointing", activation_checkpointing,
          "Recompute each decoder layer's activations in backward instead of keeping them: the "
          "same gradients with less memory (46% less peak on 2 x 1024 tokens), one more forward.");
  v.Field("overlap", overlap,
          "Train on the groups completed in earlier iterations while the rollout workers generate "
          "this iteration's tokens, instead of after them: trainers and rollout workers work at "
          "the same time, and what is trained lags the generating policy by one version (needs "
          "rollout.max_staleness >= 1).");
}

template <class V>
void RewardSection::Visit(V& v) {
  v.Field("functions", functions,
          "Reward functions summed per sample: built-in names (math, format) or paths to plug-in "
          "shared libraries (docs/rewards.md).");
  v.Field("timeout_s", timeout_s,
          "A plug-in taking longer than this on a sample scores failure_reward for it.",
          Positive());
  v.Field("correct_reward", correct_reward, "math: the reward of a correct answer.");
  v.Field("incorrect_reward", incorrect_reward, "math: the reward of a wrong or missing answer.");
  v.Field("format_reward", format_reward, "format: the reward of a response that is one number.");
  v.Field("failure_reward", failure_reward,
          "The reward of a sample whose reward function failed (a plug-in crashed, hung, or "
          "reported an error; a prompt without the metadata a function needs).");
  v.Field("repeat_penalty", repeat_penalty,
          "Subtracted from the reward of a response stopped by the repetition detector.",
          NonNegative());
  v.Field("length_penalty", length_penalty,
          "Weight of Kimi k1.5's length reward, added to each reward when a group is assembled "
          "for training (docs/training.md); 0: off.",
          NonNegative());
  v.Field("length_penalty_warmup", length_penalty_warmup,
          "Iterations before the length reward applies (its warm-up).", AtLeast(0));
}

template <class V>
void ReplaySection::Visit(V& v) {
  v.Field("fsync", fsync,
          "When the replay buffer's log reaches the disk: commit (before each commit returns), "
          "interval (every fsync_interval_ms), never (left to the OS).",
          OneOf({"commit", "interval", "never"}));
  v.Field("fsync_interval_ms", fsync_interval_ms, "fsync: interval: milliseconds between fsyncs.",
          AtLeast(1));
  v.Field("snapshot_every", snapshot_every,
          "Write a snapshot of the replay buffer (and drop the log before it) every N commits.",
          AtLeast(1));
}

template <class V>
void EvalSection::Visit(V& v) {
  v.Field("every", every,
          "Evaluate held-out accuracy every N iterations (and always before and after); 0: only "
          "before and after.",
          AtLeast(0));
}

template <class V>
void Config::Visit(V& v) {
  v.Section("run", run, "The run as a whole.");
  v.Section("cluster", cluster, "Processes, their roles and how they reach each other.");
  v.Section("threads", threads,
            "Compute threads of the LibTorch roles (the master and reward services compute on "
            "one thread). Ranks on one machine share its cores: oversubscribing them made "
            "generation 3x slower on a 2-core machine.");
  v.Section("model", model, "The policy model.");
  v.Section("task", task, "Where prompts come from and how they are drawn.");
  v.Section("sft", sft, "Supervised warm start (`crescent sft`).");
  v.Section("rollout", rollout, "Generation by the rollout workers.");
  v.Section("trainer", trainer, "Policy optimisation.");
  v.Section("reward", reward, "Scoring by the reward services.");
  v.Section("replay", replay,
            "The replay buffer (RUN_DIR/replay): partial and finished rollouts, kept durably.");
  v.Section("eval", eval, "Held-out evaluation.");
}

std::string Config::Where(const std::string& key) const {
  auto it = provenance.find(key);
  return it == provenance.end() ? "default" : it->second;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kMaster:
      return "master";
    case Role::kTrainer:
      return "trainer";
    case Role::kRollout:
      return "rollout";
    case Role::kReward:
      return "reward";
  }
  return "?";
}

std::vector<Role> RankRoles(const ClusterSection& cluster) {
  std::vector<Role> roles;
  for (const auto& name : cluster.rank_order) {
    if (name == "master") roles.push_back(Role::kMaster);
    if (name == "trainer") roles.insert(roles.end(), cluster.trainers, Role::kTrainer);
    if (name == "rollout") roles.insert(roles.end(), cluster.rollout_workers, Role::kRollout);
    if (name == "reward") roles.insert(roles.end(), cluster.reward_services, Role::kReward);
  }
  return roles;
}

Config ParseConfig(const std::string& yaml_text, const std::string& source,
                   const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(StrCat(source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
  if (root && !root.IsMap() && !root.IsNull()) {
    throw ConfigError(StrCat(source, ": expected a map of sections at the top level"));
  }
  std::set<std::string> overridden;
  for (const auto& o : overrides) ApplyOverride(root, o, &overridden);
  Config config;
  Parser parser(root, "", source, overridden, &config.provenance);
  config.Visit(parser);
  parser.RejectUnknown();
  Validate(config);
  return config;
}

Config LoadConfigFile(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(StrCat(path, ": cannot read the config file"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, overrides);
}

std::string ToYaml(const Config& config) {
  YAML::Emitter out;
  out.SetDoublePrecision(15);  // 0.0003, not 0.00029999999999999997
  out << YAML::BeginMap;
  Emitter emitter(out);
  const_cast<Config&>(config).Visit(emitter);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::string> Differences(const Config& before, const Config& after,
                                     const std::set<std::string>& ignored) {
  // Every key as "section.key" -> its YAML text.
  auto flatten = [](const Config& c) {
    std::map<std::string, std::string> keys;
    YAML::Node root = YAML::Load(ToYaml(c));
    for (const auto& section : root) {
      for (const auto& key : section.second) {
        YAML::Emitter e;
        e.SetDoublePrecision(15);
        e << YAML::Flow << key.second;
        keys[section.first.as<std::string>() + "." + key.first.as<std::string>()] = e.c_str();
      }
    }
    return keys;
  };
  std::map<std::string, std::string> a = flatten(before), b = flatten(after);
  std::vector<std::string> out;
  for (const auto& [key, value] : b) {
    if (ignored.count(key)) continue;
    auto it = a.find(key);
    const std::string old = it == a.end() ? "(absent)" : it->second;
    if (old != value) out.push_back(StrCat(key, ": ", old, " -> ", value));
  }
  return out;
}

std::string ConfigReference() {
  std::ostringstream os;
  Config defaults;
  Documenter doc(os);
  defaults.Visit(doc);
  return os.str();
}

}  // namespace crescent::config
