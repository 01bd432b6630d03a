// Internal: the replay buffer's on-disk schema, the encoding of its journal
// records (a batch of changes) and snapshots (the whole state). It is its own
// schema, not the wire's: every field is written here by hand, little-endian,
// and no message struct of common/proto or Cereal archive is involved, so a
// change to a wire message cannot change what the journal holds. The journal
// writes kFormatVersion into every log and snapshot header and refuses a file
// of another version by name (JournalVersionError, replay/journal.hpp).
//
// Any change to the grammar below bumps kFormatVersion (a golden test,
// tests/replay/record_format_test.cpp, fails until the expected bytes are
// updated with it).
//
// Version 3 (version 2 had no reward details and no JSON metadata keys,
// version 1 no messages in a prompt; a build refuses other versions' files by
// name). u8/u32/u64/i32/i64: little-endian integers; f32/f64: IEEE-754
// bits, little-endian; bool: u8 0 or 1; str: u64 byte count, bytes;
// list<T>: u64 count, T...
//   record      = list<change>
//   change      = u8 tag, body:  1 StartGroup    u64 group, prompt, i64 iteration, list<u64> ids
//                                2 AddSegment    u64 trajectory, list<i32> prompt tokens,
//                                                segment, finish, str text
//                                3 Score         u64 trajectory, f64 reward, bool correct, str
//                                details 4 Restart       u64 old, u64 new, str reason, i64
//                                iteration 5 DropGroup     u64 group, str reason, i64 iteration 6
//                                TrainGroups   list<u64> groups, i64 iteration, i64 version 7
//                                Rewind        i64 version 8 CommitTraining i64 version 9
//                                LedgerWritten u64 count
//                               10 SetPosition   position
//   prompt      = str id, str text, list<(str key, str value)> metadata,
//                 list<(str role, str content)> messages, list<str> JSON metadata keys
//   segment     = u8 source (0 policy, 1 environment), list<i32> tokens, list<f32> logprobs,
//                 i64 policy version, i64 iteration
//   finish      = u8: 0 stop, 1 length, 2 repeat, 3 budget (unfinished)
//   trajectory  = u64 id, u64 group, list<i32> prompt tokens, list<segment>, finish, str text,
//                 bool scored, f64 reward, bool correct, str reward details
//   group       = u64 id, prompt, i64 created iteration, list<u64> trajectories,
//                 u8 state (0 collecting, 1 ready, 2 trained), i64 trained iteration,
//                 i64 trained version
//   ledger entry = trajectory, str prompt id, bool trained, str reason, i64 iteration,
//                 i64 version
//   position    = i64 iteration, i64 policy version, str sampler state
//   snapshot    = list<group>, list<trajectory>, list<ledger entry>, position,
//                 u64 next group id, u64 next trajectory id, i64 last trained version
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "replay/buffer.hpp"

namespace crescent::replay::record {

inline constexpr uint32_t kFormatVersion = 3;

// The whole state of a BufferState, as a snapshot holds it.
struct Image {
  std::map<uint64_t, Group> groups;
  std::map<uint64_t, Trajectory> trajectories;
  std::vector<LedgerEntry> pending_ledger;
  Position position;
  uint64_t next_group_id = 1;
  uint64_t next_trajectory_id = 1;
  PolicyVersion last_trained_version = -1;
};

// Bytes that do not decode under this version's grammar.
class RecordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string EncodeChanges(const std::vector<Change>& changes);
std::vector<Change> DecodeChanges(std::string_view record);
std::string EncodeImage(const Image& image);
Image DecodeImage(std::string_view snapshot);

}  // namespace crescent::replay::record
