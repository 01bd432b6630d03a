#include "common/task/arithmetic.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace crescent::task;

TEST_CASE("arithmetic problems are correct, short and in the alphabet", "[task]") {
  ArithmeticTask task(1, 1, ArithmeticTask::kMaxLevel, 200);
  std::mt19937_64 rng(3);
  for (int level = 1; level <= ArithmeticTask::kMaxLevel; ++level) {
    for (int i = 0; i < 200; ++i) {
      Problem p = task.DrawLevel(rng, level);
      INFO(p.prompt);
      CHECK(p.level == level);
      CHECK(ArithmeticTask::Level(p.prompt) == level);
      CHECK(p.prompt.size() <= 6);
      CHECK(p.prompt.back() == '=');
      CHECK(SftTarget(p.prompt) == p.answer);
      CHECK(p.prompt.find_first_not_of(ArithmeticAlphabet()) == std::string::npos);
      CHECK(p.answer.find_first_not_of(ArithmeticAlphabet()) == std::string::npos);
    }
  }
  CHECK(SftTarget("12+7=") == "19");
  CHECK(SftTarget("30-4=") == "26");
  CHECK(SftTarget("3*12=") == "36");
  CHECK_THROWS_AS(SftTarget("hello"), std::invalid_argument);
  CHECK_THROWS_AS(SftTarget("1+2"), std::invalid_argument);
  CHECK(ArithmeticTask::Alphabet() == ArithmeticAlphabet());
}

TEST_CASE("the held-out split is disjoint from training and deterministic", "[task]") {
  ArithmeticTask task(7, 1, ArithmeticTask::kMaxLevel, 250);
  REQUIRE(task.Heldout().size() == 250);
  std::set<std::string> heldout;
  std::set<int> levels;
  for (const Problem& p : task.Heldout()) {
    CHECK(ArithmeticTask::IsHeldout(p.prompt));
    CHECK(heldout.insert(p.prompt).second);  // distinct
    levels.insert(p.level);
  }
  CHECK(levels.size() == ArithmeticTask::kMaxLevel);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) CHECK(heldout.count(task.Draw(rng).prompt) == 0);
  for (const Problem& p : task.TrainingSet(5, 3000)) CHECK(heldout.count(p.prompt) == 0);

  ArithmeticTask same(7, 1, ArithmeticTask::kMaxLevel, 250);
  for (size_t i = 0; i < task.Heldout().size(); ++i) {
    CHECK(same.Heldout()[i].prompt == task.Heldout()[i].prompt);
  }
  // Another seed draws other held-out problems, but from the same split.
  ArithmeticTask other(8, 1, ArithmeticTask::kMaxLevel, 250);
  for (const Problem& p : other.Heldout()) CHECK(ArithmeticTask::IsHeldout(p.prompt));
}

TEST_CASE("the training set is distinct, deterministic and capped by the levels", "[task]") {
  ArithmeticTask task(1, 1, 2, 10);
  auto a = task.TrainingSet(3, 500), b = task.TrainingSet(3, 500);
  REQUIRE(a.size() == 500);
  std::set<std::string> distinct;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].prompt == b[i].prompt);
    distinct.insert(a[i].prompt);
  }
  CHECK(distinct.size() == 500);
  // Level 1 alone has 100 problems, some of them held out.
  ArithmeticTask tiny(1, 1, 1, 5);
  auto all = tiny.TrainingSet(3, 1000);
  CHECK(all.size() < 100);
  CHECK(all.size() > 70);
}

TEST_CASE("bad task options are refused", "[task]") {
  CHECK_THROWS_AS(ArithmeticTask(1, 0, 3, 10), std::invalid_argument);
  CHECK_THROWS_AS(ArithmeticTask(1, 3, 2, 10), std::invalid_argument);
  CHECK_THROWS_AS(ArithmeticTask(1, 1, 6, 10), std::invalid_argument);
  CHECK_THROWS_AS(ArithmeticTask(1, 1, 1, 200), std::invalid_argument);  // too few at level 1
}

TEST_CASE("AsPrompt carries answer, difficulty and domain", "[task]") {
  Prompt p = AsPrompt({"12+7=", "19", 2});
  CHECK(p.id == "12+7=");
  CHECK(p.text == "12+7=");
  CHECK(p.metadata.at("answer") == "19");
  CHECK(p.metadata.at("difficulty") == "2");
  CHECK(p.metadata.at("domain") == "math");
}
