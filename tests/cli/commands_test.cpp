// The tool subcommands of cli/commands.hpp, called in-process, and how the
// program itself takes its arguments and chooses its BLAS kernels.
#include "cli/commands.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <utility>

#include "common/run/run_dir.hpp"
#include "common/tokenizer/policy_tokenizer.hpp"
#include "replay/buffer.hpp"
#include "tests/common/process.hpp"
#include "tests/tokenizer/fixtures.hpp"

namespace crescent::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace replay;

const std::string kTinyLlama = std::string(CRESCENT_SOURCE_DIR) + "/tests/fixtures/tiny-llama";

json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST_CASE("run and sft and config take one CONFIG and --set and refuse the rest", "[cli]") {
  const std::string dir = testing::TempDir("crescent-config-args");
  auto crescent = [&](std::vector<std::string> args) {
    args.insert(args.begin(), CRESCENT_BINARY);
    testing::Process p(args, dir + "/out.log");
    const int code = p.Wait(std::chrono::seconds(60));
    return std::make_pair(code, p.Output());
  };
  testing::WriteFile(dir + "/a.yaml", "run:\n  iterations: 3\n");
  auto [code, out] = crescent({"config", "check", dir + "/a.yaml", "--set", "run.seed=4"});
  CHECK(code == 0);
  CHECK(out.find(dir + "/a.yaml: ok") != std::string::npos);
  std::tie(code, out) = crescent({"config", "show", dir + "/a.yaml", "--set=run.seed=4"});
  CHECK(code == 0);
  CHECK(out.find("iterations: 3") != std::string::npos);
  CHECK(out.find("seed: 4") != std::string::npos);
  std::tie(code, out) = crescent({"config", "check", "--set"});
  CHECK(code != 0);
  CHECK(out.find("--set needs a value") != std::string::npos);
  std::tie(code, out) = crescent({"run", dir + "/a.yaml", dir + "/b.yaml"});
  CHECK(code != 0);
  CHECK(out.find("usage: crescent run [CONFIG]") != std::string::npos);
  std::tie(code, out) = crescent({"sft", "--bogus"});
  CHECK(code != 0);
  CHECK(out.find("unknown argument \"--bogus\"") != std::string::npos);
  std::tie(code, out) = crescent({"config", "bogus"});
  CHECK(code == 2);
}

// The OpenBLAS kernels `crescent bench` ran with, OPENBLAS_CORETYPE set to
// `coretype` ("" for unset).
std::string BenchKernels(const std::string& coretype) {
  const std::string dir = testing::TempDir("crescent-blas");
  std::vector<std::string> argv = {"env", "-u", "OPENBLAS_CORETYPE"};
  if (!coretype.empty()) argv.push_back("OPENBLAS_CORETYPE=" + coretype);
  for (const char* arg : {CRESCENT_BINARY, "bench", "--hidden", "64", "--layers", "1", "--vocab",
                          "50", "--batch", "2", "--new", "2", "--train", "0"}) {
    argv.push_back(arg);
  }
  testing::Process p(argv, dir + "/out.log");
  REQUIRE(p.Wait(std::chrono::seconds(120)) == 0);
  const std::string out = p.Output();
  INFO(out);
  return json::parse(out.substr(out.find('{')))["blas_kernels"].get<std::string>();
}

TEST_CASE("computing commands run OpenBLAS's AVX2 or AVX-512 kernels where the processor has them",
          "[cli]") {
  __builtin_cpu_init();
  // OpenBLAS 0.3.21 falls back to its SSE3 Prescott kernels on processors
  // newer than it knows; crescent re-executes itself with better ones.
  const std::string kernels = BenchKernels("");
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    CHECK(kernels != "Prescott");
    CHECK(BenchKernels("Haswell") == "Haswell");
  }
  // A user's setting stands.
  CHECK(BenchKernels("Prescott") == "Prescott");
}

TEST_CASE("replay stats and dump read a buffer that a job holds", "[cli]") {
  const std::string run = testing::TempDir("crescent-inspect");
  ReplayBuffer buffer(Env::Posix(), run + "/replay", JournalOptions{});
  AddSegment a;
  a.trajectory_id = 2;
  a.segment = {SegmentSource::kPolicy, {7, 8, 9}, {-1, -2, -3}, 0, 1};
  a.finish = FinishReason::kBudget;
  AddSegment b = a;
  b.trajectory_id = 1;
  b.finish = FinishReason::kRepeat;
  buffer.Commit({StartGroup{1, {"p", "1+1=", {}}, 1, {1, 2}}, a, b});
  std::ostringstream stats, dump;
  REQUIRE(ReplayCommand({"stats", run}, stats) == 0);
  auto j = json::parse(stats.str());
  CHECK(j["groups_by_state"]["collecting"] == 1);
  CHECK(j["trajectories_by_finish"]["unfinished"] == 1);
  CHECK(j["trajectories_by_finish"]["repeat"] == 1);
  CHECK(j["unfinished_response_tokens"] == 3);
  REQUIRE(ReplayCommand({"dump", run}, dump) == 0);
  std::istringstream lines(dump.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto t = json::parse(line);
    CHECK(t["segments"][0]["token_ids"] == std::vector<int>{7, 8, 9});
    ++n;
  }
  CHECK(n == 2);
  std::ostringstream usage;
  CHECK(ReplayCommand({"stats"}, usage) == 2);
}

TEST_CASE("tokenize command encodes JSON strings and decodes JSON arrays", "[cli]") {
  std::string path = tok::testing::FixturePath("llama3");
  std::istringstream in("\"Hello, world!\"\n\"<|eot_id|>\"\n");
  std::ostringstream out;
  CHECK(TokenizeCommand({"--tokenizer", path}, in, out) == 0);
  CHECK(out.str() == "[9906,11,1917,0]\n[128009]\n");
  std::istringstream back("[9906,11,1917,0]\n");
  std::ostringstream text;
  CHECK(TokenizeCommand({"--tokenizer", path, "--decode"}, back, text) == 0);
  CHECK(text.str() == "\"Hello, world!\"\n");
  std::istringstream none;
  CHECK_THROWS_WITH(TokenizeCommand({"--bogus"}, none, text), Catch::Contains("usage"));
}

TEST_CASE("model logits prints the fixture's reference logits, one row a position", "[cli]") {
  const json tokens = ReadJsonFile(kTinyLlama + "/tokens.json");
  const json expect = ReadJsonFile(kTinyLlama + "/logits.json");
  std::istringstream in(tokens.dump());
  std::ostringstream out;
  REQUIRE(ModelLogitsCommand({"--model", kTinyLlama + "/hf"}, in, out) == 0);
  std::istringstream lines(out.str());
  size_t row = 0;
  for (std::string line; std::getline(lines, line); ++row) {
    json r = json::parse(line);
    REQUIRE(r.size() == 97);
    CHECK(r[5].get<double>() == Approx(expect[row][5].get<double>()).margin(1e-4));
  }
  CHECK(row == 24);
  std::istringstream bad("[1, 2, 500]");
  CHECK(ModelLogitsCommand({"--model", kTinyLlama + "/hf"}, bad, out) == 1);
  CHECK(ModelLogitsCommand({}, bad, out) == 2);
}

TEST_CASE("model init writes a random model around a real tokenizer as a policy directory",
          "[cli]") {
  const std::string root = testing::TempDir("crescent-model-init");
  const std::string llama3 = tok::testing::FixturePath("llama3");
  std::ostringstream out;
  auto init = [&](const std::string& dir, std::vector<std::string> more) {
    std::vector<std::string> args = {
        "--tokenizer", llama3, "--out",   dir, "--arch",     "llama", "--hidden",       "16",
        "--layers",    "1",    "--heads", "2", "--kv-heads", "1",     "--intermediate", "24"};
    args.insert(args.end(), more.begin(), more.end());
    return ModelInitCommand(args, out);
  };
  REQUIRE(init(root + "/a", {"--eos", "<|eot_id|>", "--eos", "<|end_of_text|>"}) == 0);
  const json config = ReadJsonFile(root + "/a/config.json");
  CHECK(config["model_type"] == "llama");
  CHECK(config["vocab_size"] == 128256);  // the tokenizer's 128,256 entries, a multiple of 128
  CHECK(config["hidden_size"] == 16);
  CHECK_FALSE(config.contains("bos_token_id"));  // this tokenizer adds none; its template does
  CHECK(config["eos_token_id"] == std::vector<int>{128009, 128001});
  CHECK(ReadJsonFile(root + "/a/generation_config.json")["eos_token_id"] ==
        std::vector<int>{128009, 128001});
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    CHECK(testing::ReadFile(root + "/a/" + f) == testing::ReadFile(llama3 + "/" + f));
  const tok::PolicyTokenizer policy = tok::LoadPolicyTokenizer(root + "/a");
  CHECK(policy.stop_ids() == std::vector<tok::TokenId>{128009, 128001});
  CHECK(policy.chat_template().has_value());
  CHECK_FALSE(fs::exists(root + "/a.init-tmp"));

  // --seed chooses the weights; without --eos the tokenizer's own stop id.
  // Missing parent directories are made.
  REQUIRE(init(root + "/b", {}) == 0);
  REQUIRE(init(root + "/new/parent/b", {}) == 0);
  CHECK(testing::ReadFile(root + "/new/parent/b/model.safetensors") ==
        testing::ReadFile(root + "/b/model.safetensors"));
  REQUIRE(init(root + "/c", {"--seed", "2"}) == 0);
  CHECK(ReadJsonFile(root + "/b/config.json")["eos_token_id"] == 128001);
  CHECK(testing::ReadFile(root + "/a/model.safetensors") ==
        testing::ReadFile(root + "/b/model.safetensors"));
  CHECK(testing::ReadFile(root + "/b/model.safetensors") !=
        testing::ReadFile(root + "/c/model.safetensors"));

  auto error = [&](const std::string& dir, const std::vector<std::string>& more) {
    try {
      init(dir, more);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error(root + "/d", {"--vocab", "1000"}),
             Catch::Contains("--vocab 1000 is smaller than the 128256 entries"));
  CHECK_THAT(error(root + "/d", {"--eos", "<|nothing|>"}),
             Catch::Contains("--eos: \"<|nothing|>\" is not a token of"));
  CHECK_THAT(error(root + "/d", {"--arch", "gpt2"}), Catch::Contains("--arch: \"gpt2\""));
  CHECK_THAT(error(root + "/d", {"--heads", "3"}), Catch::Contains("--heads: 3 does not divide"));
  CHECK_THAT(error(root + "/d", {"--layers", "x"}), Catch::Contains("--layers: \"x\""));
  CHECK_THAT(error(root + "/a", {}), Catch::Contains("exists and is not an empty directory"));
  CHECK_FALSE(fs::exists(root + "/d"));
}

// A run directory's checkpoint of `version`, as a trainer publishes it.
void PublishFakeCheckpoint(const std::string& run, int64_t version) {
  const std::string staged = run::StageCheckpoint(run, version);
  const std::string v = std::to_string(version);
  testing::WriteFile(staged + "/config.json", R"({"model_type": "llama", "vocab_size": 16})");
  testing::WriteFile(staged + "/model.safetensors", "weights of version " + v);
  testing::WriteFile(staged + "/alphabet.txt", "0123456789+-*=\n");
  testing::WriteFile(staged + "/optimizer.pt", "optimizer " + v);
  run::PublishCheckpoint(run, staged, version * 10, version);
}

TEST_CASE("export copies a kept policy version out as a Hugging Face directory", "[cli]") {
  const std::string root = testing::TempDir("crescent-export");
  const std::string run = root + "/run";
  fs::create_directories(run);
  for (int64_t v : {1, 2, 3}) PublishFakeCheckpoint(run, v);  // keeps 2 and 3
  auto check_exported = [&](const std::string& dir, int64_t version) {
    const std::string from = run + "/checkpoints/v0000000" + std::to_string(version);
    for (const char* f : {"config.json", "model.safetensors", "alphabet.txt"}) {
      INFO(f);
      CHECK(testing::ReadFile(dir + "/" + f) == testing::ReadFile(from + "/" + f));
    }
    CHECK_FALSE(fs::exists(dir + "/optimizer.pt"));
    CHECK_FALSE(fs::exists(dir + "/checkpoint.json"));
    CHECK_FALSE(fs::exists(dir + ".export-tmp"));
  };
  std::ostringstream out;
  REQUIRE(ExportCommand({run, root + "/v2", "--version", "2"}, out) == 0);
  check_exported(root + "/v2", 2);
  CHECK(out.str().find("exported policy version 2 (iteration 20)") != std::string::npos);
  REQUIRE(ExportCommand({run, root + "/newest/"}, out) == 0);
  check_exported(root + "/newest", 3);
  fs::create_directories(root + "/empty");
  REQUIRE(ExportCommand({run, root + "/empty", "--version=3"}, out) == 0);
  check_exported(root + "/empty", 3);

  auto error = [&](const std::vector<std::string>& args) {
    try {
      ExportCommand(args, out);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error({run, root + "/v1", "--version", "1"}),
             Catch::Contains("policy version 1 is not kept") && Catch::Contains("kept: 2, 3"));
  CHECK_THAT(error({run, root + "/v9", "--version", "9"}), Catch::Contains("kept: 2, 3"));
  CHECK_FALSE(fs::exists(root + "/v1"));
  CHECK_THAT(error({run, root + "/v2"}), Catch::Contains(root + "/v2 exists and is not an empty"));
  CHECK_THAT(error({run, root + "/x", "--version", "two"}), Catch::Contains("not a number"));
  CHECK_THAT(error({run}), Catch::Contains("usage: crescent export"));
  CHECK_THAT(error({root + "/no-run", root + "/x"}), Catch::Contains("no checkpoint"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace crescent::cli
