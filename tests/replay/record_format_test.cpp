// The replay buffer's on-disk schema (replay/record_format.hpp): pinned bytes,
// independence from the wire messages, and refusal of another version.
#include "replay/record_format.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "replay/buffer.hpp"
#include "replay/log_format.hpp"
#include "tests/common/process.hpp"

namespace crescent::replay {
namespace {

using crescent::testing::TempDir;

std::string Hex(const std::string& bytes) {
  std::string out;
  char b[3];
  for (unsigned char c : bytes) {
    std::snprintf(b, sizeof b, "%02x", c);
    out += b;
  }
  return out;
}

// One change of every kind.
std::vector<Change> EveryChange() {
  AddSegment add;
  add.trajectory_id = 1;
  add.prompt_tokens = {7, -1};
  add.segment = {SegmentSource::kPolicy, {4}, {-0.5f}, 2, 3};
  add.finish = FinishReason::kLength;
  add.text = "ok";
  return {StartGroup{1, {"p", "q", {{"answer", "4"}}, {{"user", "q"}}, {"answer"}}, 3, {1}},
          add,
          ScoreTrajectory{1, 0.5, true, "{}"},
          RestartTrajectory{1, 2, "r", 4},
          DropGroup{1, "d", 5},
          TrainGroups{{1}, 6, 7},
          Rewind{8},
          CommitTraining{9},
          LedgerWritten{10},
          SetPosition{{11, 12, "s"}}};
}

TEST_CASE("record format version 3 encodes changes to these exact bytes", "[replay]") {
  // If this fails, the on-disk format changed: bump record::kFormatVersion
  // (older journals are then refused by name) and update these bytes.
  CHECK(record::kFormatVersion == 3);
  const std::string bytes = record::EncodeChanges(EveryChange());
  // clang-format off
  CHECK(Hex(bytes) ==
        "0a00000000000000"                                                // 10 changes
        "01" "0100000000000000"                                           // StartGroup 1
        "0100000000000000" "70" "0100000000000000" "71"                   // prompt "p", "q"
        "0100000000000000" "0600000000000000" "616e73776572"              // {"answer":
        "0100000000000000" "34"                                           //  "4"}
        "0100000000000000" "0400000000000000" "75736572"                  // [{"user",
        "0100000000000000" "71"                                           //   "q"}]
        "0100000000000000" "0600000000000000" "616e73776572"              // JSON keys ["answer"]
        "0300000000000000" "0100000000000000" "0100000000000000"          // iteration 3, ids [1]
        "02" "0100000000000000" "0200000000000000" "07000000" "ffffffff"  // AddSegment 1 [7,-1]
        "00" "0100000000000000" "04000000" "0100000000000000" "000000bf"  // policy [4] [-0.5]
        "0200000000000000" "0300000000000000" "01"                        // v2 it3 kLength
        "0200000000000000" "6f6b"                                         // "ok"
        "03" "0100000000000000" "000000000000e03f" "01"                   // Score 1 0.5 true
        "0200000000000000" "7b7d"                                         // details "{}"
        "04" "0100000000000000" "0200000000000000"                        // Restart 1 -> 2
        "0100000000000000" "72" "0400000000000000"                        // "r" it 4
        "05" "0100000000000000" "0100000000000000" "64" "0500000000000000"  // Drop 1 "d" 5
        "06" "0100000000000000" "0100000000000000"                        // Train [1]
        "0600000000000000" "0700000000000000"                             // it 6 v 7
        "07" "0800000000000000"                                           // Rewind 8
        "08" "0900000000000000"                                           // CommitTraining 9
        "09" "0a00000000000000"                                           // LedgerWritten 10
        "0a" "0b00000000000000" "0c00000000000000" "0100000000000000" "73");  // Position
  // clang-format on
}

TEST_CASE("records and snapshots decode to what was encoded", "[replay]") {
  const std::vector<Change> changes = EveryChange();
  const std::string bytes = record::EncodeChanges(changes);
  CHECK(record::EncodeChanges(record::DecodeChanges(bytes)) == bytes);
  // A state with every kind of thing in it survives a snapshot.
  BufferState state;
  std::vector<Change> build = {
      StartGroup{
          1, {"p1", "", {{"answer", "2"}, {"n", "3"}}, {{"user", "1+1?"}}, {"n"}}, 1, {1, 2}},
      StartGroup{2, {"p2", "2+2=", {}}, 1, {3}}};
  AddSegment a;
  a.trajectory_id = 1;
  a.prompt_tokens = {9, 9};
  a.segment = {SegmentSource::kPolicy, {4, 5}, {-0.1f, -0.2f}, 0, 1};
  a.finish = FinishReason::kStop;
  a.text = "2";
  build.push_back(a);
  a.trajectory_id = 2;
  a.segment.source = SegmentSource::kEnvironment;
  build.push_back(a);
  build.push_back(ScoreTrajectory{1, 1.0, true, R"({"math":{"answer":"2"}})"});
  build.push_back(ScoreTrajectory{2, 0.0, false});
  build.push_back(TrainGroups{{1}, 1, 1});
  build.push_back(RestartTrajectory{3, 4, "stale", 2});
  build.push_back(SetPosition{{2, 1, "sampler"}});
  for (const Change& c : build) state.ApplyChange(c);
  BufferState restored;
  restored.Restore(state.Snapshot());
  CHECK(restored.Snapshot() == state.Snapshot());
  CHECK(restored.groups().at(1).prompt.metadata.at("answer") == "2");
  REQUIRE(restored.groups().at(1).prompt.messages.size() == 1);
  CHECK(restored.groups().at(1).prompt.messages[0].role == "user");
  CHECK(restored.groups().at(1).prompt.messages[0].content == "1+1?");
  CHECK(restored.groups().at(1).prompt.json_metadata == std::set<std::string>{"n"});
  CHECK(restored.trajectories().at(1).reward_details == R"({"math":{"answer":"2"}})");
  CHECK(restored.trajectories().at(2).segments[0].source == SegmentSource::kEnvironment);
  CHECK(restored.pending_ledger().at(0).reason == "stale");
  CHECK(restored.position().sampler_state == "sampler");
  CHECK(restored.next_trajectory_id() == 5);
  // Damage is refused, not misread.
  std::string bad = bytes;
  bad[8] = 99;  // no change has tag 99
  CHECK_THROWS_AS(record::DecodeChanges(bad), record::RecordError);
  CHECK_THROWS_AS(record::DecodeChanges(bytes.substr(0, bytes.size() - 1)), record::RecordError);
  CHECK_THROWS_AS(record::DecodeChanges(bytes + "x"), record::RecordError);
}

TEST_CASE("the record schema is written field by field, not with the wire's serializers",
          "[replay]") {
  // A change to a message in common/proto/messages.hpp (a field added to
  // Prompt, a FinishReason renumbered) reaches the wire's Cereal encoding.
  // The journal's encoding names every field itself and maps enumerations to
  // codes of its own, so it cannot change with them (the exact bytes are
  // pinned above).
  for (const char* file : {"/replay/record_format.cpp", "/replay/record_format.hpp"}) {
    const std::string source = crescent::testing::ReadFile(std::string(CRESCENT_SOURCE_DIR) + file);
    INFO(file);
    REQUIRE(!source.empty());
    CHECK(source.find("#include <cereal") == std::string::npos);
    CHECK(source.find("wire_archive") == std::string::npos);
    CHECK(source.find("serialize(") == std::string::npos);
  }
  // Nor does anything in buffer.hpp carry a Cereal serialize() any more.
  const std::string buffer =
      crescent::testing::ReadFile(std::string(CRESCENT_SOURCE_DIR) + "/replay/buffer.hpp");
  CHECK(buffer.find("serialize(") == std::string::npos);
}

// Rewrites the format version in a log header (with a valid header CRC, as
// another build would have written it).
void SetLogVersion(const std::string& log, uint32_t version) {
  std::string data = crescent::testing::ReadFile(log);
  REQUIRE(data.size() >= internal::kLogHeaderSize);
  crescent::testing::WriteFile(
      log, internal::EncodeLogHeader(version) + data.substr(internal::kLogHeaderSize));
}

TEST_CASE("a log of another record format version is refused by name", "[replay]") {
  const std::string dir = TempDir("crescent-format") + "/replay";
  {
    ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
    buffer.Commit({StartGroup{1, {"p1", "1+1=", {}}, 1, {1, 2}}});
  }
  const std::string log = dir + "/log-000001.log";
  const std::string pristine = crescent::testing::ReadFile(log);
  SetLogVersion(log, record::kFormatVersion + 1);
  const std::string flipped = crescent::testing::ReadFile(log);
  auto check = [&](const JournalVersionError& e) {
    CHECK(e.file() == log);
    CHECK(e.found_version() == record::kFormatVersion + 1);
    CHECK(e.supported_version() == record::kFormatVersion);
    CHECK_THAT(e.what(), Catch::Contains(log) && Catch::Contains("record format version 4") &&
                             Catch::Contains("reads version 3 only"));
  };
  try {
    ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
    FAIL("a log of another version was opened");
  } catch (const JournalVersionError& e) {
    check(e);
  }
  try {
    ReadBuffer(Env::Posix(), dir);  // `crescent replay stats|dump`
    FAIL("a log of another version was read");
  } catch (const JournalVersionError& e) {
    check(e);
  }
  CHECK(crescent::testing::ReadFile(log) == flipped);  // refused, not repaired
  crescent::testing::WriteFile(log, pristine);
  ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
  CHECK(buffer.state().trajectories().size() == 2);
}

TEST_CASE("a snapshot of another version, and files from before versions, are refused",
          "[replay]") {
  const std::string dir = TempDir("crescent-format") + "/replay";
  {
    ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
    buffer.Commit({StartGroup{1, {"p1", "1+1=", {}}, 1, {1, 2}}});
    buffer.Checkpoint();
  }
  const std::string snap = dir + "/snapshot-000002.snap";
  const std::string pristine = crescent::testing::ReadFile(snap);
  const std::string payload = pristine.substr(internal::kSnapshotHeaderSize);
  // The previous build's snapshot (version 2: no reward details), header and
  // CRC valid.
  crescent::testing::WriteFile(snap, internal::EncodeSnapshot(payload, 2));
  CHECK_THROWS_MATCHES(
      ReplayBuffer(Env::Posix(), dir, JournalOptions{}), JournalVersionError,
      Catch::Matchers::Predicate<JournalVersionError>([&](const JournalVersionError& e) {
        return e.file() == snap && e.found_version() == 2 && e.supported_version() == 3;
      }));
  // A snapshot from before format versions: "CRSNAP01", no version field.
  crescent::testing::WriteFile(snap, "CRSNAP01" + pristine.substr(8));
  CHECK_THROWS_WITH(ReplayBuffer(Env::Posix(), dir, JournalOptions{}),
                    Catch::Contains(snap) && Catch::Contains("version 0") &&
                        Catch::Contains("before format versions"));
  crescent::testing::WriteFile(snap, pristine);
  // A log from before format versions: records with no header.
  const std::string log = dir + "/log-000002.log";
  std::string old_log;
  internal::EncodeRecord(BufferState::Encode({ScoreTrajectory{1, 1, true}}), &old_log);
  crescent::testing::WriteFile(log, old_log);
  try {
    ReplayBuffer buffer(Env::Posix(), dir, JournalOptions{});
    FAIL("an unversioned log was opened");
  } catch (const JournalVersionError& e) {
    CHECK(e.file() == log);
    CHECK(e.found_version() == 0);
  }
}

}  // namespace
}  // namespace crescent::replay
