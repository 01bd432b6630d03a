// `crescent bench model`, `journal` and `memory` at small sizes: they
// run and print the figures docs/perf.md quotes.
#include "bench/bench.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

namespace crescent::bench {
namespace {

using nlohmann::json;

TEST_CASE("the model benchmark runs on a small model and prints its figures", "[bench]") {
  std::ostringstream out;
  REQUIRE(ModelBenchCommand({"--hidden", "64", "--layers", "1", "--vocab", "50", "--batch", "2",
                             "--seq", "8", "--new", "2"},
                            out) == 0);
  json j = json::parse(out.str());
  CHECK(j["train"]["tokens_per_s"].get<double>() > 0);
  CHECK(j["decode"]["tokens_per_s"].get<double>() > 0);
  for (const char* part : {"train", "decode"})
    CHECK(j[part]["efficiency_vs_own_matmuls"].get<double>() > 0);
  CHECK(j["decode"]["efficiency_vs_cached_matmuls"].get<double>() > 0);
  std::ostringstream decode_only;
  REQUIRE(ModelBenchCommand({"--hidden", "64", "--layers", "1", "--vocab", "50", "--batch", "2",
                             "--new", "2", "--train", "0"},
                            decode_only) == 0);
  json d = json::parse(decode_only.str());
  CHECK_FALSE(d.contains("train"));
  CHECK(d["decode"]["tokens_per_s"].get<double>() > 0);
  CHECK(ModelBenchCommand({"--bogus"}, out) == 2);
  CHECK(ModelBenchCommand({"--shape", "qwen3-7b"}, out) == 2);
}

TEST_CASE("the memory benchmark measures each step in its own process", "[bench]") {
  // A vocabulary of 20,000 rows and 8 x 256 tokens: the unsplit step holds
  // all 8 rows' activations at once, the micro-batched one 2; the whole
  // logits tensor alone is 8 x 255 x 20,000 floats (156 MiB).
  std::ostringstream out;
  REQUIRE(MemoryBenchCommand({"--vocab", "20000", "--length", "256", "--micro-batch-tokens", "512"},
                             out) == 0);
  INFO(out.str());
  json j = json::parse(out.str());
  for (const char* step : {"whole_logits", "unsplit", "micro_batched"}) {
    INFO(step);
    CHECK(j[step]["loaded_mb"].get<double>() > 0);
    CHECK(j[step]["extra_mb"].get<double>() > 0);
    CHECK(j[step]["seconds"].get<double>() > 0);
  }
  CHECK(j["whole_logits"]["extra_mb"].get<double>() > 156);
  CHECK(j["micro_batched"]["extra_mb"].get<double>() < j["unsplit"]["extra_mb"].get<double>());
  CHECK(j["unsplit"]["extra_mb"].get<double>() < j["whole_logits"]["extra_mb"].get<double>());
  CHECK(MemoryBenchCommand({"--length", "1"}, out) == 2);
}

TEST_CASE("journal bench runs and reports", "[bench]") {
  std::ostringstream out;
  int rc = JournalBenchCommand({"--records", "2000", "--bytes", "128", "--fsync", "never"}, out);
  INFO(out.str());
  CHECK(rc == 0);
  CHECK_THAT(out.str(), Catch::Contains("% of raw"));
  CHECK_THAT(out.str(), Catch::Contains("recovery       : first"));
}

TEST_CASE("the reward benchmark verifies the table and times both plug-in kinds", "[bench]") {
  std::ostringstream out;
  REQUIRE(RewardBenchCommand({"--calls", "20", "--rounds", "1", "--math-passes", "1"}, out) == 0);
  INFO(out.str());
  json j = json::parse(out.str());
  CHECK(j["math"]["pairs"].get<int>() >= 2 * 60);
  CHECK(j["math"]["agree_with_table"] == j["math"]["pairs"]);
  CHECK(j["math"]["verifications_per_s"].get<double>() > 0);
  CHECK(j["c_plugin"]["round_trips_per_s"].get<double>() > 0);
  CHECK(j["command_plugin"]["round_trips_per_s"].get<double>() > 0);
  CHECK(j["command_vs_c"].get<double>() > 0);
  CHECK(j["errors"] == 0);
  CHECK(RewardBenchCommand({"--calls", "0"}, out) == 2);
  CHECK(RewardBenchCommand({"--python", "/nonexistent/python"}, out) == 1);
}

TEST_CASE("the sandbox benchmark times sandboxed runs against plain ones", "[bench]") {
  std::ostringstream out;
  const int rc = SandboxBenchCommand(
      {"--rounds", "1", "--runs", "2", "--executions", "4", "--workers", "2"}, out);
  INFO(out.str() << "\n(without bubblewrap: apt-get install bubblewrap, as scripts/setup.sh does)");
  REQUIRE(rc == 0);
  json j = json::parse(out.str());
  CHECK(j["python_executions_per_s"].get<double>() > 0);
  CHECK(j["workers"] == 2);
  for (const char* program : {"true", "python"}) {
    INFO(program);
    CHECK(j["startup"][program]["plain_fork_exec_ms"].get<double>() > 0);
    CHECK(j["startup"][program]["sandbox_run_ms"].get<double>() > 0);
    CHECK(j["startup"][program]["plain_spawn_ms"].get<double>() > 0);
    CHECK(j["startup"][program]["sandbox_vs_plain"].get<double>() > 0);
    CHECK(j["startup"][program]["sandbox_vs_spawn"].get<double>() > 0);
  }
  CHECK(j["errors"] == 0);
  CHECK(SandboxBenchCommand({"--workers", "0"}, out) == 2);
}

}  // namespace
}  // namespace crescent::bench
