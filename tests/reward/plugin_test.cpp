#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "reward/reward_function.hpp"

using namespace crescent::reward;

namespace {

const std::map<std::string, std::string> kMeta = {{"answer", "19"}, {"domain", "math"}};

RewardOptions Options(double timeout_s = 5) {
  RewardOptions o;
  o.plugin_timeout_s = timeout_s;
  return o;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a good plug-in gets its arguments and is called in a fresh child", "[reward]") {
  auto f = MakeRewardFunction(PLUGIN_GOOD, Options());
  for (int i = 0; i < 3; ++i) {
    Outcome o = f->Score("12+7=", "abcd", kMeta);
    INFO(o.error);
    CHECK(o.error.empty());
    // 4 characters + 100 for the answer in the metadata JSON + 1000 for one
    // call: the plug-in's static counter must not carry over between calls.
    CHECK(o.reward == 1104.0);
    CHECK(o.correct);  // no crescent_reward_correct: correct when reward > 0
  }
}

TEST_CASE("a crashing plug-in costs the sample, not the caller", "[reward]") {
  auto f = MakeRewardFunction(PLUGIN_CRASH, Options());
  Outcome o = f->Score("p", "r", kMeta);
  CHECK_FALSE(o.correct);
  CHECK_FALSE(o.correct);
  CHECK(Contains(o.error, PLUGIN_CRASH));
  CHECK(Contains(o.error, "signal 11"));

  auto aborting = MakeRewardFunction(PLUGIN_ABORT, Options());
  Outcome a = aborting->Score("p", "r", kMeta);
  CHECK(Contains(a.error, "signal 6"));

  auto exiting = MakeRewardFunction(PLUGIN_EXIT_EARLY, Options());
  Outcome e = exiting->Score("p", "r", kMeta);
  CHECK(Contains(e.error, "exited with status 3"));
  CHECK_FALSE(e.correct);
}

TEST_CASE("a hanging plug-in is killed at its timeout", "[reward]") {
  auto f = MakeRewardFunction(PLUGIN_HANG, Options(0.3));
  const auto t0 = std::chrono::steady_clock::now();
  Outcome o = f->Score("p", "r", kMeta);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds >= 0.25);
  CHECK(seconds < 3.0);
  CHECK_FALSE(o.correct);
  CHECK(Contains(o.error, PLUGIN_HANG));
  CHECK(Contains(o.error, "timed out"));
}

TEST_CASE("NaN, infinity and reported errors become failures", "[reward]") {
  Outcome n = MakeRewardFunction(PLUGIN_NAN_REWARD, Options())->Score("p", "r", kMeta);
  CHECK_FALSE(n.correct);
  CHECK(std::isfinite(n.reward));
  CHECK(Contains(n.error, "non-finite"));
  CHECK(Contains(n.error, PLUGIN_NAN_REWARD));

  Outcome i = MakeRewardFunction(PLUGIN_INF_REWARD, Options())->Score("p", "r", kMeta);
  CHECK_FALSE(i.correct);
  CHECK(Contains(i.error, "non-finite"));

  Outcome r = MakeRewardFunction(PLUGIN_REPORT_ERROR, Options())->Score("3+4=", "r", kMeta);
  CHECK_FALSE(r.correct);
  CHECK(Contains(r.error, "tests missing for 3+4="));
}

TEST_CASE("plug-ins that cannot load are refused with the file named", "[reward]") {
  try {
    MakeRewardFunction(PLUGIN_NO_SYMBOL);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(Contains(e.what(), PLUGIN_NO_SYMBOL));
    CHECK(Contains(e.what(), "crescent_reward"));
  }
  try {
    MakeRewardFunction("/nonexistent/libnothing.so");
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(Contains(e.what(), "/nonexistent/libnothing.so"));
  }
}

TEST_CASE("the example plug-in scores format and answer", "[reward]") {
  auto f = MakeRewardFunction(PLUGIN_EXAMPLE, Options());
  Outcome right = f->Score("12+7=", "19", kMeta);
  INFO(right.error);
  CHECK(right.reward == Approx(1.2));
  CHECK(right.correct);
  Outcome digits = f->Score("12+7=", "18", kMeta);
  CHECK(digits.reward == Approx(0.2));
  CHECK_FALSE(digits.correct);
  Outcome wordy = f->Score("12+7=", "the answer", kMeta);
  CHECK(wordy.reward == Approx(-0.02));
  Outcome no_answer = f->Score("12+7=", "19", {});
  CHECK(Contains(no_answer.error, "answer"));
}
