#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "bench/bench.hpp"
#include "bench/int_options.hpp"
#include "bench/timing.hpp"
#include "common/model/generator.hpp"
#include "common/model/llama.hpp"
#include "common/model/policy.hpp"
#include "common/util/blas_kernels.hpp"

namespace crescent::bench {

using namespace model;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Times `parts` in rounds, one call of each per round, after two warm-up
// calls of each (the first calls also fault in memory the allocator has not
// handed out before: 10% of a training step's time on its second call).
// Calls of one round run seconds apart, so a ratio of two parts taken per
// round compares them under the same conditions on a shared machine whose
// speed drifts. Returns seconds[part][round].
std::vector<std::vector<double>> TimeRounds(const std::vector<std::function<void()>>& parts,
                                            int rounds) {
  for (int warm = 0; warm < 2; ++warm)
    for (const auto& f : parts) f();
  std::vector<std::vector<double>> seconds(parts.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < parts.size(); ++i) {
      const double t = Now();
      parts[i]();
      seconds[i].push_back(Now() - t);
    }
  }
  return seconds;
}

// The median over rounds of f(round).
template <class F>
double MedianOver(int rounds, F&& f) {
  std::vector<double> v;
  for (int r = 0; r < rounds; ++r) v.push_back(f(r));
  return Median(v);
}

// The model's weight matrices: each decoder layer's, in the model's order,
// and the output head.
struct Weights {
  std::vector<torch::Tensor> layers;
  torch::Tensor head;
};

Weights ModelWeights(Llama& model) {
  Weights w;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (item.value().dim() == 2 && name.rfind("layers.", 0) == 0)
      w.layers.push_back(item.value().detach());
    if (name == "lm_head.weight" || (name == "embed_tokens.weight" && !w.head.defined()))
      w.head = item.value().detach();
  }
  return w;
}

// One pass of the linear layers alone: x[rows, in] @ w^T for every matrix
// of `w.layers`, then the head for `head_rows` rows; inputs by width.
struct LinearPass {
  LinearPass(const Weights& weights, int64_t rows, int64_t head_rows, bool backward)
      : w(weights), backward(backward) {
    for (const auto& m : w.layers)
      inputs.emplace(m.size(1), torch::randn({rows, m.size(1)}, torch::requires_grad(backward)));
    head_in = torch::randn({head_rows, w.head.size(1)}, torch::requires_grad(backward));
    if (backward) {
      for (auto& m : w.layers) m.requires_grad_(true);
      w.head.requires_grad_(true);
    }
  }
  void operator()() {
    auto product = [&](const torch::Tensor& x, const torch::Tensor& m) {
      torch::Tensor y = torch::matmul(x, m.t());
      if (backward) y.backward(torch::ones_like(y));
    };
    for (const auto& m : w.layers) product(inputs[m.size(1)], m);
    product(head_in, w.head);
  }
  Weights w;
  bool backward;
  std::map<int64_t, torch::Tensor> inputs;
  torch::Tensor head_in;
};

}  // namespace

int ModelBenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::map<std::string, int64_t> opt = {
      {"--hidden", 512}, {"--layers", 8},  {"--vocab", 8000}, {"--batch", 32}, {"--seq", 128},
      {"--new", 32},     {"--threads", 1}, {"--train", 1},    {"--decode", 1}, {"--rounds", 3}};
  // --shape qwen3-0.6b: Qwen3-0.6B's architecture (its config.json), random
  // weights, and a batch that a 2-core machine times in minutes.
  std::string shape = "small";
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--shape") shape = args[i + 1];
  if (shape == "qwen3-0.6b") {
    opt["--hidden"] = 1024;
    opt["--layers"] = 28;
    opt["--vocab"] = 151936;
    opt["--batch"] = 4;
    opt["--new"] = 16;
  } else if (shape != "small") {
    std::cerr << "crescent bench model: --shape is small or qwen3-0.6b, not \"" << shape << "\"\n";
    return 2;
  }
  if (!ParseIntOptions(args, "bench model", opt, {"--shape"})) return 2;
  SetComputeThreads(static_cast<int>(opt["--threads"]));
  LlamaConfig c;
  c.hidden_size = opt["--hidden"];
  c.intermediate_size = c.hidden_size * 11 / 4;
  c.num_layers = opt["--layers"];
  c.num_heads = c.hidden_size / 64;
  c.num_kv_heads = c.num_heads;
  if (shape == "qwen3-0.6b") {
    c.model_type = "qwen3";
    c.qk_norm = true;
    c.intermediate_size = 3072;
    c.num_heads = 16;
    c.num_kv_heads = 8;
    c.explicit_head_dim = 128;
  }
  c.vocab_size = opt["--vocab"];
  c.max_positions = std::max<int64_t>(opt["--seq"], 8 + opt["--new"] + 1);
  c.tie_embeddings = true;
  const int64_t B = opt["--batch"], T = opt["--seq"], N = opt["--new"];
  const int64_t D = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  // Widths of the attention: all query heads, all key/value heads.
  const int64_t Q = c.num_heads * c.head_dim(), K = c.num_kv_heads * c.head_dim();
  torch::manual_seed(0);
  Llama model(c);
  int64_t params = 0;
  for (auto& p : model->parameters()) params += p.numel();
  const int rounds = static_cast<int>(std::max<int64_t>(1, opt["--rounds"]));
  // Matmul FLOPs per token (forward): projections, MLP, output head; attention
  // scores/values add 4 * Q * context per layer.
  const double matmul_flops = 2.0 * (c.num_layers * (2 * D * Q + 2 * D * K + 3 * D * I) + D * V);
  // The MFU reference: a large square matmul, one call per round.
  torch::Tensor square = torch::randn({2048, 2048});
  auto square_matmul = [&] {
    torch::InferenceMode guard;
    torch::matmul(square, square);
  };
  const double square_flops = 2.0 * 2048 * 2048 * 2048;
  const Weights weights = ModelWeights(model);

  nlohmann::json j = {{"shape", shape},
                      {"params_millions", params / 1e6},
                      {"threads", opt["--threads"]},
                      {"batch", B},
                      {"rounds", rounds}};
  std::vector<double> peaks;  // GFLOP/s of the square matmul, every round of both parts

  // Training: TokenLogprobs forward + backward on [B, T], against the same
  // linear layers alone, forward and both gradients, on B x (T-1) rows.
  if (opt["--train"] != 0) {
    torch::Tensor ids = torch::randint(V, {B, T}, torch::kLong);
    LinearPass own(weights, B * (T - 1), B * (T - 1), true);
    auto t = TimeRounds({[&] {
                           model->zero_grad();
                           TokenLogprobs(model, ids).sum().backward();
                         },
                         own, square_matmul},
                        rounds);
    model->zero_grad();
    const double tokens = double(B) * (T - 1);
    const double flops = 3.0 * tokens * (matmul_flops + c.num_layers * 4.0 * Q * T / 2);
    for (double s : t[2]) peaks.push_back(square_flops / s / 1e9);
    j["train"] = {
        {"seq", T},
        {"tokens_per_s", tokens / Median(t[0])},
        {"gflops", flops / Median(t[0]) / 1e9},
        {"mfu",
         MedianOver(rounds, [&](int r) { return flops / t[0][r] / (square_flops / t[2][r]); })},
        {"efficiency_vs_own_matmuls",
         MedianOver(rounds, [&](int r) { return t[1][r] / t[0][r]; })}};
  }

  // Decode: B greedy requests, prompts of P = 8 tokens, N new tokens each; the
  // time includes the prefill, the FLOPs count it. References: the model's
  // own linear layers alone for one batched prefill of all B prompts (the
  // generator admits them together; the head runs for the last positions
  // only) and N steps of B rows; and the same products with one matrix per
  // shape, multiplied again and again (the yardstick before 2026-12-01), which
  // stays in cache while a decode step reads every layer's weights from
  // memory.
  if (opt["--decode"] != 0) {
    const int64_t kPrompt = 8;
    std::vector<GenerationRequest> reqs(B);
    for (int64_t b = 0; b < B; ++b) {
      reqs[b].prompt.assign(kPrompt, static_cast<tok::TokenId>((b * 7) % V));
      reqs[b].max_new_tokens = static_cast<int32_t>(N);
      reqs[b].temperature = 0;
    }
    Weights cached;  // layer 0's matrices, standing in for every layer's
    cached.head = weights.head;
    const size_t per_layer = weights.layers.size() / c.num_layers;
    for (int64_t l = 0; l < c.num_layers; ++l)
      for (size_t i = 0; i < per_layer; ++i) cached.layers.push_back(weights.layers[i]);
    LinearPass own_prefill(weights, B * kPrompt, B, false), own_step(weights, B, B, false);
    LinearPass cached_prefill(cached, B * kPrompt, B, false), cached_step(cached, B, B, false);
    auto decode_pass = [N](LinearPass* prefill, LinearPass* step) {
      return [=] {
        torch::InferenceMode guard;
        (*prefill)();
        for (int64_t n = 0; n < N; ++n) (*step)();
      };
    };
    auto t = TimeRounds({[&] { Generate(model, reqs, B); }, decode_pass(&own_prefill, &own_step),
                         decode_pass(&cached_prefill, &cached_step), square_matmul},
                        rounds);
    const double tokens = double(B) * N;
    const double flops =
        tokens * (matmul_flops + c.num_layers * 4.0 * Q * (kPrompt + N / 2)) +
        double(B) * (kPrompt * (matmul_flops - 2.0 * D * V + c.num_layers * 4.0 * Q * kPrompt / 2) +
                     2.0 * D * V);
    for (double s : t[3]) peaks.push_back(square_flops / s / 1e9);
    j["decode"] = {
        {"prompt", kPrompt},
        {"new_tokens", N},
        {"tokens_per_s", tokens / Median(t[0])},
        {"gflops", flops / Median(t[0]) / 1e9},
        {"mfu",
         MedianOver(rounds, [&](int r) { return flops / t[0][r] / (square_flops / t[3][r]); })},
        {"efficiency_vs_own_matmuls", MedianOver(rounds, [&](int r) { return t[1][r] / t[0][r]; })},
        {"efficiency_vs_cached_matmuls",
         MedianOver(rounds, [&](int r) { return t[2][r] / t[0][r]; })}};
  }
  if (!peaks.empty()) j["square_matmul_2048_gflops"] = Median(peaks);
  j["blas_kernels"] = util::BlasKernels();
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace crescent::bench
