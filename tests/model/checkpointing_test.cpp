// Activation checkpointing: the same loss and gradients, and far less peak
// memory on a long sequence (measured as the growth of the peak resident set
// of a forked child that runs one forward+backward).
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "common/model/llama.hpp"
// Catch after LibTorch: both define CHECK.
#include <catch2/catch.hpp>

using namespace crescent::model;

namespace {

LlamaConfig Config(int64_t max_positions) {
  LlamaConfig c;
  c.vocab_size = 50;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_layers = 6;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.max_positions = max_positions;
  return c;
}

// Loss and every parameter's gradient after one forward+backward.
std::pair<double, std::vector<torch::Tensor>> Grads(bool checkpointing) {
  torch::manual_seed(11);
  Llama m(Config(64));
  m->set_activation_checkpointing(checkpointing);
  torch::manual_seed(12);
  torch::Tensor ids = torch::randint(0, 50, {3, 40}, torch::kLong);
  torch::Tensor loss = -TokenLogprobs(m, ids).sum();
  loss.backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : m->parameters()) grads.push_back(p.grad().clone());
  return {loss.item<double>(), grads};
}

int64_t PeakKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

// Peak resident growth (KiB) of one forward+backward over a long sequence,
// in a fresh child so that peaks of earlier work do not count.
int64_t PeakGrowthKb(bool checkpointing) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    torch::set_num_threads(1);
    torch::manual_seed(5);
    Llama m(Config(1024));
    m->set_activation_checkpointing(checkpointing);
    torch::Tensor ids = torch::randint(0, 50, {2, 1024}, torch::kLong);
    const int64_t before = PeakKb();
    (-TokenLogprobs(m, ids).sum()).backward();
    const int64_t growth = PeakKb() - before;
    (void)!write(pipe_fds[1], &growth, sizeof growth);
    _exit(0);
  }
  close(pipe_fds[1]);
  int64_t growth = -1;
  REQUIRE(read(pipe_fds[0], &growth, sizeof growth) == sizeof growth);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  return growth;
}

}  // namespace

TEST_CASE("activation checkpointing gives the same loss and gradients", "[model]") {
  torch::set_num_threads(1);
  auto [plain_loss, plain] = Grads(false);
  auto [ckpt_loss, ckpt] = Grads(true);
  CHECK(ckpt_loss == Approx(plain_loss).epsilon(1e-6));
  REQUIRE(plain.size() == ckpt.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    INFO("parameter " << i);
    CHECK(torch::allclose(plain[i], ckpt[i], 1e-5, 1e-6));
  }
}

TEST_CASE("activation checkpointing cuts peak memory by at least 40% on a long sequence",
          "[model]") {
  const int64_t plain = PeakGrowthKb(false), ckpt = PeakGrowthKb(true);
  INFO("peak growth: " << plain << " KiB without, " << ckpt << " KiB with checkpointing");
  REQUIRE(plain > 0);
  CHECK(ckpt <= 0.6 * plain);
  WARN("activation checkpointing, 6 layers, 2 x 1024 tokens: peak growth " << plain << " -> "
                                                                           << ckpt << " KiB");
}
