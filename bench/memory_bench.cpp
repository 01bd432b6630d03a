#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "bench/bench.hpp"
#include "bench/int_options.hpp"
#include "common/model/llama.hpp"
#include "common/model/policy.hpp"
#include "trainer/policy_loss.hpp"
#include "trainer/policy_update.hpp"

namespace crescent::bench {
namespace {

// The gradient sum over one trainer: the gradient itself.
class OneTrainer : public weights::WeightSync {
 public:
  int64_t Broadcast(const std::vector<torch::Tensor>&, int64_t version) override { return version; }
  void AllReduceSum(const std::vector<torch::Tensor>&) override {}
};

// A line of /proc/self/status, in KiB ("VmRSS", "VmHWM").
int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  return -1;
}

enum class Mode { kWholeLogits, kUnsplit, kMicroBatched };

struct Measured {
  int64_t loaded_kb = 0, peak_kb = 0;
  double seconds = 0;
};

// One group of `responses` samples of `length` tokens (an 8-token prompt
// and the response), random tokens, rewards 0 and 1 in turn.
std::vector<proto::TrainGroup> Batch(int64_t responses, int64_t length, int64_t vocab,
                                     uint64_t seed) {
  std::mt19937_64 rng(seed);
  proto::TrainGroup g;
  const int64_t prompt = std::min<int64_t>(8, length - 1);
  std::vector<int32_t> prompt_tokens;
  for (int64_t t = 0; t < prompt; ++t) prompt_tokens.push_back(rng() % vocab);
  for (int64_t j = 0; j < responses; ++j) {
    proto::TrainSample s;
    s.prompt_tokens = prompt_tokens;
    for (int64_t t = prompt; t < length; ++t) {
      s.response_tokens.push_back(rng() % vocab);
      s.behaviour_logprobs.push_back(-std::log(static_cast<float>(vocab)));
    }
    s.reward = static_cast<double>(j % 2);
    g.samples.push_back(std::move(s));
  }
  return {g};
}

// In this (fresh, forked) process: the model and Adam, one small step so
// that the gradients and Adam's moments exist (a trainer's steady state),
// then the resident memory, and the peak above it during one step of the
// kimi loss on the batch.
Measured MeasureStep(Mode mode, const std::map<std::string, int64_t>& o) {
  model::SetComputeThreads(static_cast<int>(o.at("--threads")));
  model::LlamaConfig c;
  c.model_type = "qwen3";
  c.qk_norm = true;
  c.vocab_size = o.at("--vocab");
  c.hidden_size = o.at("--hidden");
  c.intermediate_size = 4 * c.hidden_size;
  c.num_layers = o.at("--layers");
  c.num_heads = std::max<int64_t>(1, c.hidden_size / 16);
  c.num_kv_heads = c.num_heads % 2 == 0 ? c.num_heads / 2 : c.num_heads;
  c.max_positions = o.at("--length");
  torch::manual_seed(1);
  model::Llama model(c);
  trainer::TrainerOptimizer optimizer(
      model->parameters(), trainer::LrSchedule{trainer::LrSchedule::Kind::kConstant, 1e-4});
  config::TrainerSection tc;
  tc.reset_optimizer = false;
  tc.micro_batch_tokens = mode == Mode::kMicroBatched ? o.at("--micro-batch-tokens") : 0;
  OneTrainer one;
  trainer::UpdatePolicy(model, tc, Batch(2, 8, c.vocab_size, 1), 1, one, optimizer);

  const auto batch = Batch(o.at("--responses"), o.at("--length"), c.vocab_size, 2);
  Measured m;
  m.loaded_kb = StatusKb("VmRSS");
  std::ofstream("/proc/self/clear_refs") << "5";  // the peak starts again from here
  const auto start = std::chrono::steady_clock::now();
  if (mode == Mode::kWholeLogits) {
    // The step as crescent took it before 2026-12-05: the whole [rows,
    // positions, vocabulary] logits and their log-softmax, one graph.
    const auto& samples = batch[0].samples;
    const int64_t R = samples.size(), T = o.at("--length");
    torch::Tensor ids = torch::zeros({R, T}, torch::kLong), mask = torch::zeros({R, T - 1});
    torch::Tensor rewards = torch::zeros({R});
    for (int64_t r = 0; r < R; ++r) {
      const auto& s = samples[r];
      const int64_t p = s.prompt_tokens.size();
      for (int64_t t = 0; t < p; ++t) ids[r][t] = s.prompt_tokens[t];
      for (size_t j = 0; j < s.response_tokens.size(); ++j) ids[r][p + j] = s.response_tokens[j];
      mask.narrow(1, p - 1, T - p)[r].fill_(1);
      rewards[r] = s.reward;
    }
    model->train();
    optimizer.adam.zero_grad();
    torch::Tensor seq = (model::TokenLogprobs(model, ids) * mask).sum(1);
    trainer::KimiLoss(seq, seq.detach(), rewards, tc.tau).backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), tc.grad_clip);
    optimizer.adam.step();
  } else {
    trainer::UpdatePolicy(model, tc, batch, 1, one, optimizer);
  }
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.peak_kb = StatusKb("VmHWM");
  return m;
}

// MeasureStep in a forked child, so that no earlier peak counts.
bool MeasureInChild(Mode mode, const std::map<std::string, int64_t>& o, Measured* m) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[0]);
    const Measured r = MeasureStep(mode, o);
    (void)!write(fds[1], &r, sizeof r);
    _exit(0);
  }
  close(fds[1]);
  const bool read_all = read(fds[0], m, sizeof *m) == sizeof *m;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return read_all && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int MemoryBenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::map<std::string, int64_t> o = {{"--vocab", 151936},   {"--hidden", 64},
                                      {"--layers", 2},       {"--responses", 8},
                                      {"--length", 1024},    {"--micro-batch-tokens", 2048},
                                      {"--whole-logits", 1}, {"--threads", 1}};
  if (!ParseIntOptions(args, "bench memory", o)) return 2;
  if (o["--length"] < 2 || o["--responses"] < 1 || o["--hidden"] < 16 || o["--vocab"] < 2 ||
      o["--micro-batch-tokens"] < 1) {
    std::cerr << "crescent bench memory: needs --length >= 2, --responses >= 1, --hidden >= 16, "
                 "--vocab >= 2 and --micro-batch-tokens >= 1\n";
    return 2;
  }
  nlohmann::json j = {{"vocab", o["--vocab"]},    {"hidden", o["--hidden"]},
                      {"layers", o["--layers"]},  {"responses", o["--responses"]},
                      {"length", o["--length"]},  {"micro_batch_tokens", o["--micro-batch-tokens"]},
                      {"threads", o["--threads"]}};
  std::map<std::string, Measured> steps;
  std::vector<std::pair<const char*, Mode>> modes = {{"unsplit", Mode::kUnsplit},
                                                     {"micro_batched", Mode::kMicroBatched}};
  if (o["--whole-logits"] != 0) modes.insert(modes.begin(), {"whole_logits", Mode::kWholeLogits});
  for (const auto& [name, mode] : modes) {
    Measured m;
    if (!MeasureInChild(mode, o, &m)) {
      std::cerr << "crescent bench memory: the " << name
                << " step's process failed (out of memory?)\n";
      return 1;
    }
    steps[name] = m;
    j[name] = {{"loaded_mb", m.loaded_kb / 1024.0},
               {"extra_mb", (m.peak_kb - m.loaded_kb) / 1024.0},
               {"seconds", m.seconds}};
  }
  auto extra = [&](const char* name) {
    return static_cast<double>(steps[name].peak_kb - steps[name].loaded_kb);
  };
  j["micro_batched_extra_vs_unsplit"] = extra("micro_batched") / extra("unsplit");
  if (steps.count("whole_logits"))
    j["micro_batched_extra_vs_whole_logits"] = extra("micro_batched") / extra("whole_logits");
  j["micro_batched_seconds_vs_unsplit"] = steps["micro_batched"].seconds / steps["unsplit"].seconds;
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace crescent::bench
