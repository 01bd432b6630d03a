// The schema: every key of the configuration, its YAML name, its check and
// its one-line meaning (`crescent config reference` and docs/config.md print
// these). The defaults are the members' initialisers in config.hpp.
#include "common/config/visitors.hpp"

namespace crescent::config {

using internal::AtLeast;
using internal::Fraction;
using internal::FractionBelowOne;
using internal::Mebibytes;
using internal::NonEmpty;
using internal::NonNegative;
using internal::PortNumber;
using internal::Positive;

// ---- the names of enumerated choices ------------------------------------------

const std::vector<Choice<Role>>& ChoicesOf(const Role*) {
  static const std::vector<Choice<Role>> kChoices = {{"master", Role::kMaster},
                                                     {"trainer", Role::kTrainer},
                                                     {"rollout", Role::kRollout},
                                                     {"reward", Role::kReward}};
  return kChoices;
}
const std::vector<Choice<LogLevel>>& ChoicesOf(const LogLevel*) {
  static const std::vector<Choice<LogLevel>> kChoices = {{"debug", LogLevel::kDebug},
                                                         {"info", LogLevel::kInfo},
                                                         {"warn", LogLevel::kWarn},
                                                         {"error", LogLevel::kError}};
  return kChoices;
}
const std::vector<Choice<task::SourceKind>>& ChoicesOf(const task::SourceKind*) {
  static const std::vector<Choice<task::SourceKind>> kChoices = {
      {"arithmetic", task::SourceKind::kArithmetic}, {"jsonl", task::SourceKind::kJsonl}};
  return kChoices;
}
const std::vector<Choice<task::SamplerKind>>& ChoicesOf(const task::SamplerKind*) {
  static const std::vector<Choice<task::SamplerKind>> kChoices = {
      {"uniform", task::SamplerKind::kUniform},
      {"curriculum", task::SamplerKind::kCurriculum},
      {"prioritised", task::SamplerKind::kPrioritised}};
  return kChoices;
}
const std::vector<Choice<StalePolicy>>& ChoicesOf(const StalePolicy*) {
  static const std::vector<Choice<StalePolicy>> kChoices = {{"exclude", StalePolicy::kExclude},
                                                            {"restart", StalePolicy::kRestart}};
  return kChoices;
}
const std::vector<Choice<Algorithm>>& ChoicesOf(const Algorithm*) {
  static const std::vector<Choice<Algorithm>> kChoices = {
      {"kimi", Algorithm::kKimi}, {"grpo", Algorithm::kGrpo}, {"reinforce", Algorithm::kReinforce}};
  return kChoices;
}
const std::vector<Choice<MathAnswer>>& ChoicesOf(const MathAnswer*) {
  static const std::vector<Choice<MathAnswer>> kChoices = {{"boxed", MathAnswer::kBoxed},
                                                           {"answer_line", MathAnswer::kAnswerLine},
                                                           {"last_number", MathAnswer::kLastNumber},
                                                           {"whole", MathAnswer::kWhole}};
  return kChoices;
}

const std::vector<Choice<LossNormalisation>>& ChoicesOf(const LossNormalisation*) {
  static const std::vector<Choice<LossNormalisation>> kChoices = {
      {"token", LossNormalisation::kToken}, {"sequence", LossNormalisation::kSequence}};
  return kChoices;
}
const std::vector<Choice<LrScheduleKind>>& ChoicesOf(const LrScheduleKind*) {
  static const std::vector<Choice<LrScheduleKind>> kChoices = {
      {"constant", LrScheduleKind::kConstant}, {"cosine", LrScheduleKind::kCosine}};
  return kChoices;
}
const std::vector<Choice<replay::FsyncPolicy>>& ChoicesOf(const replay::FsyncPolicy*) {
  static const std::vector<Choice<replay::FsyncPolicy>> kChoices = {
      {"commit", replay::FsyncPolicy::kEveryCommit},
      {"interval", replay::FsyncPolicy::kInterval},
      {"never", replay::FsyncPolicy::kNever}};
  return kChoices;
}

// ---- the keys -------------------------------------------------------------------

template <class V>
void RunSection::Visit(V& v) {
  v.Field("dir", dir, "Run directory: effective config, metrics, logs, checkpoints.", NonEmpty());
  v.Field("seed", seed, "Seed for prompt sampling, initialisation and generation.");
  v.Field("iterations", iterations, "Number of RL iterations to run.", AtLeast(0));
  v.Field("log_level", log_level, "Log verbosity: debug, info, warn or error.");
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
  v.Field("heartbeat_interval_s", link.heartbeat_interval_s,
          "Seconds between heartbeats, sent both ways.", Positive());
  v.Field("heartbeat_timeout_s", link.heartbeat_timeout_s,
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
  v.Field("max_message_mb", Mebibytes{link.max_payload_bytes},
          "Largest message accepted on a socket, in MiB.", AtLeast(1));
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
          "A policy directory to start from: a Hugging Face checkpoint (config.json, "
          "safetensors, tokenizer.json; model_type llama, qwen2 or qwen3) or a crescent "
          "checkpoint. `crescent sft` starts from it and writes RUN_DIR/sft; `crescent run` starts "
          "from RUN_DIR/sft when that exists, else from it. Empty: the built-in tiny Llama "
          "below, warm-started by `crescent sft` into RUN_DIR/sft.");
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
  v.Field("name", name, "Prompt source: arithmetic (built-in) or jsonl (task.prompts_file).");
  v.Field("prompts_file", prompts_file,
          "JSONL prompts, one {\"id\", \"prompt\" or \"messages\", \"answer\", ...} per line "
          "(task.name: jsonl; docs/training.md).");
  v.Field("chat_template", chat_template,
          "Render prompts with the policy's chat template and its generation prompt when the "
          "policy directory has one (a \"prompt\" text as one user turn); false: a \"prompt\" "
          "is given as it is, and a \"messages\" prompt is refused. The same for "
          "sft.data_file's documents (a pair as a user and an assistant turn).");
  v.Field("enable_thinking", enable_thinking,
          "Qwen3 chat template: false writes an empty think block after the generation prompt "
          "(Qwen3's non-thinking mode); other templates ignore it, and so does SFT (a trained "
          "assistant turn is written with its own think block).");
  v.Field("seed", arithmetic.seed, "Seed of the built-in task's problems and of prompt sampling.");
  v.Field("min_level", arithmetic.min_level, "Built-in task: easiest difficulty level.",
          AtLeast(1));
  v.Field("max_level", arithmetic.max_level,
          "Built-in task: hardest difficulty level (1: a+b one digit each, 2: two digits plus one, "
          "3: two digits each, 4: a-b, 5: a*b).",
          AtLeast(1));
  v.Field("heldout_size", arithmetic.heldout_size,
          "Held-out problems, never trained on, for accuracy before, during and after RL.",
          AtLeast(0));
  v.Field(
      "sampler", sampler.kind,
      "Prompt sampling: uniform, curriculum (easy to hard) or prioritised (by 1 - success rate).");
  v.Field("curriculum_warmup", sampler.curriculum_warmup,
          "Curriculum: prompts drawn from the whole set before drawing hard ones only.",
          AtLeast(0));
}

template <class V>
void SftSection::Visit(V& v) {
  v.Field("steps", steps, "Supervised warm-up steps of `crescent sft`.", AtLeast(0));
  v.Field("batch_size", batch_size,
          "Problems per supervised step; with sft.data_file, documents per step while "
          "sft.token_budget is 0 (otherwise unused).",
          AtLeast(1));
  v.Field("data_file", data_file,
          "JSONL training data, one {\"prompt\", \"response\"} pair or {\"messages\": [...]} "
          "chat per line, for any policy (model.path or the built-in model); the loss is on "
          "responses and assistant turns (docs/training.md). Empty: the built-in task's worked "
          "examples.");
  v.Field("heldout_fraction", heldout_fraction,
          "sft.data_file: the share of its distinct documents held out (chosen by content and "
          "sft.seed), whose loss per trained token is logged at the start, every 100 steps and "
          "at the end; 0: none.",
          FractionBelowOne());
  v.Field("token_budget", token_budget,
          "sft.data_file: tokens per step: each step draws documents until the next would take "
          "the batch's tokens (padding not counted) past this; a longer document is refused. 0: "
          "sft.batch_size documents per step.",
          AtLeast(0));
  v.Field("examples", examples,
          "Worked examples SFT trains on: the first N problems of the task's training pool (the "
          "prompts RL draws from), batches drawn from them at random; with sft.data_file, its "
          "first N training documents; 0: all.",
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
          "constant, or cosine: after the warm-up, decay to min_lr_ratio * lr at the last step.");
  v.Field("warmup_steps", warmup_steps,
          "Steps over which the learning rate rises linearly to sft.lr.", AtLeast(0));
  v.Field("min_lr_ratio", min_lr_ratio, "cosine: the final learning rate, as a fraction of lr.",
          NonNegative());
  v.Field("grad_clip", grad_clip, "Clip the gradient's global norm to this.", Positive());
  v.Field("seed", seed,
          "Seed of the built-in model's initialisation, of SFT batches and of sft.data_file's "
          "held-out split.");
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
  v.Field("kv_cache_mb", kv_cache_mb,
          "KV cache of a rollout worker, in MiB: a generation batch decodes at most as many "
          "sequences at once as fit (and at most batch_slots), each with room for the batch's "
          "longest prompt plus its new tokens. Checked before the job starts (it must hold the "
          "longest prompt plus max_response_tokens) and at each rollout worker's start (its "
          "host's memory must hold it). 0: batch_slots sequences, whatever they take.",
          AtLeast(0));
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
          "logged in the ledger, and generate a fresh one).");
}

template <class V>
void TrainerSection::Visit(V& v) {
  v.Field(
      "algorithm", algorithm,
      "kimi (k1.5 mirror descent, docs/training.md), grpo, or reinforce (group-mean baseline).");
  v.Field("tau", tau,
          "kimi: the relative-entropy weight tau; it acts from an iteration's second optimizer "
          "step on (docs/training.md).",
          Positive());
  v.Field("lr", lr, "Peak learning rate (Adam).", Positive());
  v.Field("lr_schedule", lr_schedule,
          "constant, or cosine: after the warm-up, decay to min_lr_ratio * lr at the last "
          "optimizer step of the run (run.iterations * steps_per_iteration). Steps are counted "
          "across resumes.");
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
          "group).");
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
  v.Field("micro_batch_tokens", micro_batch_tokens,
          "Split each optimizer step into micro-batches of at most this many tokens (padding "
          "included; a longer sample is a micro-batch of its own), each with its own forward and "
          "backward, gradients accumulated: the same update, holding one micro-batch's "
          "activations instead of the whole step's. A group may span micro-batches; from an "
          "iteration's second step on the kimi loss then takes one more forward, without a "
          "graph, for its groups' sequence log-probs (docs/training.md, \"Micro-batches\"). 0: "
          "one backward for the whole step.",
          AtLeast(0));
  v.Field("overlap", overlap,
          "Train on the groups completed in earlier iterations while the rollout workers generate "
          "this iteration's tokens, instead of after them: trainers and rollout workers work at "
          "the same time, and what is trained lags the generating policy by one version (needs "
          "rollout.max_staleness >= 1).");
}

template <class V>
void RewardSection::Visit(V& v) {
  v.Field("functions", functions,
          "Reward functions whose weighted sum is a sample's reward: each a built-in name (math, "
          "format, exact, regex, think_format, json_format), the path of a C plug-in (.so), or "
          "a map with fn (a name or path) or cmd (an any-language plug-in's command line, "
          "[COMMAND, ARGS...]), and optionally weight (1), fallback (its reward when it fails; "
          "default failure_reward) and pattern (regex only) (docs/rewards.md).");
  v.Field("domains", domains,
          "A prompt's metadata \"domain\" -> its own list of reward functions (as in "
          "functions), used instead of functions for that domain's prompts.");
  v.Field("timeout_s", timeout_s,
          "A plug-in (C or command) taking longer than this on a sample scores its fallback for "
          "it.",
          Positive());
  v.Field("correct_reward", correct_reward, "math: the reward of a correct answer.");
  v.Field("incorrect_reward", incorrect_reward, "math: the reward of a wrong or missing answer.");
  v.Field("format_reward", format_reward, "format: the reward of a response that is one number.");
  v.Field("math_answer", math_answer,
          "math: where a response's final answer is, in the text after its last </think>: the "
          "last \\boxed{...}, else (answer_line) the rest of the last line with \"####\", "
          "\"answer:\" or \"final answer is\", else (last_number) the last number; boxed: only "
          "a box; whole: a box, an answer line, else the whole text (\"18 19\" is no answer; "
          "the built-in task's setting).");
  v.Field("math_tolerance", math_tolerance,
          "math: relative tolerance for answers written with a decimal point or irrational "
          "(integers and fractions compare exactly; docs/rewards.md).",
          NonNegative());
  v.Field("partial_credit", partial_credit,
          "code: the reward is the fraction of test cases passed (else 1 when all pass, 0 "
          "otherwise).");
  v.Field("sandboxes", sandboxes,
          "code: sandboxed runs going on at once in each reward service (test cases of a "
          "sample, and samples of a batch, run concurrently up to this).",
          AtLeast(1));
  v.Field("code_cpu_s", code_cpu_s, "code: CPU seconds a program gets for one test case.",
          Positive());
  v.Field("code_wall_s", code_wall_s,
          "code: wall-clock seconds a program gets for one test case (a sleeping program is "
          "stopped here).",
          Positive());
  v.Field("code_memory_mb", code_memory_mb, "code: memory a program gets for one test case.",
          AtLeast(16));
  v.Field("code_filter_tests", code_filter_tests,
          "code: with reference solutions in a prompt's metadata \"solutions\", score only "
          "the test cases most of them pass (Kimi k1.5's test-case filter; docs/rewards.md).");
  v.Field("failure_reward", failure_reward,
          "The reward a function gives (before its weight) when it fails on a sample (a plug-in "
          "crashed, hung, or reported an error; a prompt without the metadata a function needs), "
          "unless its entry sets a fallback.");
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
  v.Field("fsync", journal.fsync_policy,
          "When the replay buffer's log reaches the disk: commit (before each commit returns), "
          "interval (every fsync_interval_ms), never (left to the OS).");
  v.Field("fsync_interval_ms", journal.fsync_interval,
          "fsync: interval: milliseconds between fsyncs.", AtLeast(1));
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
  v.Field("data_file", data_file,
          "JSONL prompts in task.prompts_file's format, evaluated beside the held-out set "
          "(greedy, at the same times) and written to metrics.jsonl as data_file_accuracy, the "
          "figure `crescent eval` gives for the same policy (docs/evaluation.md); empty: none.");
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
  v.Section("sft", sft,
            "Supervised fine-tuning (`crescent sft`): on the built-in task, or on sft.data_file.");
  v.Section("rollout", rollout, "Generation by the rollout workers.");
  v.Section("trainer", trainer, "Policy optimisation.");
  v.Section("reward", reward, "Scoring by the reward services.");
  v.Section("replay", replay,
            "The replay buffer (RUN_DIR/replay): partial and finished rollouts, kept durably.");
  v.Section("eval", eval, "Evaluation during a run: the held-out set and eval.data_file.");
}

template void Config::Visit(internal::Parser&);
template void Config::Visit(internal::Emitter&);
template void Config::Visit(internal::Documenter&);

}  // namespace crescent::config
