// A real model end to end, as a user takes it: `crescent model init` around a
// real Hugging Face tokenizer (Qwen3's, Llama 3's), `crescent sft` on a chat
// JSONL, `crescent run` through all four roles on chat prompts, `crescent
// export`; then the exported directory is checked against the checkpoint and
// the source, and reloaded.
// LibTorch before Catch2: glog's CHECK must not replace Catch2's.
// clang-format off
#include "common/model/policy.hpp"
#include <catch2/catch.hpp>
// clang-format on

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/model/generator.hpp"
#include "common/model/pretrained.hpp"
#include "common/run/run_dir.hpp"
#include "tests/common/json_lines.hpp"
#include "tests/common/process.hpp"
#include "tests/launch/tiny_model_runs.hpp"

using namespace crescent;
using crescent::testing::InitTinyModel;
using crescent::testing::Process;
using crescent::testing::Succeed;
using crescent::testing::TinyRunCommand;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kCrescent = CRESCENT_BINARY;

// Chat-math style data: "What is a plus b?" answered by a worked line ending
// in \boxed{a+b}. SFT pairs for 0 <= a, b < 8; RL prompts (with an answer and
// where the recording plug-in writes) for a few of them.
void WriteData(const std::string& root) {
  std::ofstream sft(root + "/sft.jsonl"), train(root + "/train.jsonl");
  for (int a = 0; a < 8; ++a) {
    for (int b = 0; b < 8; ++b) {
      const std::string q = "What is " + std::to_string(a) + " plus " + std::to_string(b) + "?";
      const std::string s = std::to_string(a + b);
      const json chat = {{"role", "user"}, {"content", q}};
      sft << json({{"messages",
                    {chat,
                     {{"role", "assistant"},
                      {"content", std::to_string(a) + " + " + std::to_string(b) + " = " + s +
                                      ". The answer is \\boxed{" + s + "}."}}}}})
                 .dump()
          << "\n";
      if ((a + b) % 5 == 0) {
        train << json({{"id", "p" + std::to_string(a) + std::to_string(b)},
                       {"messages", {chat}},
                       {"answer", s},
                       {"record_to", root + "/rewarded.jsonl"}})
                     .dump()
              << "\n";
      }
    }
  }
}

struct Case {
  std::string name;       // the tokenizer fixture
  std::string user_open;  // how the template opens a user turn
  std::vector<std::string> init_flags;
};

}  // namespace

TEST_CASE("a random Qwen3 or Llama model with its real tokenizer: sft, run, export", "[launch]") {
  const Case c = GENERATE(
      Case{"qwen3",
           "<|im_start|>user\n",
           {"--arch", "qwen3", "--vocab", "151936", "--dtype", "bfloat16", "--head-dim", "8"}},
      Case{"llama3",
           "<|start_header_id|>user<|end_header_id|>\n\n",
           {"--arch", "llama", "--tie-embeddings", "false", "--eos", "<|eot_id|>", "--eos",
            "<|end_of_text|>"}});
  INFO(c.name);
  const std::string root = crescent::testing::TempDir("crescent-real-model-" + c.name);
  const std::string model = root + "/model", run = root + "/run", out = root + "/exported";
  WriteData(root);

  std::vector<std::string> flags = {"--kv-heads", "2", "--max-positions", "256"};
  flags.insert(flags.end(), c.init_flags.begin(), c.init_flags.end());
  InitTinyModel(c.name, model, flags);

  auto command = [&](const std::string& verb) {
    return TinyRunCommand(verb, root, model, run,
                          {"trainer.checkpoint_every=1",
                           std::string("reward.functions=[math, ") + PLUGIN_RECORD + "]"});
  };
  const std::string sft_log = Succeed(command("sft"), root + "/sft.log");
  CHECK(sft_log.find("held-out loss") != std::string::npos);
  const std::string run_log = Succeed(command("run"), root + "/run.log");
  // RL starts from what SFT wrote, not from model.path.
  CHECK(run_log.find("the policy starts from " + run + "/sft") != std::string::npos);

  // The reward plug-in was given the rendered chat and the decoded response:
  // after this short SFT, sampled at temperature 1, most responses hold
  // words of the worked answers.
  const std::vector<json> rewarded =
      testing::ParseJsonLines(testing::ReadFile(root + "/rewarded.jsonl"));
  REQUIRE(rewarded.size() >= 8);
  size_t worded = 0;
  for (const json& r : rewarded) {
    const std::string prompt = r["prompt"], response = r["response"];
    INFO(prompt << " -> " << response);
    CHECK(prompt.find(c.user_open + "What is ") != std::string::npos);
    worded +=
        response.find("answer") != std::string::npos || response.find("boxed") != std::string::npos;
  }
  CHECK(worded * 2 >= rewarded.size());

  // Metrics show rewards and response lengths.
  size_t iterations = 0;
  for (const json& j : testing::ParseJsonLines(testing::ReadFile(run + "/metrics.jsonl"))) {
    if (!j.contains("iteration")) continue;
    ++iterations;
    CHECK(j["mean_reward"].is_number());
    CHECK(j["mean_response_length"].get<double>() > 2);
  }
  CHECK(iterations == 3);

  // The export equals the run's newest checkpoint, with the source's tensor
  // names, shapes and dtypes, and reloads as a policy that generates.
  Succeed({kCrescent, "export", run, out}, root + "/export.log");
  const auto source = model::ReadSafetensors(model + "/model.safetensors");
  const auto exported = model::ReadSafetensors(out + "/model.safetensors");
  const std::optional<run::Checkpoint> latest = run::LatestCheckpoint(run);
  REQUIRE(latest);
  CHECK(latest->iteration == 3);
  const auto checkpoint = model::ReadSafetensors(latest->dir + "/model.safetensors");
  REQUIRE(exported.size() == source.size());
  bool trained = false;
  for (const auto& [name, t] : source) {
    INFO(name);
    REQUIRE(exported.count(name));
    CHECK(exported.at(name).scalar_type() == t.scalar_type());
    CHECK(exported.at(name).sizes() == t.sizes());
    CHECK(torch::equal(exported.at(name), checkpoint.at(name)));
    trained = trained || !torch::equal(exported.at(name), t);
  }
  CHECK(trained);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    CHECK(crescent::testing::ReadFile(out + "/" + f) ==
          crescent::testing::ReadFile(model + "/" + f));

  model::Policy policy = model::LoadPolicy(out);
  model::GenerationRequest request;
  request.prompt = policy.tokenizer.EncodePrompt("What is 2 plus 3?");
  request.max_new_tokens = 4;
  request.temperature = 0;
  const auto results = model::Generate(policy.model, {request}, 1);
  REQUIRE(results.size() == 1);
  CHECK(results[0].tokens.size() <= 4);
}

TEST_CASE(
    "rollout.kv_cache_mb: too small is refused before mpirun, beyond the host stops the rollout "
    "worker, and a bounded cache runs",
    "[launch]") {
  // Two layers of 4 KV heads of 128: 8 KiB of cache a token, so 1 MiB holds
  // 128 tokens; the chat prompts are about 20 tokens.
  const std::string root = crescent::testing::TempDir("crescent-kv-cache-mb");
  const std::string model = root + "/model";
  WriteData(root);
  InitTinyModel("qwen3", model,
                {"--kv-heads", "4", "--head-dim", "128", "--max-positions", "4096"});
  auto run = [&](const std::string& name, const std::vector<std::string>& sets) {
    std::vector<std::string> all = {"run.iterations=1", "reward.functions=[math]"};
    all.insert(all.end(), sets.begin(), sets.end());
    Process p(TinyRunCommand("run", root, model, root + "/" + name, all),
              root + "/" + name + ".log");
    const int rc = p.Wait(std::chrono::minutes(4));
    if (rc == -1) testing::KillProcessTree(p.pid());
    return std::make_pair(rc, p.Output());
  };

  auto [small_rc, small] =
      run("small", {"rollout.kv_cache_mb=1", "rollout.max_response_tokens=200"});
  INFO(small);
  CHECK(small_rc > 0);
  CHECK(small.find("rollout.kv_cache_mb (--set rollout.kv_cache_mb): 1 MiB holds 128 tokens of the "
                   "KV cache of " +
                   model + " (8192 bytes a token), fewer than its longest sequence") !=
        std::string::npos);
  CHECK(small.find(" worker ") == std::string::npos);  // mpirun was never started

  auto [huge_rc, huge] = run("huge", {"rollout.kv_cache_mb=100000000"});
  INFO(huge);
  CHECK(huge_rc > 0);
  // Named by the rollout worker, with the line of the run's config.yaml.
  CHECK(huge.find("rollout.kv_cache_mb (" + root + "/huge/config.yaml:") != std::string::npos);
  CHECK(huge.find("is 100000000 MiB, more than this host's") != std::string::npos);
  CHECK(huge.find("] rank 2 on host ") != std::string::npos);

  // 128 tokens of cache: a sequence of a chat prompt and 24 new tokens fits
  // two or three at a time, and the run goes through.
  auto [bounded_rc, bounded] = run("bounded", {"rollout.kv_cache_mb=1"});
  INFO(bounded);
  CHECK(bounded_rc == 0);
}
