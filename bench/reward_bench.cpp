// `crescent bench reward`: how fast the reward side runs, in one run: math
// verifications per second over the pairs of tests/reward/math_pairs.jsonl,
// and plug-in round trips per second of a trivial command plug-in (python3
// echoing reward 1) against the trivial C plug-in (the example library).
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/bench.hpp"
#include "bench/int_options.hpp"
#include "bench/timing.hpp"
#include "reward/command_reward.hpp"
#include "reward/math_verify.hpp"
#include "reward/reward_function.hpp"

namespace crescent::bench {

// tests/reward/math_pairs.jsonl, copied into the binary at build time so that
// the benchmark needs no source tree (bench/CMakeLists.txt).
extern const char* const kMathPairsJsonl;

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// The cheapest useful plug-in: parse the request, echo its id, reward 1.
constexpr const char* kEchoScript =
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    request = json.loads(line)\n"
    "    sys.stdout.write(json.dumps({'id': request['id'], 'reward': 1}) + '\\n')\n"
    "    sys.stdout.flush()\n";

struct Pair {
  std::string gold, answer;
  bool equivalent;
  reward::MathOptions options;
};

// A side of a pair as the table's test reads it: a boxed answer's box.
std::string Side(const std::string& text) {
  if (text.find("\\boxed") == std::string::npos && text.find("\\fbox") == std::string::npos) {
    return text;
  }
  return reward::ExtractMathAnswer(text, {reward::AnswerFallback::kNone});
}

bool Verify(const Pair& p) {
  return reward::MathEquivalent(Side(p.gold), Side(p.answer), p.options);
}

// Each pair both ways round, with its tolerance, as
// tests/reward/math_verify_test.cpp checks them.
std::vector<Pair> MathPairs() {
  std::vector<Pair> pairs;
  std::istringstream in(kMathPairsJsonl);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line);
    const bool eq = j["equivalent"].get<bool>();
    reward::MathOptions options;
    if (j.contains("rel_tol")) options.rel_tol = j["rel_tol"].get<double>();
    pairs.push_back({j["gold"], j["answer"], eq, options});
    pairs.push_back({j["answer"], j["gold"], eq, options});
  }
  return pairs;
}

}  // namespace

int RewardBenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  std::map<std::string, int64_t> o = {{"--rounds", 3}, {"--calls", 1000}, {"--math-passes", 5}};
  std::string plugin = CRESCENT_EXAMPLE_PLUGIN, python = "python3";
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--plugin") plugin = args[i + 1];
    if (args[i] == "--python") python = args[i + 1];
  }
  if (!ParseIntOptions(args, "bench reward", o, {"--plugin", "--python"})) return 2;
  if (o["--rounds"] < 1 || o["--calls"] < 1 || o["--math-passes"] < 1) {
    out << "reward bench: --rounds, --calls and --math-passes must be >= 1\n";
    return 2;
  }

  const std::vector<Pair> pairs = MathPairs();
  int agree = 0, equal_per_pass = 0;
  for (const Pair& p : pairs) {
    const bool equal = Verify(p);
    agree += equal == p.equivalent;
    equal_per_pass += equal;
  }

  const reward::RewardOptions options;
  const std::vector<std::string> command = {python, "-c", kEchoScript};
  std::unique_ptr<reward::RewardFunction> c_plugin, cmd_plugin;
  try {
    c_plugin = reward::MakeRewardFunction(plugin, options);
    cmd_plugin = reward::MakeCommandReward(command, options);
  } catch (const std::exception& e) {
    out << "reward bench: " << e.what() << "\n";
    return 1;
  }
  const task::Prompt prompt{"12+7=", "12+7=", {{"answer", "19"}}};
  // Warm-up, which also starts the command's process: its start-up is not a
  // round trip.
  for (auto* f : {c_plugin.get(), cmd_plugin.get()}) {
    for (int i = 0; i < 3; ++i) {
      const reward::Outcome r = f->Score(prompt, "19");
      if (!r.error.empty()) {
        out << "reward bench: " << r.error << "\n";
        return 1;
      }
    }
  }

  const int64_t calls = o["--calls"];
  std::vector<double> math_rate, c_rate, cmd_rate, ratio;
  int errors = 0;
  for (int64_t round = 0; round < o["--rounds"]; ++round) {
    auto t0 = Clock::now();
    int equal = 0;
    for (int64_t pass = 0; pass < o["--math-passes"]; ++pass) {
      for (const Pair& p : pairs) equal += Verify(p);
    }
    math_rate.push_back(static_cast<double>(o["--math-passes"] * pairs.size()) / Seconds(t0));
    errors += equal != o["--math-passes"] * equal_per_pass;  // it is deterministic
    auto round_trips = [&](const reward::RewardFunction& f) {
      const auto start = Clock::now();
      for (int64_t i = 0; i < calls; ++i) errors += !f.Score(prompt, "19").error.empty();
      return calls / Seconds(start);
    };
    c_rate.push_back(round_trips(*c_plugin));
    cmd_rate.push_back(round_trips(*cmd_plugin));
    ratio.push_back(cmd_rate.back() / c_rate.back());
  }

  const json j = {
      {"math",
       {{"verifications_per_s", Median(math_rate)},
        {"pairs", pairs.size()},
        {"agree_with_table", agree}}},
      {"c_plugin", {{"round_trips_per_s", Median(c_rate)}, {"library", plugin}}},
      {"command_plugin", {{"round_trips_per_s", Median(cmd_rate)}, {"program", python}}},
      {"command_vs_c", Median(ratio)},
      {"calls_per_round", calls},
      {"rounds", o["--rounds"]},
      {"errors", errors},
  };
  out << j.dump(2) << "\n";
  return errors == 0 ? 0 : 1;
}

}  // namespace crescent::bench
