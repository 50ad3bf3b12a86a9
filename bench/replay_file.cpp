// bench/replay_file: `callbridge replay` throughput on a ~100 MB capture file (the synthetic stream
// of bench/synth_ami.hpp written to disk, and the same bytes as a `--record` recording), against
// the memchr splitter over the same file (read whole, then split) in the same run.
// Usage: replay_file [--events N] [--reps R] [--dir DIR] [--smoke]; see --help.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.hpp"
#include "bench/memchr_baseline.hpp"
#include "bench/synth_ami.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_record.hpp"
#include "drivers/ami/ami_replay.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::bench {
namespace {

namespace fs = std::filesystem;
namespace ami = drivers::ami;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// User + system time of this thread: reading the file is part of the cost.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Peak RSS since the last reset (Linux: VmHWM, reset by writing 5 to clear_refs), in MiB.
void reset_peak_rss() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}
double peak_rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}
double rss_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// What a case delivers: messages (events) and a check value of the work done on them.
struct Outcome {
  std::uint64_t messages = 0;
  std::uint64_t journal_entries = 0;
  std::uint64_t journal_bytes = 0;
};

struct CaseResult {
  std::string name;
  Outcome outcome;
  std::vector<double> cpu, wall;
  double peak_rss_growth = 0;  // MiB above the RSS at the start of the rep, max over reps
};

base::Result<CaseResult> run_case(const std::string& name, int reps, const std::function<base::Result<Outcome>()>& body) {
  CaseResult r{name, {}, {}, {}, 0};
  if (auto warm = body(); !warm) return base::fail(base::Error::internal(name + ": " + warm.error().to_string()));
  for (int i = 0; i < reps; ++i) {
    reset_peak_rss();
    double rss0 = rss_mib();
    double w0 = now_s(), t0 = thread_cpu_s();
    auto o = body();
    double t1 = thread_cpu_s(), w1 = now_s();
    if (!o) return base::fail(base::Error::internal(name + ": " + o.error().to_string()));
    r.peak_rss_growth = std::max(r.peak_rss_growth, peak_rss_mib() - rss0);
    r.outcome = *o;
    r.cpu.push_back(t1 - t0);
    r.wall.push_back(w1 - w0);
  }
  return r;
}

// Baseline: the whole file into one buffer (sized from fstat, plain read()), then memchr_split.
base::Result<Outcome> memchr_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::fail(base::Error::io("cannot open " + path.string()));
  struct stat st {};
  ::fstat(fd, &st);
  std::string buf(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != buf.size()) return base::fail(base::Error::io("short read on " + path.string()));
  std::vector<KeyValue> scratch;
  scratch.reserve(64);
  auto d = memchr_split(buf, scratch);
  return Outcome{d.messages, 0, d.hash};
}

// The file as read before the streaming reader (kept here to measure it in the same run): an
// ifstream in 64 KiB reads appended to a growing string, then the whole string replayed at once.
base::Result<std::string> old_read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return base::fail(base::Error::io("cannot open " + path.string()));
  std::string out;
  static char buf[1 << 16];
  while (f) {
    f.read(buf, sizeof buf);
    out.append(buf, static_cast<std::size_t>(f.gcount()));
  }
  return out;
}

struct CountSink final : ami::AmiSink {
  std::uint64_t messages = 0;
  void on_session_start(base::Timestamp) override {}
  void on_message(const ami::AmiMessage&, base::Timestamp) override { ++messages; }
  void on_session_end(base::Timestamp, const base::Error&) override {}
};

// What `callbridge replay FILE` does (minus writing to stdout): replay into the AmiCallTracker,
// every journal entry turned into its JSON line. `old_path`: read and replay the file the old way.
base::Result<Outcome> replay_tracked(const fs::path& path, bool old_path) {
  Outcome o;
  ami::TrackerOutputs outputs;
  outputs.on_journal = [&](model::JournalEntry e) {
    ++o.journal_entries;
    o.journal_bytes += model::to_json_line(e).size() + 1;
  };
  ami::AmiCallTracker tracker(ami::TrackerOptions{.tenant = "default"}, std::move(outputs));
  ami::AmiReplay replay(tracker);
  if (old_path) {
    auto contents = old_read_file(path);
    if (!contents) return base::fail(contents.error());
    if (auto st = replay.run_contents(*contents, path.string()); !st) return base::fail(st.error());
  } else {
    auto s = replay.run({path});
    if (!s) return base::fail(s.error());
  }
  tracker.flush(tracker.last_event_time());
  const auto& f = replay.stats().files.front();
  if (f.error) return base::fail(*f.error);
  o.messages = replay.stats().messages_delivered;
  return o;
}

base::Result<Outcome> replay_counted(const fs::path& path) {
  CountSink sink;
  ami::AmiReplay replay(sink);
  auto s = replay.run({path});
  if (!s) return base::fail(s.error());
  if (s->files.front().error) return base::fail(*s->files.front().error);
  return Outcome{sink.messages, 0, 0};
}

// The same bytes as a recording: chunks of 1..64 KiB (as socket reads), 1 ms apart.
base::Status write_recording(const std::string& bytes, const fs::path& path) {
  std::ofstream f(path, std::ios::binary);
  f << ami::kRecordMagic << "# bench/replay_file\n";
  std::uint64_t z = 7;
  std::int64_t t = 1'795'000'000'000'000;
  for (std::size_t off = 0; off < bytes.size(); t += 1000) {
    z = z * 6364136223846793005ULL + 1442695040888963407ULL;
    std::size_t n = std::min<std::size_t>(bytes.size() - off, 1 + (z >> 33) % 65536);
    f << t << ' ' << n << '\n';
    f.write(bytes.data() + off, static_cast<std::streamsize>(n));
    f << '\n';
    off += n;
  }
  if (!f) return base::fail(base::Error::io("cannot write " + path.string()));
  return {};
}

int run(int argc, char** argv) {
  CLI::App app{"callbridge replay throughput on a capture file vs the memchr splitter over the same file"};
  SynthAmiOptions opt;
  opt.fixtures_dir = CALLBRIDGE_FIXTURES_DIR;
  opt.target_events = 207'000;
  int reps = 5;
  bool smoke = false;
  std::string dir = fs::temp_directory_path().string();
  app.add_option("--events", opt.target_events, "synthetic capture size in AMI events (207k: ~100 MB)")
      ->capture_default_str();
  app.add_option("--seed", opt.seed, "generator seed")->capture_default_str();
  app.add_option("--reps", reps, "timed repetitions per case (after one warm-up)")->capture_default_str();
  app.add_option("--dir", dir, "where the capture files are written (removed at the end)")->capture_default_str();
  app.add_flag("--smoke", smoke, "tiny capture, 1 rep, consistency checks only (for ctest)");
  std::string profile;
  app.add_option("--profile", profile,
                 "run one case --reps times, untimed, then exit (for perf/callgrind): baseline, protocol, "
                 "tracked, recording, old")
      ->check(CLI::IsMember({"baseline", "protocol", "tracked", "recording", "old"}));
  CLI11_PARSE(app, argc, argv);
  if (smoke) {
    opt.target_events = 3000;
    opt.concurrent_calls = 20;
    reps = 1;
  }
  if (reps < 1) {
    std::fprintf(stderr, "--reps must be positive\n");
    return 2;
  }

  auto stream = generate_synth_ami(opt);
  if (!stream) {
    std::fprintf(stderr, "generator: %s\n", stream.error().to_string().c_str());
    return 1;
  }
  const fs::path capture = fs::path(dir) / ("cb-replay-bench-" + std::to_string(::getpid()) + ".log");
  const fs::path recording = fs::path(dir) / ("cb-replay-bench-" + std::to_string(::getpid()) + ".amirec");
  struct Cleanup {
    fs::path a, b;
    ~Cleanup() {
      std::error_code ec;
      fs::remove(a, ec);
      fs::remove(b, ec);
    }
  } cleanup{capture, recording};
  {
    std::ofstream f(capture, std::ios::binary);
    f.write(stream->bytes.data(), static_cast<std::streamsize>(stream->bytes.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", capture.c_str());
      return 1;
    }
  }
  if (auto st = write_recording(stream->bytes, recording); !st) {
    std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
    return 1;
  }
  const std::uint64_t file_bytes = stream->bytes.size();
  const std::uint64_t events = stream->events;
  std::printf("capture: %llu events (with the login response), %llu calls, %.1f MB plain; recording of the "
              "same bytes %.1f MB; files in %s (page cache warm after the warm-up rep)\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(stream->calls),
              file_bytes / 1e6, fs::file_size(recording) / 1e6, dir.c_str());
  stream->bytes = std::string();  // the cases read the files, not this

  if (!profile.empty()) {
    for (int i = 0; i < reps; ++i) {
      auto o = profile == "baseline"    ? memchr_file(capture)
               : profile == "protocol"  ? replay_counted(capture)
               : profile == "tracked"   ? replay_tracked(capture, false)
               : profile == "recording" ? replay_tracked(recording, false)
                                        : replay_tracked(capture, true);
      if (!o) {
        std::fprintf(stderr, "%s\n", o.error().to_string().c_str());
        return 1;
      }
    }
    std::printf("%s: %d runs\n", profile.c_str(), reps);
    return 0;
  }

  std::vector<CaseResult> results;
  auto add = [&](base::Result<CaseResult> r) {
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
      return false;
    }
    results.push_back(std::move(*r));
    return true;
  };
  if (!add(run_case("memchr split of the file (baseline: read whole, split)", reps, [&] { return memchr_file(capture); })))
    return 1;
  if (!add(run_case("AmiReplay::run, protocol only (streamed file)", reps, [&] { return replay_counted(capture); })))
    return 1;
  if (!add(run_case("callbridge replay: AmiReplay::run + AmiCallTracker + journal JSON", reps,
                    [&] { return replay_tracked(capture, false); })))
    return 1;
  if (!add(run_case("the same on the .amirec recording", reps, [&] { return replay_tracked(recording, false); })))
    return 1;
  if (!add(run_case("the same, file read as before (ifstream into a growing string, run_contents)", reps,
                    [&] { return replay_tracked(capture, true); })))
    return 1;

  // Every case must have seen the same messages: the baseline counts the login response too.
  const std::uint64_t delivered = results[1].outcome.messages;
  bool ok = results[0].outcome.messages == events && delivered + 1 == events;
  for (std::size_t i = 2; i < results.size(); ++i) {
    ok = ok && results[i].outcome.messages == delivered &&
         results[i].outcome.journal_entries == results[2].outcome.journal_entries &&
         results[i].outcome.journal_bytes == results[2].outcome.journal_bytes;
  }
  if (!ok || results[2].outcome.journal_entries == 0) {
    for (const auto& r : results)
      std::fprintf(stderr, "%s: %llu messages, %llu journal entries, %llu journal bytes\n", r.name.c_str(),
                   static_cast<unsigned long long>(r.outcome.messages),
                   static_cast<unsigned long long>(r.outcome.journal_entries),
                   static_cast<unsigned long long>(r.outcome.journal_bytes));
    std::fprintf(stderr, "replay_file: the cases disagree (generator wrote %llu messages)\n",
                 static_cast<unsigned long long>(events));
    return 1;
  }
  std::printf("every case: %llu events delivered, %llu journal entries (%.1f MB of JSON lines)\n\n",
              static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>(results[2].outcome.journal_entries),
              results[2].outcome.journal_bytes / 1e6);
  std::printf("%d reps per case after 1 warm-up, one thread; rates from thread CPU time (user + system: "
              "reading the file counts), wall-clock column: median of wall time; peak RSS: growth "
              "during a rep (max)\n\n",
              reps);
  std::printf("| case | events/s (median) | events/s (best) | MB/s (median) | vs baseline (median) "
              "| events/s (wall, median) | peak RSS growth |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  const double base_med = median_of(results[0].cpu);
  for (const auto& r : results) {
    double med = median_of(r.cpu), best = *std::min_element(r.cpu.begin(), r.cpu.end());
    double wall = median_of(r.wall);
    std::printf("| %s | %.2fM | %.2fM | %.0f | %.0f%% | %.2fM | %.0f MiB |\n", r.name.c_str(), delivered / med / 1e6,
                delivered / best / 1e6, file_bytes / med / 1e6, 100.0 * base_med / med, delivered / wall / 1e6,
                r.peak_rss_growth);
  }
  return 0;
}

}  // namespace
}  // namespace callbridge::bench

int main(int argc, char** argv) { return callbridge::bench::run(argc, argv); }
