// `crescent bench partial` at a tiny size: both modes train the same prompts'
// groups, and the report holds what docs/perf.md quotes.
#include "trainer/partial_bench.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

TEST_CASE("the partial-rollout benchmark compares both modes on the same groups", "[trainer]") {
  std::ostringstream out;
  REQUIRE(
      crescent::trainer::PartialBenchCommand({"--groups", "4", "--k", "2", "--groups-trained", "8",
                                              "--sft-steps", "30", "--budget", "8", "--max", "32"},
                                             out) == 0);
  INFO(out.str());
  auto j = nlohmann::json::parse(out.str());
  for (const char* mode : {"sync", "partial"}) {
    INFO(mode);
    CHECK(j[mode]["groups_counted"] == 8);
    CHECK(j[mode]["groups_trained"] >= 8);
    CHECK(j[mode]["tokens_trained"] > 0);
    CHECK(j[mode]["seconds"] > 0);
  }
  // Sync mode generates nothing it does not train.
  CHECK(j["sync"]["tokens_generated"] == j["sync"]["tokens_trained"]);
  // Every trajectory of a counted group is at most --max tokens long.
  CHECK(j["trained_response_lengths"]["max"] <= 32);
  CHECK(j["ratio"].get<double>() > 0);
  std::ostringstream bad;
  CHECK(crescent::trainer::PartialBenchCommand({"--budget", "64", "--max", "32"}, bad) == 2);
}
