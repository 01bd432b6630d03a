// `crescent bench journal`: journal appends against raw writes of the same
// records with the same fsync policy, and recovery against a read-and-CRC scan.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <random>

#include "bench/bench.hpp"
#include "bench/timing.hpp"
#include "common/util/log.hpp"
#include "replay/journal.hpp"
#include "replay/log_format.hpp"

namespace crescent::bench {

using namespace replay;

namespace {

class CountingMachine : public StateMachine {
 public:
  uint32_t FormatVersion() const override { return 1; }
  void Apply(std::string_view record) override {
    ++records;
    bytes += record.size();
  }
  std::string Snapshot() const override { return StrCat(records, " ", bytes); }
  void Restore(std::string_view) override {}
  uint64_t records = 0, bytes = 0;
};

}  // namespace

int JournalBenchCommand(const std::vector<std::string>& args, std::ostream& out) {
  uint64_t records = 20000, bytes = 256;
  JournalOptions options;
  options.fsync_policy = FsyncPolicy::kNever;
  std::string dir;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string& k = args[i];
    const std::string& v = args[i + 1];
    if (k == "--records") {
      records = std::stoull(v);
    } else if (k == "--bytes") {
      bytes = std::stoull(v);
    } else if (k == "--dir") {
      dir = v;
    } else if (k == "--fsync") {
      if (v == "every") {
        options.fsync_policy = FsyncPolicy::kEveryCommit;
      } else if (v == "never") {
        options.fsync_policy = FsyncPolicy::kNever;
      } else {
        options.fsync_policy = FsyncPolicy::kInterval;
        options.fsync_interval = std::chrono::milliseconds(std::stoll(v));
      }
    } else {
      out << "unknown option " << k
          << " (use --records N --bytes B --fsync every|never|MS --dir D)\n";
      return 2;
    }
  }
  if (args.size() % 2 != 0) {
    out << "option " << args.back() << " needs a value\n";
    return 2;
  }
  Env* env = Env::Posix();
  if (dir.empty()) {
    char tmpl[] = "/tmp/crescent-journal-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      out << "mkdtemp failed\n";
      return 1;
    }
    dir = tmpl;
  }
  env->CreateDir(dir);
  std::mt19937_64 rng(1);
  std::vector<std::string> payloads(std::min<uint64_t>(records, 1024));
  for (auto& p : payloads) {
    p.resize(bytes);
    for (auto& c : p) c = static_cast<char>(rng());
  }
  const double mb = double(records) * double(bytes) / 1e6;

  // Raw: one write per record, same fsync policy, no framing.
  const std::string raw_path = dir + "/raw.bin";
  auto t0 = std::chrono::steady_clock::now();
  {
    auto f = env->NewWritableFile(raw_path);
    auto last = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < records; ++i) {
      f->Append(payloads[i % payloads.size()]);
      if (options.fsync_policy == FsyncPolicy::kEveryCommit) {
        f->Sync();
      } else if (options.fsync_policy == FsyncPolicy::kInterval &&
                 std::chrono::steady_clock::now() - last >= options.fsync_interval) {
        f->Sync();
        last = std::chrono::steady_clock::now();
      }
    }
    f->Sync();
    f->Close();
  }
  const double raw_s = Seconds(t0);

  const std::string jdir = dir + "/journal";
  for (const auto& name : env->FileExists(jdir) ? env->ListDir(jdir) : std::vector<std::string>{})
    env->Remove(jdir + "/" + name);
  double journal_s;
  {
    CountingMachine sm;
    auto journal = Journal::Open(env, jdir, options, sm);
    t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < records; ++i) journal->Append(payloads[i % payloads.size()]);
    journal->Sync();
    journal_s = Seconds(t0);
  }

  // Recovery of the same files against a plain read-and-CRC pass: the first
  // recovery right after the writes (it pays for first touches: the files'
  // pages, fresh buffers), then a scan, a second recovery and a second scan;
  // the faster scan is the reference for both recoveries.
  auto scan = [&](uint64_t* scanned) {
    auto t = std::chrono::steady_clock::now();
    *scanned = 0;
    for (const auto& name : env->ListDir(jdir))
      if (name.rfind("log-", 0) == 0) *scanned += ScanLogFile(env, jdir + "/" + name);
    return Seconds(t);
  };
  uint64_t scanned = 0;
  double scan_s = 1e30;
  CountingMachine recovered;
  double recover_s = 1e30, first_s = 0;
  for (int rep = 0; rep < 2; ++rep) {
    recovered = CountingMachine();
    t0 = std::chrono::steady_clock::now();
    { auto journal = Journal::Open(env, jdir, options, recovered); }
    recover_s = std::min(recover_s, Seconds(t0));
    if (rep == 0) first_s = recover_s;
    scan_s = std::min(scan_s, scan(&scanned));
  }

  const char* policy = options.fsync_policy == FsyncPolicy::kEveryCommit ? "every commit"
                       : options.fsync_policy == FsyncPolicy::kNever     ? "never"
                                                                         : "interval";
  out << std::fixed << std::setprecision(1);
  out << "journal bench: " << records << " records of " << bytes << " B, fsync " << policy
      << ", dir " << dir << "\n";
  out << "  raw writes : " << records / raw_s << " rec/s, " << mb / raw_s << " MB/s\n";
  out << "  journal    : " << records / journal_s << " appends/s, " << mb / journal_s << " MB/s  ("
      << std::setprecision(0) << 100.0 * raw_s / journal_s << "% of raw, target >= 50%)\n";
  out << std::setprecision(2);
  out << "  scan (read+CRC): " << scan_s * 1e3 << " ms for " << scanned << " records\n";
  out << "  recovery       : first " << first_s * 1e3 << " ms (" << first_s / scan_s
      << "x scan), best " << recover_s * 1e3 << " ms (" << recover_s / scan_s << "x) for "
      << recovered.records << " records (target <= 3x)\n";
  const bool ok = recovered.records == records && scanned == records;
  if (!ok) out << "  MISMATCH: recovered " << recovered.records << " of " << records << "\n";
  for (const auto& name : env->ListDir(jdir)) env->Remove(jdir + "/" + name);
  ::rmdir(jdir.c_str());
  env->Remove(raw_path);
  if (args.end() == std::find(args.begin(), args.end(), "--dir")) ::rmdir(dir.c_str());
  return ok ? 0 : 1;
}

}  // namespace crescent::bench
