#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "common/proto/envelope.hpp"

using namespace crescent::proto;

namespace {
constexpr size_t kLimit = 1 << 20;

GenerateRequest SampleRequest() {
  GenerateRequest r;
  r.request_id = 42;
  GenerationTask t;
  t.trajectory_id = 7;
  t.prompt = {
      "p-1", "12+7=", {{"answer", "19"}, {"tests", "[\"assert f(1)==2\"]"}, {"domain", "math"}}};
  t.prefix = {3, 4, 5};
  t.max_response_tokens = 16;
  t.budget = 8;
  t.stop_strings = {"\n\n"};
  t.repeat_ngram = 3;
  t.repeat_count = 4;
  t.sampling.temperature = 0.7f;
  t.sampling.seed = 99;
  r.tasks = {t, t};
  r.tasks[1].trajectory_id = 8;
  return r;
}
}  // namespace

TEST_CASE("every message type round-trips", "[proto]") {
  std::vector<Message> messages = {
      Hello{"rollout", 3, "node2", 1234},
      Heartbeat{77},
      Shutdown{"done"},
      WorkerError{"out of memory"},
      SampleRequest(),
      GenerateResult{42,
                     5,
                     {Sample{7, {1, 2}, {3, 4}, {-0.5f, -1.5f}, "19", FinishReason::kBudget, 5}},
                     1.5,
                     ""},
      ScoreRequest{9, {ScoreItem{7, {"p", "1+1=", {{"answer", "2"}}}, "2"}}},
      ScoreResult{9, {Score{7, 1.0, true, ""}}, 0.1, ""},
      TrainRequest{
          3, 2, 6, 1, {TrainGroup{"p", {TrainSample{7, {1}, {2, 3}, {-1, -2}, {1, 0}, 0.5}}}}},
      TrainResult{3, 6, {{"loss", 0.25}}, 2.0, ""},
      SyncWeights{4, 6},
      WeightsSynced{4, 6, 0.2, ""},
      SaveCheckpoint{5, 12, 6},
      CheckpointSaved{5, 6, "runs/x/checkpoints/v00000006", 0.3, ""},
      ErrorReply{8, "reward service rank 3 on host node2 does not serve GenerateRequest"},
  };
  REQUIRE(messages.size() == std::variant_size_v<Message>);
  for (const auto& m : messages) {
    std::string frame = Encode(m);
    Decoded d = Decode(frame.data(), frame.size(), kLimit);
    INFO(MessageName(m) << ": " << d.error);
    REQUIRE(d.message);
    CHECK(d.message->index() == m.index());
    CHECK(Encode(*d.message) == frame);
  }
}

TEST_CASE("requests name their reply, and ids and errors are read off any message", "[proto]") {
  CHECK(ReplyIndexOf(SampleRequest()) == Message(GenerateResult{}).index());
  CHECK(ReplyIndexOf(ScoreRequest{}) == Message(ScoreResult{}).index());
  CHECK(ReplyIndexOf(TrainRequest{}) == Message(TrainResult{}).index());
  CHECK(ReplyIndexOf(SyncWeights{}) == Message(WeightsSynced{}).index());
  CHECK(ReplyIndexOf(SaveCheckpoint{}) == Message(CheckpointSaved{}).index());
  CHECK(!ReplyIndexOf(GenerateResult{}));
  CHECK(!ReplyIndexOf(Heartbeat{}));
  CHECK(RequestIdOf(SyncWeights{4, 6}) == 4);
  CHECK(RequestIdOf(CheckpointSaved{5, 6, "", 0, ""}) == 5);
  CHECK(RequestIdOf(Heartbeat{77}) == 0);
  CHECK(ErrorOf(ScoreResult{9, {}, 0.1, "no reward"}) == "no reward");
  CHECK(ErrorOf(ErrorReply{8, "not served"}) == "not served");
  CHECK(ErrorOf(Hello{}).empty());
}

TEST_CASE("metadata reaches the far side untouched", "[proto]") {
  GenerateRequest r = SampleRequest();
  std::string frame = Encode(r);
  auto back = std::get<GenerateRequest>(*Decode(frame.data(), frame.size(), kLimit).message);
  CHECK(back.tasks[0].prompt.metadata == r.tasks[0].prompt.metadata);
  CHECK(back.tasks[1].trajectory_id == 8);
  CHECK(back.tasks[0].prefix == r.tasks[0].prefix);
  CHECK(back.tasks[0].sampling.temperature == 0.7f);
}

TEST_CASE("a chat prompt's messages reach the far side in order", "[proto]") {
  GenerateRequest r = SampleRequest();
  r.tasks[0].prompt.messages = {{"system", "Be brief."}, {"user", "2+2?"}};
  std::string frame = Encode(r);
  auto back = std::get<GenerateRequest>(*Decode(frame.data(), frame.size(), kLimit).message);
  const auto& m = back.tasks[0].prompt.messages;
  REQUIRE(m.size() == 2);
  CHECK(m[0].role == "system");
  CHECK(m[0].content == "Be brief.");
  CHECK(m[1].role == "user");
  CHECK(m[1].content == "2+2?");
  CHECK(back.tasks[1].prompt.messages.empty());
  CHECK(back.tasks[0].prompt.metadata == r.tasks[0].prompt.metadata);
}

TEST_CASE("bad frames are rejected with a reason", "[proto]") {
  std::string frame = Encode(SampleRequest());
  SECTION("short") {
    CHECK(Decode(frame.data(), 5, kLimit).error == "frame of 5 bytes is shorter than a header");
  }
  SECTION("bad magic") {
    frame[0] = 'X';
    CHECK(Decode(frame.data(), frame.size(), kLimit).error == "bad magic: not a crescent frame");
  }
  SECTION("wrong version") {
    frame[4] = 9;
    CHECK(Decode(frame.data(), frame.size(), kLimit).error ==
          "protocol version 9, this program speaks " + std::to_string(kProtocolVersion));
  }
  SECTION("unknown type") {
    frame[6] = 99;
    CHECK(Decode(frame.data(), frame.size(), kLimit).error == "unknown message type 99");
  }
  SECTION("truncated") {
    Decoded d = Decode(frame.data(), frame.size() - 3, kLimit);
    CHECK_FALSE(d.message);
    CHECK(d.error.find("header says") == 0);
  }
  SECTION("oversized") {
    Decoded d = Decode(frame.data(), frame.size(), 10);
    CHECK_FALSE(d.message);
    CHECK(d.error.find("exceeds the limit of 10") != std::string::npos);
  }
  SECTION("payload cut with a consistent header") {
    std::string cut = frame.substr(0, frame.size() - 4);
    uint32_t length = static_cast<uint32_t>(cut.size() - kHeaderSize);
    std::memcpy(&cut[8], &length, 4);
    Decoded d = Decode(cut.data(), cut.size(), kLimit);
    CHECK_FALSE(d.message);
    CHECK(d.error.find("type 10: ") == 0);
  }
  SECTION("a huge container size is refused before allocating") {
    // request_id (8 bytes), then the task count: claim 2^62 tasks.
    uint64_t huge = uint64_t(1) << 62;
    std::memcpy(&frame[kHeaderSize + 8], &huge, 8);
    Decoded d = Decode(frame.data(), frame.size(), kLimit);
    CHECK_FALSE(d.message);
    CHECK(d.error == "type 10: container size exceeds the payload");
  }
}

TEST_CASE("random corruption never crashes the decoder", "[proto]") {
  std::mt19937 rng(1);
  std::string frame = Encode(SampleRequest());
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bad = frame;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) bad[kHeaderSize + rng() % (bad.size() - kHeaderSize)] = rng();
    bad.resize(kHeaderSize + rng() % (bad.size() - kHeaderSize + 1));
    uint32_t length = static_cast<uint32_t>(bad.size() - kHeaderSize);
    std::memcpy(&bad[8], &length, 4);
    Decoded d = Decode(bad.data(), bad.size(), kLimit);
    CHECK((d.message.has_value() != !d.error.empty()));
    rejected += !d.message;
  }
  CHECK(rejected > 0);
}
