// The replay buffer's record schema, version 3 (grammar: record_format.hpp).
#include "replay/record_format.hpp"

#include <cstring>
#include <type_traits>

#include "common/util/log.hpp"

namespace crescent::replay::record {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the record format is little-endian");

// Tags of the changes: part of the format, never reordered.
enum class Tag : uint8_t {
  kStartGroup = 1,
  kAddSegment = 2,
  kScoreTrajectory = 3,
  kRestartTrajectory = 4,
  kDropGroup = 5,
  kTrainGroups = 6,
  kRewind = 7,
  kCommitTraining = 8,
  kLedgerWritten = 9,
  kSetPosition = 10,
};

class Writer {
 public:
  std::string out;

  template <class T>
  void Fixed(T v) {
    static_assert(std::is_arithmetic_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
  }
  void U8(uint8_t v) { Fixed(v); }
  void U64(uint64_t v) { Fixed(v); }
  void I64(int64_t v) { Fixed(v); }
  void F64(double v) { Fixed(v); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Str(const std::string& s) {
    U64(s.size());
    out += s;
  }
  template <class T, class F>
  void List(const std::vector<T>& items, F each) {
    U64(items.size());
    for (const T& item : items) each(item);
  }
  template <class T>
  void Numbers(const std::vector<T>& items) {
    List(items, [&](T v) { Fixed(v); });
  }
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  template <class T>
  T Fixed() {
    Need(sizeof(T), "a number");
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint8_t U8() { return Fixed<uint8_t>(); }
  uint64_t U64() { return Fixed<uint64_t>(); }
  int64_t I64() { return Fixed<int64_t>(); }
  double F64() { return Fixed<double>(); }
  bool Bool() {
    const uint8_t v = U8();
    if (v > 1) Fail(StrCat("bool ", int(v)));
    return v == 1;
  }
  std::string Str() {
    const uint64_t n = U64();
    Need(n, "a string");
    std::string s(data_.data() + pos_, n);
    pos_ += n;
    return s;
  }
  // A count of items of at least min_bytes each.
  uint64_t Count(size_t min_bytes) {
    const uint64_t n = U64();
    if (n > (data_.size() - pos_) / min_bytes) Fail(StrCat("list of ", n, " items"));
    return n;
  }
  template <class T, class F>
  std::vector<T> List(size_t min_bytes, F each) {
    std::vector<T> items(Count(min_bytes));
    for (T& item : items) item = each();
    return items;
  }
  template <class T>
  std::vector<T> Numbers() {
    return List<T>(sizeof(T), [&] { return Fixed<T>(); });
  }
  void End() {
    if (pos_ != data_.size()) Fail(StrCat(data_.size() - pos_, " trailing bytes"));
  }
  [[noreturn]] void Fail(const std::string& what) const {
    throw RecordError(StrCat("at byte ", pos_, " of ", data_.size(), ": unexpected ", what));
  }

 private:
  void Need(uint64_t n, const char* what) {
    if (n > data_.size() - pos_) Fail(StrCat("end of data (", what, ")"));
  }
  std::string_view data_;
  size_t pos_ = 0;
};

// ---- finish reasons and other enumerations: explicit codes, not the enums'
// own values, which belong to the wire or to memory.

uint8_t FinishCode(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return 0;
    case FinishReason::kLength:
      return 1;
    case FinishReason::kRepeat:
      return 2;
    case FinishReason::kBudget:
      return 3;
  }
  throw RecordError(StrCat("finish reason ", int(r), " has no record code"));
}
FinishReason ReadFinish(Reader& r) {
  switch (const uint8_t code = r.U8()) {
    case 0:
      return FinishReason::kStop;
    case 1:
      return FinishReason::kLength;
    case 2:
      return FinishReason::kRepeat;
    case 3:
      return FinishReason::kBudget;
    default:
      r.Fail(StrCat("finish reason code ", int(code)));
  }
}

uint8_t SourceCode(SegmentSource s) { return s == SegmentSource::kPolicy ? 0 : 1; }
SegmentSource ReadSource(Reader& r) {
  const uint8_t code = r.U8();
  if (code > 1) r.Fail(StrCat("segment source code ", int(code)));
  return code == 0 ? SegmentSource::kPolicy : SegmentSource::kEnvironment;
}

uint8_t StateCode(GroupState s) {
  switch (s) {
    case GroupState::kCollecting:
      return 0;
    case GroupState::kReady:
      return 1;
    case GroupState::kTrained:
      return 2;
  }
  throw RecordError(StrCat("group state ", int(s), " has no record code"));
}
GroupState ReadState(Reader& r) {
  switch (const uint8_t code = r.U8()) {
    case 0:
      return GroupState::kCollecting;
    case 1:
      return GroupState::kReady;
    case 2:
      return GroupState::kTrained;
    default:
      r.Fail(StrCat("group state code ", int(code)));
  }
}

// ---- structures

void Put(Writer& w, const task::Prompt& p) {
  w.Str(p.id);
  w.Str(p.text);
  w.U64(p.metadata.size());
  for (const auto& [key, value] : p.metadata) {
    w.Str(key);
    w.Str(value);
  }
  w.U64(p.messages.size());
  for (const task::Message& m : p.messages) {
    w.Str(m.role);
    w.Str(m.content);
  }
  w.U64(p.json_metadata.size());
  for (const auto& key : p.json_metadata) w.Str(key);
}
task::Prompt ReadPrompt(Reader& r) {
  task::Prompt p;
  p.id = r.Str();
  p.text = r.Str();
  for (uint64_t n = r.Count(16); n > 0; --n) {
    std::string key = r.Str();
    p.metadata[std::move(key)] = r.Str();
  }
  for (uint64_t n = r.Count(16); n > 0; --n) {
    task::Message m;
    m.role = r.Str();
    m.content = r.Str();
    p.messages.push_back(std::move(m));
  }
  for (uint64_t n = r.Count(8); n > 0; --n) p.json_metadata.insert(r.Str());
  return p;
}

void Put(Writer& w, const Segment& s) {
  w.U8(SourceCode(s.source));
  w.Numbers(s.tokens);
  w.Numbers(s.logprobs);
  w.I64(s.policy_version);
  w.I64(s.iteration);
}
Segment ReadSegment(Reader& r) {
  Segment s;
  s.source = ReadSource(r);
  s.tokens = r.Numbers<int32_t>();
  s.logprobs = r.Numbers<float>();
  s.policy_version = r.I64();
  s.iteration = r.I64();
  return s;
}

void Put(Writer& w, const Trajectory& t) {
  w.U64(t.id);
  w.U64(t.group_id);
  w.Numbers(t.prompt_tokens);
  w.List(t.segments, [&](const Segment& s) { Put(w, s); });
  w.U8(FinishCode(t.finish));
  w.Str(t.text);
  w.Bool(t.scored);
  w.F64(t.reward);
  w.Bool(t.correct);
  w.Str(t.reward_details);
}
Trajectory ReadTrajectory(Reader& r) {
  Trajectory t;
  t.id = r.U64();
  t.group_id = r.U64();
  t.prompt_tokens = r.Numbers<int32_t>();
  t.segments = r.List<Segment>(33, [&] { return ReadSegment(r); });
  t.finish = ReadFinish(r);
  t.text = r.Str();
  t.scored = r.Bool();
  t.reward = r.F64();
  t.correct = r.Bool();
  t.reward_details = r.Str();
  return t;
}

void Put(Writer& w, const Group& g) {
  w.U64(g.id);
  Put(w, g.prompt);
  w.I64(g.created_iteration);
  w.Numbers(g.trajectories);
  w.U8(StateCode(g.state));
  w.I64(g.trained_iteration);
  w.I64(g.trained_version);
}
Group ReadGroup(Reader& r) {
  Group g;
  g.id = r.U64();
  g.prompt = ReadPrompt(r);
  g.created_iteration = r.I64();
  g.trajectories = r.Numbers<uint64_t>();
  g.state = ReadState(r);
  g.trained_iteration = r.I64();
  g.trained_version = r.I64();
  return g;
}

void Put(Writer& w, const LedgerEntry& e) {
  Put(w, e.trajectory);
  w.Str(e.prompt_id);
  w.Bool(e.trained);
  w.Str(e.reason);
  w.I64(e.iteration);
  w.I64(e.version);
}
LedgerEntry ReadLedgerEntry(Reader& r) {
  LedgerEntry e;
  e.trajectory = ReadTrajectory(r);
  e.prompt_id = r.Str();
  e.trained = r.Bool();
  e.reason = r.Str();
  e.iteration = r.I64();
  e.version = r.I64();
  return e;
}

void Put(Writer& w, const Position& p) {
  w.I64(p.iteration);
  w.I64(p.policy_version);
  w.Str(p.sampler_state);
}
Position ReadPosition(Reader& r) {
  Position p;
  p.iteration = r.I64();
  p.policy_version = r.I64();
  p.sampler_state = r.Str();
  return p;
}

// ---- changes

void Put(Writer& w, const Change& change) {
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, StartGroup>) {
          w.U8(uint8_t(Tag::kStartGroup));
          w.U64(c.group_id);
          Put(w, c.prompt);
          w.I64(c.iteration);
          w.Numbers(c.trajectory_ids);
        } else if constexpr (std::is_same_v<T, AddSegment>) {
          w.U8(uint8_t(Tag::kAddSegment));
          w.U64(c.trajectory_id);
          w.Numbers(c.prompt_tokens);
          Put(w, c.segment);
          w.U8(FinishCode(c.finish));
          w.Str(c.text);
        } else if constexpr (std::is_same_v<T, ScoreTrajectory>) {
          w.U8(uint8_t(Tag::kScoreTrajectory));
          w.U64(c.trajectory_id);
          w.F64(c.reward);
          w.Bool(c.correct);
          w.Str(c.details);
        } else if constexpr (std::is_same_v<T, RestartTrajectory>) {
          w.U8(uint8_t(Tag::kRestartTrajectory));
          w.U64(c.old_id);
          w.U64(c.new_id);
          w.Str(c.reason);
          w.I64(c.iteration);
        } else if constexpr (std::is_same_v<T, DropGroup>) {
          w.U8(uint8_t(Tag::kDropGroup));
          w.U64(c.group_id);
          w.Str(c.reason);
          w.I64(c.iteration);
        } else if constexpr (std::is_same_v<T, TrainGroups>) {
          w.U8(uint8_t(Tag::kTrainGroups));
          w.Numbers(c.group_ids);
          w.I64(c.iteration);
          w.I64(c.policy_version);
        } else if constexpr (std::is_same_v<T, Rewind>) {
          w.U8(uint8_t(Tag::kRewind));
          w.I64(c.policy_version);
        } else if constexpr (std::is_same_v<T, CommitTraining>) {
          w.U8(uint8_t(Tag::kCommitTraining));
          w.I64(c.policy_version);
        } else if constexpr (std::is_same_v<T, LedgerWritten>) {
          w.U8(uint8_t(Tag::kLedgerWritten));
          w.U64(c.count);
        } else if constexpr (std::is_same_v<T, SetPosition>) {
          w.U8(uint8_t(Tag::kSetPosition));
          Put(w, c.position);
        }
      },
      change);
}

Change ReadChange(Reader& r) {
  switch (const uint8_t tag = r.U8()) {
    case uint8_t(Tag::kStartGroup): {
      StartGroup c;
      c.group_id = r.U64();
      c.prompt = ReadPrompt(r);
      c.iteration = r.I64();
      c.trajectory_ids = r.Numbers<uint64_t>();
      return c;
    }
    case uint8_t(Tag::kAddSegment): {
      AddSegment c;
      c.trajectory_id = r.U64();
      c.prompt_tokens = r.Numbers<int32_t>();
      c.segment = ReadSegment(r);
      c.finish = ReadFinish(r);
      c.text = r.Str();
      return c;
    }
    case uint8_t(Tag::kScoreTrajectory): {
      ScoreTrajectory c;
      c.trajectory_id = r.U64();
      c.reward = r.F64();
      c.correct = r.Bool();
      c.details = r.Str();
      return c;
    }
    case uint8_t(Tag::kRestartTrajectory): {
      RestartTrajectory c;
      c.old_id = r.U64();
      c.new_id = r.U64();
      c.reason = r.Str();
      c.iteration = r.I64();
      return c;
    }
    case uint8_t(Tag::kDropGroup): {
      DropGroup c;
      c.group_id = r.U64();
      c.reason = r.Str();
      c.iteration = r.I64();
      return c;
    }
    case uint8_t(Tag::kTrainGroups): {
      TrainGroups c;
      c.group_ids = r.Numbers<uint64_t>();
      c.iteration = r.I64();
      c.policy_version = r.I64();
      return c;
    }
    case uint8_t(Tag::kRewind):
      return Rewind{r.I64()};
    case uint8_t(Tag::kCommitTraining):
      return CommitTraining{r.I64()};
    case uint8_t(Tag::kLedgerWritten):
      return LedgerWritten{r.U64()};
    case uint8_t(Tag::kSetPosition):
      return SetPosition{ReadPosition(r)};
    default:
      r.Fail(StrCat("change tag ", int(tag)));
  }
}

}  // namespace

std::string EncodeChanges(const std::vector<Change>& changes) {
  Writer w;
  w.List(changes, [&](const Change& c) { Put(w, c); });
  return std::move(w.out);
}

std::vector<Change> DecodeChanges(std::string_view record) {
  Reader r(record);
  std::vector<Change> changes = r.List<Change>(1, [&] { return ReadChange(r); });
  r.End();
  return changes;
}

std::string EncodeImage(const Image& image) {
  Writer w;
  w.U64(image.groups.size());
  for (const auto& [id, g] : image.groups) Put(w, g);
  w.U64(image.trajectories.size());
  for (const auto& [id, t] : image.trajectories) Put(w, t);
  w.List(image.pending_ledger, [&](const LedgerEntry& e) { Put(w, e); });
  Put(w, image.position);
  w.U64(image.next_group_id);
  w.U64(image.next_trajectory_id);
  w.I64(image.last_trained_version);
  return std::move(w.out);
}

Image DecodeImage(std::string_view snapshot) {
  Reader r(snapshot);
  Image image;
  for (uint64_t n = r.Count(8); n > 0; --n) {
    Group g = ReadGroup(r);
    const uint64_t id = g.id;
    if (!image.groups.emplace(id, std::move(g)).second) r.Fail(StrCat("repeated group ", id));
  }
  for (uint64_t n = r.Count(8); n > 0; --n) {
    Trajectory t = ReadTrajectory(r);
    const uint64_t id = t.id;
    if (!image.trajectories.emplace(id, std::move(t)).second)
      r.Fail(StrCat("repeated trajectory ", id));
  }
  image.pending_ledger = r.List<LedgerEntry>(8, [&] { return ReadLedgerEntry(r); });
  image.position = ReadPosition(r);
  image.next_group_id = r.U64();
  image.next_trajectory_id = r.U64();
  image.last_trained_version = r.I64();
  r.End();
  return image;
}

}  // namespace crescent::replay::record
