// The crescent program's tool subcommands, apart from the job itself
// (cli/launch.hpp) and the benchmarks (bench/bench.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace crescent::cli {

// `crescent replay stats RUN_DIR` / `crescent replay dump RUN_DIR`: the
// state of a run's replay buffer, read without locking or changing it.
int ReplayCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent model logits --model DIR`: reads a JSON array of token ids from
// `in`, writes the logits at each position as one JSON array per line.
// Returns 0; 2 for bad arguments, 1 for a bad checkpoint or input (the reason
// goes to std::cerr).
int ModelLogitsCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out);

// `crescent model init --tokenizer DIR --out DIR [--arch ...] [sizes...]`: a
// randomly initialised Llama, Qwen2 or Qwen3 model (seed --seed) around DIR's
// tokenizer files, written as a Hugging Face directory that `crescent sft`
// and `crescent run` take as model.path: config.json (with the stop ids and
// BOS the tokenizer files give, or --eos tokens, written to
// generation_config.json), model.safetensors, the tokenizer files. The
// embedding has --vocab rows (default: the tokenizer's entries rounded up to
// a multiple of 128). OUT_DIR must not exist or be empty; it is written
// beside it and renamed into place. `args` follow "init". Returns 0; throws
// std::runtime_error naming the flag or file at fault.
int ModelInitCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent export RUN_DIR OUT_DIR [--version N]`: copies one policy version
// kept under RUN_DIR/checkpoints (default: the latest) out as a Hugging Face
// directory: config.json, the safetensors, the tokenizer files; not
// optimizer.pt or checkpoint.json. OUT_DIR must not exist or be empty; it is
// written beside it and renamed into place. Returns 0 and says what it wrote;
// throws std::runtime_error for bad arguments, a version not kept (listing
// those kept) or an OUT_DIR in the way.
int ExportCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent generate --model DIR --input FILE [--output FILE] [--max-tokens N]
// [--temperature T] [--top-k K] [--top-p P] [--samples N] [--seed S]
// [--chat-template true|false] [--enable-thinking true|false]`: the policy's
// responses to a JSONL prompts file (task.prompts_file's format), one JSON line
// per prompt and sample to `out` or --output: id, sample, prompt (as rendered),
// response, prompt_tokens, response_tokens, finish_reason, metadata. Prompts
// are rendered and encoded as a run does, generated as a rollout worker does
// (docs/evaluation.md). Returns 0; throws std::runtime_error for bad
// arguments, a bad input line (file:line) or policy directory (named).
int GenerateCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent eval [CONFIG] --data FILE [--samples N] [--set key=value]...`: the
// accuracy of the config's policy (model.path, else the run's latest
// checkpoint, else RUN_DIR/sft) on a JSONL set, scored with reward.functions
// summed: greedy, as a run's evaluations compute it; with --samples N > 1 also
// mean@N and pass@k (docs/evaluation.md). Writes a summary and, last, one JSON
// line. Returns 0; throws for bad arguments, data or config.
int EvalCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent reward eval [CONFIG] --input FILE|- [--set key=value]...`: scores
// each JSON line of FILE (or stdin) — "prompt" or "messages", "response", and
// the metadata keys at top level — with the config's rewards, as a run's
// reward services do, and writes one line per input line, in order:
// {"reward", "correct", "details": {function name: {...}}, "error": string or
// null}; a line that cannot be scored gets reward and correct null and an
// error naming the file and line (docs/rewards.md). Blank lines are skipped.
// Returns 0 when every line was scored, 1 otherwise, 2 for bad arguments;
// throws config::ConfigError for a bad config (reward functions included).
int RewardCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent sandbox run [--dir DIR [--writable true]] [limits...] -- PROGRAM
// [ARGS...]`: runs PROGRAM in the code sandbox (docs/sandbox.md) with this
// process's stdin, the regular files of DIR copied into its /box (and, with
// --writable true, what it leaves there copied back), and writes one JSON line:
// status (exited, signaled, time_limit, memory_limit, output_limit, error),
// exit_code, signal, stdout, stderr, wall_s, passed, describe. Returns 0 when
// the sandbox ran it (whatever the program did), 1 when the sandbox could
// not, 2 for bad arguments.
int SandboxCommand(const std::vector<std::string>& args, std::ostream& out);

// `crescent tokenize --tokenizer PATH [--decode]`: one JSON string per line
// in, one JSON array of ids per line out (reversed with --decode). Returns 0;
// bad arguments or input lines throw std::runtime_error naming the line.
int TokenizeCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out);

}  // namespace crescent::cli
