// `crescent bench partial` at a tiny size: every mode trains the same
// prompts' groups, and the report holds what docs/perf.md quotes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/bench.hpp"

TEST_CASE("the partial-rollout benchmark compares its modes on the same groups", "[trainer]") {
  std::ostringstream out;
  REQUIRE(
      crescent::bench::PartialBenchCommand({"--groups", "4", "--k", "2", "--groups-trained", "8",
                                            "--sft-steps", "30", "--budget", "8", "--max", "32"},
                                           out) == 0);
  INFO(out.str());
  auto j = nlohmann::json::parse(out.str());
  const auto& modes = j["modes"];
  REQUIRE(modes.size() == 4);
  for (const auto& [name, mode] : modes.items()) {
    INFO(name);
    CHECK(mode["groups_counted"] == 8);
    CHECK(mode["groups_trained"] >= 8);
    CHECK(mode["tokens_trained"] > 0);
    CHECK(mode["seconds"] > 0);
    if (name != "sync") CHECK(j["ratio_to_sync"][name].get<double>() > 0);
  }
  // Sync mode generates nothing it does not train; with overlap, the last
  // iteration generates groups that are never trained.
  CHECK(modes["sync"]["tokens_generated"] == modes["sync"]["tokens_trained"]);
  CHECK(modes["sync_overlap"]["tokens_generated"] > modes["sync_overlap"]["tokens_trained"]);
  // Every trajectory of a counted group is at most --max tokens long.
  CHECK(j["trained_response_lengths"]["max"] <= 32);
  std::ostringstream bad;
  CHECK(crescent::bench::PartialBenchCommand({"--budget", "64", "--max", "32"}, bad) == 2);
}
