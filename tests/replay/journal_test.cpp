// Crash consistency of the replay journal: fault-injecting Env, SIGKILLed
// child processes, byte corruption, and a model-based property test.
#include "replay/journal.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "replay/log_format.hpp"
#include "tests/common/fault_env.hpp"
#include "tests/common/process.hpp"

namespace crescent::replay {
namespace {

using env::testing::FaultInjectionEnv;
using internal::kLogHeaderSize;

// State: the list of records applied, in order.
class ListMachine : public StateMachine {
 public:
  explicit ListMachine(uint32_t format_version = 1) : format_version(format_version) {}
  uint32_t FormatVersion() const override { return format_version; }
  void Apply(std::string_view record) override { records.emplace_back(record); }
  std::string Snapshot() const override {
    std::string out;
    for (const auto& r : records) {
      uint32_t n = static_cast<uint32_t>(r.size());
      out.append(reinterpret_cast<const char*>(&n), 4);
      out += r;
    }
    return out;
  }
  void Restore(std::string_view s) override {
    records.clear();
    size_t o = 0;
    while (o < s.size()) {
      uint32_t n;
      REQUIRE(o + 4 <= s.size());
      std::memcpy(&n, s.data() + o, 4);
      REQUIRE(o + 4 + n <= s.size());
      records.emplace_back(s.substr(o + 4, n));
      o += 4 + n;
    }
  }
  std::vector<std::string> records;
  uint32_t format_version;
};

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/crescent-replay-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

std::string Rec(uint64_t i, size_t pad = 0) {
  return "rec-" + std::to_string(i) + std::string(pad % 97, char('a' + i % 26));
}

bool IsPrefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() > b.size()) return false;
  return std::equal(a.begin(), a.end(), b.begin());
}

TEST_CASE("fault env drops unsynced data and unsynced creations", "[replay]") {
  TempDir dir;
  FaultInjectionEnv env;
  auto f = env.NewWritableFile(dir.path + "/a");
  f->Append("durable");
  f->Sync();
  env.SyncDir(dir.path);
  f->Append("-lost");
  auto g = env.NewWritableFile(dir.path + "/b");
  g->Append("never");
  g->Sync();
  env.DropUnsyncedData();
  CHECK(env.ReadFile(dir.path + "/a") == "durable");
  CHECK_FALSE(env.FileExists(dir.path + "/b"));
}

TEST_CASE("journal keeps synced records and loses unsynced ones", "[replay]") {
  TempDir dir;
  FaultInjectionEnv env;
  JournalOptions opt;
  opt.fsync_policy = FsyncPolicy::kNever;
  {
    ListMachine sm;
    auto j = Journal::Open(&env, dir.path, opt, sm);
    for (int i = 0; i < 10; ++i) j->Append(Rec(i));
    j->Sync();
    for (int i = 10; i < 15; ++i) j->Append(Rec(i));
    CHECK(sm.records.size() == 15);
    env.Crash();
  }
  env.DropUnsyncedData();
  ListMachine sm;
  auto j = Journal::Open(&env, dir.path, opt, sm);
  REQUIRE(sm.records.size() == 10);
  CHECK(sm.records.back() == Rec(9));
}

TEST_CASE("a second opener is refused naming the holder pid", "[replay]") {
  TempDir dir;
  ListMachine a, b;
  auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, a);
  try {
    Journal::Open(Env::Posix(), dir.path, JournalOptions{}, b);
    FAIL("second open succeeded");
  } catch (const JournalIoError& e) {
    CHECK_THAT(e.what(), Catch::Contains("held by pid " + std::to_string(::getpid())));
  }
}

TEST_CASE("crash at every step of appends, checkpoints and compactions", "[replay]") {
  // Count the mutating calls of one full run, then crash after each.
  auto scenario = [](FaultInjectionEnv& env, const std::string& dir,
                     std::vector<std::string>* committed) {
    ListMachine sm;
    auto j = Journal::Open(&env, dir, JournalOptions{}, sm);
    uint64_t i = sm.records.size();
    for (int round = 0; round < 3; ++round) {
      for (int k = 0; k < 4; ++k) {
        std::string r = Rec(i++, k * 13);
        j->Append(r);
        if (!env.refused()) committed->push_back(r);
      }
      j->Checkpoint();
    }
    j->Append(Rec(i));
    if (!env.refused()) committed->push_back(Rec(i));
  };
  long total;
  {
    TempDir dir;
    FaultInjectionEnv env;
    std::vector<std::string> committed;
    scenario(env, dir.path, &committed);
    total = env.ops();
  }
  REQUIRE(total > 20);
  for (long k = 0; k <= total; ++k) {
    TempDir dir;
    FaultInjectionEnv env;
    std::vector<std::string> committed;
    {  // a first life, fully committed, so that recovery has history
      ListMachine sm;
      auto j = Journal::Open(&env, dir.path, JournalOptions{}, sm);
      j->Append("history");
      committed.push_back("history");
    }
    env.CrashAfter(env.ops() + k);
    scenario(env, dir.path, &committed);
    env.DropUnsyncedData();
    ListMachine sm;
    RecoveryReport report;
    auto j = Journal::Open(&env, dir.path, JournalOptions{}, sm, &report);
    INFO("crash after " << k << " of " << total << " calls");
    // Records whose Append returned before the crash are exactly what survives
    // (numbering restarts from the recovered state, so compare contents).
    CHECK(sm.records == committed);
  }
}

TEST_CASE("SIGKILLed child recovers what it reported committed", "[replay]") {
  TempDir dir;
  std::mt19937_64 rng(Catch::rngSeed() + 7);
  uint64_t recovered = 0;  // committed before this round's child started
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      try {
        ListMachine sm;
        auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
        uint64_t i = sm.records.size();
        std::mt19937_64 crng(static_cast<uint64_t>(::getpid()));
        for (;;) {
          if (crng() % 40 == 0) {
            j->Checkpoint();
          } else {
            j->Append(Rec(i, crng() % 300));
            ++i;
            uint64_t n = i;
            if (::write(fds[1], &n, sizeof n) != sizeof n) ::_exit(3);
          }
        }
      } catch (...) {
        ::_exit(2);
      }
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    uint64_t reported = recovered, n;  // the child may die before reporting
    while (::read(fds[0], &n, sizeof n) == sizeof n) reported = n;
    ::close(fds[0]);
    ListMachine sm;
    auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
    INFO("round " << round << " reported " << reported);
    REQUIRE(sm.records.size() >= reported);
    REQUIRE(sm.records.size() <= reported + 1);
    for (size_t i = 0; i < sm.records.size(); ++i) {
      const std::string& r = sm.records[i];
      const std::string head = Rec(i, 0);
      REQUIRE(r.rfind(head, 0) == 0);
      REQUIRE(
          (r.size() == head.size() || !std::isdigit(static_cast<unsigned char>(r[head.size()]))));
    }
    recovered = sm.records.size();
  }
}

TEST_CASE("corrupt logs: tail cut, middle refused, never a crash", "[replay]") {
  TempDir dir;
  const int kRecords = 40;
  std::vector<uint64_t> starts;  // byte offset of each record
  {
    ListMachine sm;
    auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
    uint64_t off = kLogHeaderSize;
    for (int i = 0; i < kRecords; ++i) {
      starts.push_back(off);
      std::string r = Rec(i, i * 7);
      j->Append(r);
      off += 9 + r.size();
    }
    starts.push_back(off);
  }
  const std::string log = dir.path + "/log-000001.log";
  const std::string pristine = crescent::testing::ReadFile(log);
  REQUIRE(pristine.size() == starts.back());
  std::mt19937_64 rng(Catch::rngSeed() + 11);
  for (int trial = 0; trial < 300; ++trial) {
    std::string data = pristine;
    const bool cut = trial % 3 == 0;
    // Past the log header (its damage: the next test).
    size_t pos;
    if (cut) {
      pos = kLogHeaderSize + rng() % (data.size() - kLogHeaderSize);
      data.resize(pos);
    } else {
      pos = kLogHeaderSize + rng() % (data.size() - kLogHeaderSize);
      data[pos] = static_cast<char>(data[pos] ^ (1 + rng() % 255));
    }
    crescent::testing::WriteFile(log, data);
    const int hit =
        static_cast<int>(std::upper_bound(starts.begin(), starts.end(), pos) - starts.begin()) - 1;
    ListMachine sm;
    RecoveryReport report;
    INFO("trial " << trial << (cut ? " cut at " : " flip at ") << pos << " record " << hit);
    if (cut || hit == kRecords - 1) {
      auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm, &report);
      CHECK(sm.records.size() == static_cast<size_t>(hit));
      CHECK(report.tail_truncated == (pos != starts[hit] || !cut));
      if (report.tail_truncated) CHECK(report.truncated_offset == starts[hit]);
      CHECK(crescent::testing::ReadFile(log).size() == starts[hit]);
    } else {
      try {
        Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm, &report);
        FAIL("damage in the middle was accepted");
      } catch (const JournalCorruption& e) {
        CHECK(e.file() == log);
        CHECK(e.offset() == starts[hit]);
        CHECK_THAT(e.what(), Catch::Contains(log));
      }
    }
  }
}

TEST_CASE("a log header cut short is a torn tail, a damaged one is refused", "[replay]") {
  TempDir dir;
  {
    ListMachine sm;
    auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
    j->Append("one");
  }
  const std::string log = dir.path + "/log-000001.log";
  const std::string pristine = crescent::testing::ReadFile(log);
  for (size_t pos = 0; pos < kLogHeaderSize; ++pos) {
    INFO("header byte " << pos);
    std::string flipped = pristine;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x10);
    crescent::testing::WriteFile(log, flipped);
    ListMachine sm;
    try {
      Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
      FAIL("a damaged log header was accepted");
    } catch (const JournalCorruption& e) {
      CHECK(e.file() == log);
      CHECK(e.offset() == 0);
    }
    // Cut inside the header: the segment was being created; it starts over.
    crescent::testing::WriteFile(log, pristine.substr(0, pos));
    ListMachine again;
    RecoveryReport report;
    auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, again, &report);
    CHECK(again.records.empty());
    CHECK(report.tail_truncated == (pos > 0));
    j->Append("two");
    j.reset();
    ListMachine reopened;
    Journal::Open(Env::Posix(), dir.path, JournalOptions{}, reopened);
    CHECK(reopened.records == std::vector<std::string>{"two"});
  }
}

TEST_CASE("a corrupt snapshot is refused", "[replay]") {
  TempDir dir;
  {
    ListMachine sm;
    auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
    for (int i = 0; i < 20; ++i) j->Append(Rec(i, i));
    j->Checkpoint();
    j->Append("after");
  }
  const std::string snap = dir.path + "/snapshot-000002.snap";
  const std::string pristine = crescent::testing::ReadFile(snap);
  REQUIRE(pristine.size() > 20);
  std::mt19937_64 rng(Catch::rngSeed() + 13);
  for (int trial = 0; trial < 50; ++trial) {
    std::string data = pristine;
    if (trial % 5 == 0) {
      data.resize(rng() % data.size());
    } else {
      size_t pos = rng() % data.size();
      data[pos] = static_cast<char>(data[pos] ^ (1 + rng() % 255));
    }
    crescent::testing::WriteFile(snap, data);
    ListMachine sm;
    CHECK_THROWS_AS(Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm), JournalCorruption);
  }
  crescent::testing::WriteFile(snap, pristine);
  ListMachine sm;
  auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
  CHECK(sm.records.size() == 21);
}

TEST_CASE("journal matches an in-memory model across random operations", "[replay]") {
  for (FsyncPolicy policy :
       {FsyncPolicy::kEveryCommit, FsyncPolicy::kNever, FsyncPolicy::kInterval}) {
    for (uint64_t seed = 0; seed < 4; ++seed) {
      TempDir dir;
      FaultInjectionEnv env;
      JournalOptions opt;
      opt.fsync_policy = policy;
      opt.fsync_interval = std::chrono::milliseconds(0);  // every commit, via the clock
      std::mt19937_64 rng(Catch::rngSeed() * 31 + seed);
      std::vector<std::string> model;  // applied records
      size_t durable = 0;              // prefix of model guaranteed to survive a crash
      auto sm = std::make_unique<ListMachine>();
      auto j = Journal::Open(&env, dir.path, opt, *sm);
      uint64_t next = 0;
      for (int step = 0; step < 250; ++step) {
        const int op = static_cast<int>(rng() % 100);
        INFO("policy " << int(policy) << " seed " << seed << " step " << step << " op " << op);
        if (op < 70) {
          std::string r = Rec(next++, rng() % 500);
          j->Append(r);
          model.push_back(r);
          if (policy != FsyncPolicy::kNever) durable = model.size();
        } else if (op < 75) {
          j->Sync();
          durable = model.size();
        } else if (op < 82) {
          j->Checkpoint();
          durable = model.size();
        } else if (op < 90) {  // clean reopen
          j.reset();
          sm = std::make_unique<ListMachine>();
          j = Journal::Open(&env, dir.path, opt, *sm);
          durable = model.size();
          REQUIRE(sm->records == model);
        } else {  // crash and reopen
          env.Crash();
          j.reset();
          env.DropUnsyncedData();
          sm = std::make_unique<ListMachine>();
          j = Journal::Open(&env, dir.path, opt, *sm);
          REQUIRE(IsPrefix(sm->records, model));
          REQUIRE(sm->records.size() >= durable);
          model = sm->records;
          durable = model.size();
        }
        REQUIRE(sm->records == model);
      }
    }
  }
}

TEST_CASE("concurrent appends are grouped and all applied in log order", "[replay]") {
  TempDir dir;
  ListMachine sm;
  {
    auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, sm);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) j->Append("t" + std::to_string(t) + "-" + std::to_string(i));
      });
    for (auto& th : threads) th.join();
    JournalStats s = j->Stats();
    CHECK(s.records == 800);
    CHECK(s.commits <= s.records);
  }
  ListMachine again;
  auto j = Journal::Open(Env::Posix(), dir.path, JournalOptions{}, again);
  CHECK(again.records == sm.records);
}

}  // namespace
}  // namespace crescent::replay
