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

// GFLOP/s of x[m, k] @ w[n, k]^T forward, one matrix multiplied again and
// again (it stays in cache).
double MatmulRate(int64_t m, int64_t k, int64_t n) {
  torch::InferenceMode guard;
  torch::Tensor x = torch::randn({m, k});
  torch::Tensor w = torch::randn({n, k});
  return 2.0 * m * k * n / Time([&] { torch::matmul(x, w.t()); }) / 1e9;
}

// Seconds of the model's own linear layers alone: x[rows, in] @ w^T for
// every weight matrix of the decoder layers, in the model's order and from
// its own memory (a decode step streams all of them), then the output head
// for `head_rows` rows. With backward, each product's two gradients too.
double OwnMatmulSeconds(Llama& model, int64_t rows, int64_t head_rows, bool backward) {
  std::vector<torch::Tensor> layers;
  torch::Tensor head;
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    if (item.value().dim() == 2 && name.rfind("layers.", 0) == 0)
      layers.push_back(item.value().detach());
    if (name == "lm_head.weight" || (name == "embed_tokens.weight" && !head.defined()))
      head = item.value().detach();
  }
  const auto& c = model->config();
  std::map<int64_t, torch::Tensor> inputs;  // by input width
  for (const auto& w : layers) inputs.emplace(w.size(1), torch::randn({rows, w.size(1)}));
  torch::Tensor head_in = torch::randn({head_rows, c.hidden_size});
  if (!backward) {
    torch::InferenceMode guard;
    return Time([&] {
      for (const auto& w : layers) torch::matmul(inputs[w.size(1)], w.t());
      torch::matmul(head_in, head.t());
    });
  }
  for (auto& [width, x] : inputs) x.requires_grad_(true);
  head_in.requires_grad_(true);
  for (auto& w : layers) w.requires_grad_(true);
  head.requires_grad_(true);
  return Time([&] {
    for (const auto& w : layers) {
      torch::Tensor y = torch::matmul(inputs[w.size(1)], w.t());
      y.backward(torch::ones_like(y));
    }
    torch::Tensor y = torch::matmul(head_in, head.t());
    y.backward(torch::ones_like(y));
  });
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::map<std::string, int64_t> opt = {{"--hidden", 512}, {"--layers", 8}, {"--vocab", 8000},
                                        {"--batch", 32},   {"--seq", 128},  {"--new", 32},
                                        {"--threads", 1},  {"--train", 1},  {"--decode", 1}};
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
  const bool run_train = opt["--train"] != 0, run_decode = opt["--decode"] != 0;
  const double train_s = !run_train ? 0
                                    : Time(
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
  const double gen_s = !run_decode ? 0 : Time([&] { Generate(model, reqs, B); }, 1.0);
  const double gen_tokens = double(B) * N;
  const double gen_flops =
      gen_tokens * (matmul_flops + c.num_layers * 4.0 * D * (kPrompt + N / 2)) +
      double(B) * (kPrompt * (matmul_flops - 2.0 * D * V + c.num_layers * 4.0 * D * kPrompt / 2) +
                   2.0 * D * V);

  // References: a large square matmul, and the model's own linear layers
  // alone at the same shapes: training on B x (T-1) rows; decoding as N
  // steps of B rows and one batched prefill of all B prompts (the generator
  // admits them together), whose output head runs for the last positions
  // only.
  const double peak = MatmulRate(2048, 2048, 2048);
  const double own_train_s =
      !run_train ? 0 : OwnMatmulSeconds(model, B * (T - 1), B * (T - 1), true);
  const double own_decode_s = !run_decode ? 0
                                          : N * OwnMatmulSeconds(model, B, B, false) +
                                                OwnMatmulSeconds(model, B * kPrompt, B, false);
  model->zero_grad();
  // The yardstick earlier versions used for decoding, kept for comparison:
  // one matrix per shape multiplied again and again, which stays in cache
  // while a decode step streams every layer's weights from memory.
  double cached_decode_s = 0;
  if (run_decode) {
    std::vector<std::pair<int64_t, int64_t>> shapes;  // (in, out) of each layer's matrices
    for (const auto& item : model->named_parameters())
      if (item.value().dim() == 2 && item.key().rfind("layers.0.", 0) == 0)
        shapes.emplace_back(item.value().size(1), item.value().size(0));
    auto seconds = [&](int64_t rows) {
      double s = 2.0 * B * D * V / (MatmulRate(B, D, V) * 1e9);
      for (auto [in, out] : shapes)
        s += c.num_layers * 2.0 * rows * in * out / (MatmulRate(rows, in, out) * 1e9);
      return s;
    };
    cached_decode_s = N * seconds(B) + seconds(B * kPrompt);
  }

  nlohmann::json j = {{"params_millions", params / 1e6},
                      {"threads", opt["--threads"]},
                      {"batch", B},
                      {"square_matmul_2048_gflops", peak}};
  if (run_train) {
    j["train"] = {{"seq", T},
                  {"tokens_per_s", train_tokens / train_s},
                  {"gflops", train_flops / train_s / 1e9},
                  {"mfu", train_flops / train_s / 1e9 / peak},
                  {"efficiency_vs_own_matmuls", own_train_s / train_s}};
  }
  if (run_decode) {
    j["decode"] = {{"prompt", kPrompt},
                   {"new_tokens", N},
                   {"tokens_per_s", gen_tokens / gen_s},
                   {"gflops", gen_flops / gen_s / 1e9},
                   {"mfu", gen_flops / gen_s / 1e9 / peak},
                   {"efficiency_vs_own_matmuls", own_decode_s / gen_s},
                   {"efficiency_vs_cached_matmuls", cached_decode_s / gen_s}};
  }
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace crescent::model
