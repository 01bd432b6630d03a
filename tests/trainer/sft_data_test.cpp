// `crescent sft` with sft.data_file on a tiny random Qwen3-shaped checkpoint
// with the real Qwen3 tokenizer and chat template: the training and held-out
// losses fall, each step stays within sft.token_budget, and RUN_DIR/sft is a
// policy directory that loads and generates.
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "trainer/sft.hpp"
#include <catch2/catch.hpp>
// clang-format on
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/model/generator.hpp"
#include "tests/common/process.hpp"
#include "tests/common/tiny_checkpoint.hpp"

namespace crescent::trainer {
namespace {

// A tiny Qwen3 checkpoint, written once.
const std::string& Qwen3Checkpoint() {
  static const std::string dir = testing::WriteTinyCheckpoint(
      testing::TempDir("crescent-sft-data-qwen3"), testing::TinyQwen3(), "qwen3");
  return dir;
}

// Arithmetic chats, some with a system turn, one per line.
std::string ChatFile(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    const std::string a = std::to_string(i % 10), b = std::to_string(i / 10 + 1);
    const std::string system =
        i % 3 == 0 ? R"({"role": "system", "content": "Answer with a number."}, )" : "";
    text += R"({"messages": [)" + system + R"({"role": "user", "content": "What is )" + a + "+" +
            b + R"(?"}, {"role": "assistant", "content": ")" +
            std::to_string(std::stoi(a) + std::stoi(b)) + "\"}]}\n";
  }
  const std::string path = testing::TempDir("crescent-sft-data-file") + "/chats.jsonl";
  testing::WriteFile(path, text);
  return path;
}

config::Config DataConfig(std::vector<std::string> settings) {
  std::vector<std::string> all = {"model.path=" + Qwen3Checkpoint(),
                                  "sft.data_file=" + ChatFile(40),
                                  "sft.heldout_fraction=0.2",
                                  "sft.lr=0.01",
                                  "sft.lr_schedule=constant",
                                  "sft.warmup_steps=0",
                                  "sft.seed=3"};
  all.insert(all.end(), settings.begin(), settings.end());
  return config::ParseConfig("", "<test>", all);
}

double Mean(const std::vector<SftStep>& steps, size_t from, size_t to) {
  double sum = 0;
  for (size_t i = from; i < to; ++i) sum += steps[i].loss;
  return sum / static_cast<double>(to - from);
}

}  // namespace

TEST_CASE("sft.data_file: SFT of a Qwen3 checkpoint on chats lowers training and held-out loss",
          "[trainer]") {
  torch::set_num_threads(1);
  const config::Config c = DataConfig({"sft.steps=24", "sft.token_budget=120"});
  model::Policy policy = model::LoadPolicy(c.model.path);
  const SftDocuments documents =
      LoadSftDocuments(c, policy.tokenizer, policy.model->config().max_positions, c.model.path);
  REQUIRE(documents.training.size() == 32);
  REQUIRE(documents.heldout.size() == 8);
  const SftDataRun run = TrainSftOnDocuments(policy, documents, c);
  REQUIRE(run.steps.size() == 24);
  std::set<int64_t> rows;
  for (const SftStep& s : run.steps) {
    CHECK(s.tokens <= 120);
    CHECK(s.tokens > 120 - 40);  // full: another document would not fit
    rows.insert(s.rows);
  }
  CHECK(rows.size() > 1);  // documents of different lengths: rows vary
  const double first = Mean(run.steps, 0, 5), last = Mean(run.steps, 19, 24);
  INFO("training loss " << first << " -> " << last);
  CHECK(last < 0.5 * first);
  REQUIRE(run.heldout_losses.size() == 2);  // at the start and the end
  CHECK(run.heldout_losses.front().first == 0);
  CHECK(run.heldout_losses.back().first == 24);
  const double before = run.heldout_losses.front().second;
  const double after = run.heldout_losses.back().second;
  INFO("held-out loss " << before << " -> " << after);
  CHECK(before > 10);  // about log(151936) for a random model
  CHECK(after < 0.5 * before);
  CHECK(after == Approx(SftLoss(policy, documents.heldout, c)));
}

TEST_CASE("crescent sft with sft.data_file saves RUN_DIR/sft, which loads and generates",
          "[trainer]") {
  torch::set_num_threads(1);
  const std::string run_dir = testing::TempDir("crescent-sft-data-run");
  const config::Config c = DataConfig({"run.dir=" + run_dir, "sft.steps=3", "sft.batch_size=4",
                                       "task.name=jsonl", "task.prompts_file=unused.jsonl"});
  const SftResult result = RunSft(c);
  CHECK(result.dir == run_dir + "/sft");
  CHECK(!result.heldout_accuracy);
  REQUIRE(result.heldout_loss);
  CHECK(*result.heldout_loss > 0);
  for (const char* f :
       {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    INFO(f);
    CHECK(std::filesystem::exists(result.dir + "/" + f));
  }
  model::Policy policy = model::LoadPolicy(result.dir);
  REQUIRE(policy.tokenizer.chat_template());
  // The saved weights are trained ones, not the checkpoint's.
  model::Policy original = model::LoadPolicy(Qwen3Checkpoint());
  const auto trained = policy.model->parameters(), initial = original.model->parameters();
  REQUIRE(trained.size() == initial.size());
  size_t changed = 0;
  for (size_t i = 0; i < trained.size(); ++i) changed += !torch::equal(trained[i], initial[i]);
  CHECK(changed == trained.size());
  CHECK(*result.heldout_loss ==
        Approx(SftLoss(policy, LoadSftDocuments(c, policy.tokenizer, 0, result.dir).heldout, c))
            .epsilon(1e-4));
  model::GenerationRequest r;
  r.prompt = policy.tokenizer.Encode(
      policy.tokenizer.chat_template()->Render({{"user", "What is 2+3?"}}, true));
  r.max_new_tokens = 6;
  r.temperature = 0;
  r.vocab_limit = policy.tokenizer.VocabSize();
  r.stop_tokens = policy.tokenizer.stop_ids();
  const auto out = model::Generate(policy.model, {r}, 1);
  REQUIRE(out.size() == 1);
  CHECK(!out[0].tokens.empty());
}

}  // namespace crescent::trainer
