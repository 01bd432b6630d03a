#include "common/model/bench.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/model/generator.hpp"
#include "common/model/llama.hpp"
#include "common/model/policy.hpp"

namespace crescent::model {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of f in steady state: two warm-up calls (the first calls
// also fault in memory the allocator has not handed out before: 10% of a
// training step's time on its second call), then at least `min_calls` calls
// and `min_s` seconds.
template <class F>
double Time(F&& f, double min_s = 0.5, int min_calls = 3) {
  f();
  f();
  int n = 0;
  const double start = Now();
  do {
    f();
    ++n;
  } while (Now() - start < min_s || n < min_calls);
  return (Now() - start) / n;
}

// GFLOP/s of x[m, k] @ w[n, k]^T forward (and, with backward, the two grads too).
double MatmulRate(int64_t m, int64_t k, int64_t n, bool backward) {
  torch::Tensor x = torch::randn({m, k}, torch::requires_grad(backward));
  torch::Tensor w = torch::randn({n, k}, torch::requires_grad(backward));
  const double flops = 2.0 * m * k * n * (backward ? 3 : 1);
  double s;
  if (backward) {
    torch::Tensor g = torch::ones({m, n});
    s = Time([&] {
      torch::Tensor y = torch::matmul(x, w.t());
      y.backward(g);
    });
  } else {
    torch::InferenceMode guard;
    s = Time([&] { torch::matmul(x, w.t()); });
  }
  return flops / s / 1e9;
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::map<std::string, int64_t> opt = {{"--hidden", 512}, {"--layers", 8}, {"--vocab", 8000},
                                        {"--batch", 32},   {"--seq", 128},  {"--new", 32},
                                        {"--threads", 1}};
  for (size_t i = 0; i < args.size(); ++i) {
    auto it = opt.find(args[i]);
    if (it == opt.end() || i + 1 >= args.size()) {
      std::cerr << "crescent bench model: unknown or incomplete option \"" << args[i] << "\"\n";
      return 2;
    }
    try {
      it->second = std::stoll(args[++i]);
    } catch (const std::exception&) {
      std::cerr << "crescent bench model: " << args[i - 1] << " needs a number\n";
      return 2;
    }
  }
  SetComputeThreads(static_cast<int>(opt["--threads"]));
  LlamaConfig c;
  c.hidden_size = opt["--hidden"];
  c.intermediate_size = c.hidden_size * 11 / 4;
  c.num_layers = opt["--layers"];
  c.num_heads = c.hidden_size / 64;
  c.num_kv_heads = c.num_heads;
  c.vocab_size = opt["--vocab"];
  c.max_positions = std::max<int64_t>(opt["--seq"], 8 + opt["--new"] + 1);
  c.tie_embeddings = true;
  const int64_t B = opt["--batch"], T = opt["--seq"], N = opt["--new"];
  const int64_t D = c.hidden_size, I = c.intermediate_size, V = c.vocab_size;
  torch::manual_seed(0);
  Llama model(c);
  int64_t params = 0;
  for (auto& p : model->parameters()) params += p.numel();
  // Matmul FLOPs per token (forward): projections, MLP, output head; attention
  // scores/values add 4 * D * context per layer.
  const double matmul_flops = 2.0 * (c.num_layers * (4 * D * D + 3 * D * I) + D * V);

  // Training: TokenLogprobs forward + backward on [B, T].
  torch::Tensor ids = torch::randint(V, {B, T}, torch::kLong);
  const double train_s = Time(
      [&] {
        model->zero_grad();
        TokenLogprobs(model, ids).sum().backward();
      },
      1.0);
  const double train_tokens = double(B) * (T - 1);
  const double train_flops = 3.0 * train_tokens * (matmul_flops + c.num_layers * 4.0 * D * T / 2);

  // Decode: B greedy requests, prompts of P = 8 tokens, N new tokens each; the
  // time includes the prefill, the FLOPs count it.
  const int64_t kPrompt = 8;
  std::vector<GenerationRequest> reqs(B);
  for (int64_t b = 0; b < B; ++b) {
    reqs[b].prompt.assign(kPrompt, (b * 7) % V);
    reqs[b].max_new_tokens = static_cast<int32_t>(N);
    reqs[b].temperature = 0;
  }
  const double gen_s = Time([&] { Generate(model, reqs, B); }, 1.0);
  const double gen_tokens = double(B) * N;
  const double gen_flops =
      gen_tokens * (matmul_flops + c.num_layers * 4.0 * D * (kPrompt + N / 2)) +
      double(B) * (kPrompt * (matmul_flops - 2.0 * D * V + c.num_layers * 4.0 * D * kPrompt / 2) +
                   2.0 * D * V);

  // References: a large square matmul, and the model's own matmul shapes alone.
  const double peak = MatmulRate(2048, 2048, 2048, false);
  const int64_t M = B * (T - 1);
  double own_train_s = 0, own_decode_s = 0, own_prefill_s = 0;
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{D, D}, {D, D}, {D, D}, {D, D},
                                                           {D, I}, {D, I}, {I, D}};
  for (auto [k, n] : shapes) {
    own_train_s += c.num_layers * 6.0 * M * k * n / (MatmulRate(M, k, n, true) * 1e9);
    own_decode_s += c.num_layers * 2.0 * B * k * n / (MatmulRate(B, k, n, false) * 1e9);
    own_prefill_s +=
        c.num_layers * 2.0 * B * kPrompt * k * n / (MatmulRate(B * kPrompt, k, n, false) * 1e9);
  }
  own_train_s += 6.0 * M * D * V / (MatmulRate(M, D, V, true) * 1e9);
  own_decode_s += 2.0 * B * D * V / (MatmulRate(B, D, V, false) * 1e9);
  own_prefill_s += 2.0 * B * D * V / (MatmulRate(B, D, V, false) * 1e9);  // last positions only
  // N batched decode steps, and one batched prefill of all B prompts (the
  // generator admits them together).
  own_decode_s = own_decode_s * N + own_prefill_s;

  nlohmann::json j = {{"params_millions", params / 1e6},
                      {"threads", opt["--threads"]},
                      {"batch", B},
                      {"train",
                       {{"seq", T},
                        {"tokens_per_s", train_tokens / train_s},
                        {"gflops", train_flops / train_s / 1e9},
                        {"mfu", train_flops / train_s / 1e9 / peak},
                        {"efficiency_vs_own_matmuls", own_train_s / train_s}}},
                      {"decode",
                       {{"prompt", kPrompt},
                        {"new_tokens", N},
                        {"tokens_per_s", gen_tokens / gen_s},
                        {"gflops", gen_flops / gen_s / 1e9},
                        {"mfu", gen_flops / gen_s / 1e9 / peak},
                        {"efficiency_vs_own_matmuls", own_decode_s / gen_s}}},
                      {"square_matmul_2048_gflops", peak}};
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace crescent::model
