#include "common/task/sampler.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "common/config/config.hpp"

using namespace crescent::task;

namespace {

std::vector<Prompt> Pool(const std::vector<int>& difficulties) {
  std::vector<Prompt> pool;
  for (size_t i = 0; i < difficulties.size(); ++i) {
    pool.push_back({std::to_string(i), "p", {{"difficulty", std::to_string(difficulties[i])}}});
  }
  return pool;
}

std::vector<size_t> Draws(Sampler& s, int n) {
  std::vector<size_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.Next());
  return out;
}

}  // namespace

TEST_CASE("uniform sampler covers the pool and is deterministic", "[task]") {
  auto pool = Pool({1, 1, 2, 2, 3});
  SamplerOptions o;
  o.seed = 9;
  auto a = MakeSampler(pool, o), b = MakeSampler(pool, o);
  auto da = Draws(*a, 5000), db = Draws(*b, 5000);
  CHECK(da == db);
  std::map<size_t, int> counts;
  for (size_t i : da) counts[i]++;
  REQUIRE(counts.size() == 5);
  for (auto [i, c] : counts) CHECK(c == Approx(1000).margin(150));
  o.seed = 10;
  CHECK(Draws(*MakeSampler(pool, o), 5000) != da);
}

TEST_CASE("curriculum: whole pool for the warm-up, then hard only", "[task]") {
  auto pool = Pool({1, 2, 3, 3, 1, 2});
  SamplerOptions o;
  o.kind = SamplerKind::kCurriculum;
  o.curriculum_warmup = 600;
  auto s = MakeSampler(pool, o);
  std::map<size_t, int> warm;
  for (size_t i : Draws(*s, 600)) warm[i]++;
  CHECK(warm.size() == 6);
  for (size_t i : Draws(*s, 1000)) CHECK((i == 2 || i == 3));

  o.hard_difficulty = 2;
  o.curriculum_warmup = 0;
  std::map<size_t, int> hard;
  for (size_t i : Draws(*MakeSampler(pool, o), 1000)) hard[i]++;
  CHECK(hard.size() == 4);
  CHECK(hard.count(0) == 0);
  CHECK(hard.count(4) == 0);

  auto unlabelled = pool;
  unlabelled[1].metadata.erase("difficulty");
  CHECK_THROWS_WITH(MakeSampler(unlabelled, o), Catch::Contains("\"1\""));
  o.hard_difficulty = 10;
  CHECK_THROWS_AS(MakeSampler(pool, o), std::invalid_argument);
}

TEST_CASE("prioritised: probability proportional to 1 - success rate", "[task]") {
  auto pool = Pool({1, 1, 1, 1});
  SamplerOptions o;
  o.kind = SamplerKind::kPrioritised;
  o.seed = 3;
  o.success_rate_step = 1.0;  // s_i = last observation, to make the target exact
  auto s = MakeSampler(pool, o);
  s->Report(0, 1.0);   // weight min_weight
  s->Report(1, 0.75);  // 0.25
  s->Report(2, 0.5);   // 0.5
  s->Report(3, 0.0);   // 1
  const int n = 40000;
  std::map<size_t, int> counts;
  for (size_t i : Draws(*s, n)) counts[i]++;
  const double total = 0.001 + 0.25 + 0.5 + 1.0;
  CHECK(counts[0] < n * 0.002);
  CHECK(counts[1] == Approx(n * 0.25 / total).epsilon(0.06));
  CHECK(counts[2] == Approx(n * 0.5 / total).epsilon(0.06));
  CHECK(counts[3] == Approx(n * 1.0 / total).epsilon(0.06));

  // Running rate: s moves by step * (observed - s) from the initial 0.5.
  o.success_rate_step = 0.5;
  auto r = MakeSampler(Pool({1, 1}), o);
  r->Report(0, 1.0);  // s0 = 0.75
  r->Report(0, 1.0);  // s0 = 0.875 -> weight 0.125 vs 0.5
  std::map<size_t, int> c2;
  for (size_t i : Draws(*r, n)) c2[i]++;
  CHECK(static_cast<double>(c2[0]) / n == Approx(0.125 / 0.625).epsilon(0.08));
  r->Report(99, 1.0);  // out of range: ignored
}

TEST_CASE("samplers refuse bad options", "[task]") {
  SamplerOptions o;
  o.kind = static_cast<SamplerKind>(7);
  CHECK_THROWS_WITH(MakeSampler(Pool({1}), o), Catch::Contains("unknown sampler kind 7"));
  o.kind = SamplerKind::kUniform;
  CHECK_THROWS_AS(MakeSampler({}, o), std::invalid_argument);
}

TEST_CASE("a sampler restored from a saved state draws what the original draws", "[task]") {
  auto pool = Pool({1, 2, 3, 3, 1, 2, 3});
  for (SamplerKind kind :
       {SamplerKind::kUniform, SamplerKind::kCurriculum, SamplerKind::kPrioritised}) {
    INFO(crescent::config::ChoiceName(kind));
    SamplerOptions o;
    o.kind = kind;
    o.seed = 5;
    o.curriculum_warmup = 20;
    auto original = MakeSampler(pool, o);
    for (int i = 0; i < 15; ++i) original->Report(original->Next(), (i % 3) / 2.0);
    const std::string state = original->SaveState();
    o.seed = 77;  // the saved state, not the seed, decides what comes next
    auto restored = MakeSampler(pool, o);
    restored->LoadState(state);
    for (int i = 0; i < 40; ++i) {
      const size_t a = original->Next(), b = restored->Next();
      REQUIRE(a == b);
      original->Report(a, i % 2);
      restored->Report(b, i % 2);
    }
    CHECK_THROWS_AS(restored->LoadState("nonsense 1 2"), std::invalid_argument);
  }
}
