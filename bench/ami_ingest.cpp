// bench/ami_ingest: AMI ingest throughput on one core, all cases on the same in-memory synthetic
// stream (bench/synth_ami.hpp), each checked against the memchr baseline of the same run.
// Usage: ami_ingest [--events N] [--reps R] [--chunk BYTES] [--smoke] [--write FILE]; see --help.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/time.hpp"
#include "bench/memchr_baseline.hpp"
#include "bench/synth_ami.hpp"
#include "drivers/ami/ami_sink.hpp"
#include "protocols/ami/frame_reader.hpp"
#if __has_include("drivers/ami/ami_call_tracker.hpp")
#define CALLBRIDGE_BENCH_WITH_TRACKER 1
#include "drivers/ami/ami_call_tracker.hpp"
#include "core/call_trace.hpp"
#include "drivers/ami/ami_trace.hpp"
#endif

namespace callbridge::bench {
namespace {

using drivers::ami::AmiMessage;
using drivers::ami::AmiSink;
using drivers::ami::FrameReader;

// Feeds `stream` in `chunk`-byte pieces (as a socket read loop would) and hands every message to
// `consume`. Returns the digest of what was parsed.
template <typename Consume>
base::Result<IngestDigest> read_stream(std::string_view stream, std::size_t chunk, Consume&& consume) {
  FrameReader reader;
  AmiMessage m;
  IngestDigest d;
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    reader.feed(stream.substr(off, chunk));
    for (;;) {
      auto got = reader.next(m);
      if (!got) return base::fail(got.error());
      if (!*got) break;
      ++d.messages;
      d.fields += m.headers().size();
      consume(m, d);
    }
  }
  if (reader.buffered() != 0)
    return base::fail(base::Error::protocol("stream ends inside a message"));
  return d;
}

base::Result<IngestDigest> parse_only(std::string_view stream, std::size_t chunk) {
  return read_stream(stream, chunk, [](const AmiMessage& m, IngestDigest& d) {
    for (const auto& h : m.headers()) d.field(h.key, h.value);
  });
}

// Parse + call model: every message goes to an AmiSink the way the AMI session delivers them.
// The receive time advances per chunk, as it would per socket read.
base::Result<IngestDigest> parse_into_sink(std::string_view stream, std::size_t chunk, AmiSink& sink) {
  base::Timestamp t = base::from_micros(1'795'000'000'000'000);
  sink.on_session_start(t);
  std::size_t seen = 0;
  auto d = read_stream(stream, chunk, [&](const AmiMessage& m, IngestDigest& dig) {
    if (++seen % 128 == 0) t += std::chrono::microseconds(1000);
    for (const auto& h : m.headers()) dig.field(h.key, h.value);
    sink.on_message(m, t);
  });
  sink.on_session_end(t, base::Error::io("end of benchmark stream"));
  return d;
}

#ifdef CALLBRIDGE_BENCH_WITH_TRACKER
// Parse + call model with the explain trace on, as AmiDriver's tap runs it: every call event
// noted in a bounded core::CallTraceLog (its default limits) before the tracker sees it; `raw`:
// its bytes kept and formatted when read (note_ami_event, what the driver does), else formatted
// on the way in (trace_ami_event, the driver before the raw trace: the same run's "before").
// With `ids`, `traces_out` gets the JSON trace of each (empty when it has none).
base::Result<IngestDigest> parse_traced(std::string_view bytes, std::size_t chunk, bool raw,
                                        std::size_t* traced_calls, const std::vector<std::string>* ids = nullptr,
                                        std::vector<std::string>* traces_out = nullptr) {
  drivers::ami::TrackerOutputs outputs;
  outputs.on_journal = [](model::JournalEntry) {};
  outputs.on_event = [](const model::CallEvent&) {};
  drivers::ami::AmiCallTracker tracker(drivers::ami::TrackerOptions{.tenant = "default"}, std::move(outputs));
  base::ManualClock clock(base::from_micros(1'795'000'000'000'000));  // the stream's time, as live
  core::CallTraceLog traces({}, clock);
  struct Traced final : AmiSink {
    drivers::ami::AmiCallTracker& t;
    core::CallTraceLog& log;
    bool raw;
    Traced(drivers::ami::AmiCallTracker& tr, core::CallTraceLog& l, bool r) : t(tr), log(l), raw(r) {}
    void on_session_start(base::Timestamp at) override { t.on_session_start(at); }
    void on_message(const AmiMessage& m, base::Timestamp at) override {
      if (raw) drivers::ami::note_ami_event(log, m, at);
      else drivers::ami::trace_ami_event(log, m, at);
      t.on_message(m, at);
    }
    void on_session_end(base::Timestamp at, const base::Error& why) override { t.on_session_end(at, why); }
  } sink(tracker, traces, raw);
  auto d = parse_into_sink(bytes, chunk, sink);
  if (traced_calls) *traced_calls = traces.size();
  if (ids && traces_out) {
    traces_out->clear();
    for (const auto& id : *ids) {
      auto r = traces.find(id);
      traces_out->push_back(r ? core::trace_json(*r) : std::string());
    }
  }
  return d;
}
#endif

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of the calling thread: on a shared machine the wall clock also counts the time other
// processes held the core, which says nothing about the parser.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct CaseResult {
  std::string name;
  IngestDigest digest;
  std::vector<double> seconds;       // one per rep: this thread's CPU time
  std::vector<double> wall_seconds;  // one per rep: wall clock
  double best() const { return *std::min_element(seconds.begin(), seconds.end()); }
  double median() const { return median_of(seconds); }
};

base::Result<CaseResult> run_case(const std::string& name, int reps,
                                  const std::function<base::Result<IngestDigest>()>& body) {
  CaseResult r{name, {}, {}, {}};
  // One untimed warm-up: page faults on first touch and cold caches are not the parser's cost.
  if (auto warm = body(); !warm) return base::fail(base::Error::internal(name + ": " + warm.error().to_string()));
  for (int i = 0; i < reps; ++i) {
    double w0 = now_s(), t0 = thread_cpu_s();
    auto d = body();
    double t1 = thread_cpu_s(), w1 = now_s();
    if (!d) return base::fail(base::Error::internal(name + ": " + d.error().to_string()));
    if (i > 0 && !(*d == r.digest))
      return base::fail(base::Error::internal(name + ": result differs between reps"));
    r.digest = *d;
    r.seconds.push_back(t1 - t0);
    r.wall_seconds.push_back(w1 - w0);
  }
  return r;
}

// Smoke-mode invariants of the generated stream itself: every message parses, Timestamp never
// goes backwards, the count matches what the generator says it wrote.
base::Status check_stream(const SynthAmiStream& s) {
  std::int64_t last = 0;
  std::uint64_t with_ts = 0, newchannels = 0, hangups = 0;
  std::string renumbering_error;
  // Re-numbering per call instance: every Newchannel brings a Uniqueid and a channel name never
  // seen before, and every Hangup is about a channel that was created.
  std::unordered_set<std::string> uniqueids, channel_names;
  auto d = read_stream(s.bytes, 4096, [&](const AmiMessage& m, IngestDigest&) {
    if (m.event() == "Newchannel") {
      ++newchannels;
      if (!uniqueids.emplace(m.get("Uniqueid")).second || !channel_names.emplace(m.get("Channel")).second)
        renumbering_error = "Newchannel reuses " + std::string(m.get("Uniqueid")) + " / " +
                            std::string(m.get("Channel"));
    } else if (m.event() == "Hangup") {
      ++hangups;
      if (!uniqueids.contains(std::string(m.get("Uniqueid"))))
        renumbering_error = "Hangup of unknown channel " + std::string(m.get("Uniqueid"));
    }
    if (auto ts = base::parse_epoch_seconds(m.get("Timestamp"))) {
      std::int64_t us = base::to_micros(*ts);
      if (us < last) last = INT64_MAX;  // poisons the check below
      else last = us;
      ++with_ts;
    }
  });
  if (!d) return base::fail(d.error());
  if (d->messages != s.events)
    return base::fail(base::Error::internal("generator wrote " + std::to_string(s.events) +
                                            " messages, reader found " + std::to_string(d->messages)));
  if (last == INT64_MAX) return base::fail(base::Error::internal("Timestamp goes backwards"));
  if (with_ts + 1 < s.events) return base::fail(base::Error::internal("events without Timestamp"));
  if (!renumbering_error.empty()) return base::fail(base::Error::internal(renumbering_error));
  if (newchannels == 0 || hangups != newchannels)
    return base::fail(base::Error::internal(std::to_string(newchannels) + " Newchannel but " +
                                            std::to_string(hangups) + " Hangup events"));
  return {};
}

int run(int argc, char** argv) {
  CLI::App app{"AMI ingest benchmark: memchr baseline vs FrameReader vs FrameReader + call model"};
  SynthAmiOptions opt;
  opt.fixtures_dir = CALLBRIDGE_FIXTURES_DIR;
  int reps = 5;
  std::size_t chunk = 64 * 1024;
  bool smoke = false;
  std::string write_to;
  app.add_option("--events", opt.target_events, "synthetic stream size in AMI events")->capture_default_str();
  app.add_option("--concurrent", opt.concurrent_calls, "calls in progress at once")->capture_default_str();
  app.add_option("--seed", opt.seed, "generator seed")->capture_default_str();
  app.add_option("--reps", reps, "repetitions per case (best and median reported)")->capture_default_str();
  app.add_option("--chunk", chunk, "bytes per FrameReader::feed, like one socket read")->capture_default_str();
  app.add_option("--fixtures", opt.fixtures_dir, "tests/fixtures/asterisk-22 directory")->capture_default_str();
  app.add_option("--write", write_to, "also write the generated stream to this file");
  app.add_flag("--smoke", smoke, "tiny stream, 1 rep, extra consistency checks (for ctest)");
  std::string profile;
  app.add_option("--profile", profile,
                 "run one case --reps times, untimed, then exit (for perf/callgrind): baseline, parse, model, "
                 "trace (model + explain trace, raw), trace-formatted (formatted on the way in)")
      ->check(CLI::IsMember({"baseline", "parse", "model", "trace", "trace-formatted"}));
  CLI11_PARSE(app, argc, argv);
  if (smoke) {
    opt.target_events = 3000;
    opt.concurrent_calls = 20;
    reps = 1;
  }
  if (reps < 1 || chunk == 0) {
    std::fprintf(stderr, "--reps and --chunk must be positive\n");
    return 2;
  }

  double g0 = now_s();
  auto stream = generate_synth_ami(opt);
  if (!stream) {
    std::fprintf(stderr, "generator: %s\n", stream.error().to_string().c_str());
    return 1;
  }
  double g1 = now_s();
  const std::string& bytes = stream->bytes;
  std::printf("stream: %llu events, %llu calls (%u concurrent), %.1f MB, %.0f B/event, seed %llu, "
              "generated in %.2f s\n",
              static_cast<unsigned long long>(stream->events), static_cast<unsigned long long>(stream->calls),
              opt.concurrent_calls, bytes.size() / 1e6, double(bytes.size()) / stream->events,
              static_cast<unsigned long long>(opt.seed), g1 - g0);
  {
    // The event mix, most frequent first, so a reader can judge how realistic the stream is.
    std::vector<std::pair<std::uint64_t, std::string>> mix;
    for (const auto& [name, n] : stream->events_by_name) mix.emplace_back(n, name);
    std::sort(mix.rbegin(), mix.rend());
    std::printf("mix:");
    for (std::size_t i = 0; i < mix.size() && i < 10; ++i)
      std::printf(" %s %.1f%%%s", mix[i].second.c_str(), 100.0 * mix[i].first / stream->events,
                  i + 1 < mix.size() && i < 9 ? "," : "");
    std::printf(" (%zu event types)\n", mix.size());
  }
  if (!write_to.empty()) {
    std::ofstream f(write_to, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", write_to.c_str());
      return 1;
    }
  }
  if (smoke) {
    if (auto st = check_stream(*stream); !st) {
      std::fprintf(stderr, "stream check: %s\n", st.error().to_string().c_str());
      return 1;
    }
  }

  if (!profile.empty()) {
    base::Result<IngestDigest> d = IngestDigest{};
    std::vector<KeyValue> fields;
    for (int rep = 0; rep < reps && d; ++rep) {
    if (profile == "baseline") {
      d = memchr_split(bytes, fields);
    } else if (profile == "parse") {
      d = parse_only(bytes, chunk);
    } else if (profile == "trace" || profile == "trace-formatted") {
#ifdef CALLBRIDGE_BENCH_WITH_TRACKER
      d = parse_traced(bytes, chunk, profile == "trace", nullptr);
#else
      std::fprintf(stderr, "AmiCallTracker is not in this tree\n");
      return 1;
#endif
    } else {
#ifdef CALLBRIDGE_BENCH_WITH_TRACKER
      drivers::ami::AmiCallTracker tracker(drivers::ami::TrackerOptions{.tenant = "default"}, {});
      d = parse_into_sink(bytes, chunk, tracker);
#else
      std::fprintf(stderr, "AmiCallTracker is not in this tree\n");
      return 1;
#endif
    }
    }
    if (!d) {
      std::fprintf(stderr, "%s\n", d.error().to_string().c_str());
      return 1;
    }
    std::printf("%s: %llu messages, %d run(s)\n", profile.c_str(), static_cast<unsigned long long>(d->messages), reps);
    return 0;
  }

  std::vector<CaseResult> results;
  std::vector<KeyValue> scratch;
  scratch.reserve(64);
  auto add = [&](base::Result<CaseResult> r) {
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
      return false;
    }
    results.push_back(std::move(*r));
    return true;
  };
  if (!add(run_case("memchr split (baseline)", reps, [&]() -> base::Result<IngestDigest> {
        return memchr_split(bytes, scratch);
      })))
    return 1;
  if (!add(run_case("FrameReader parse", reps, [&] { return parse_only(bytes, chunk); }))) return 1;
  if (smoke) {
    // Any chunking must give the same messages; odd sizes cross every boundary kind.
    for (std::size_t c : {1u, 7u, 997u}) {
      auto d = parse_only(bytes, c);
      if (!d || !(*d == results.back().digest)) {
        std::fprintf(stderr, "FrameReader with %zu-byte chunks differs from 64 KiB chunks\n", c);
        return 1;
      }
    }
  }
#ifdef CALLBRIDGE_BENCH_WITH_TRACKER
  // Parse + call model: the tracker with its default options; outputs are counted, as a consumer
  // that hands them on (journal writer queue, WebSocket fan-out) would at least touch them.
  std::uint64_t journal_entries = 0, call_events = 0;
  drivers::ami::TrackerStats tracker_stats;
  std::size_t live_after = 0;
  if (!add(run_case("FrameReader + AmiCallTracker", reps, [&] {
        journal_entries = call_events = 0;
        drivers::ami::TrackerOutputs outputs;
        outputs.on_journal = [&](model::JournalEntry) { ++journal_entries; };
        outputs.on_event = [&](const model::CallEvent&) { ++call_events; };
        drivers::ami::AmiCallTracker tracker(drivers::ami::TrackerOptions{.tenant = "default"}, std::move(outputs));
        auto d = parse_into_sink(bytes, chunk, tracker);
        tracker_stats = tracker.stats();
        live_after = tracker.live_channels();
        return d;
      })))
    return 1;
  // The same with the explain trace on, as AmiDriver's tap runs it: every call event noted in a
  // bounded core::CallTraceLog (its default limits) before the tracker sees it.
  std::size_t traced_calls = 0, traced_calls_formatted = 0;
  if (!add(run_case("FrameReader + AmiCallTracker + explain trace (formatted on the way in, before)", reps,
                    [&] { return parse_traced(bytes, chunk, false, &traced_calls_formatted); })))
    return 1;
  if (!add(run_case("FrameReader + AmiCallTracker + explain trace (raw, formatted when read)", reps,
                    [&] { return parse_traced(bytes, chunk, true, &traced_calls); })))
    return 1;
  if (traced_calls != traced_calls_formatted) {
    std::fprintf(stderr, "the raw trace kept %zu calls, the formatted one %zu\n", traced_calls, traced_calls_formatted);
    return 1;
  }
  std::printf("explain trace: %zu calls kept at the end (bounded by max_calls)\n", traced_calls);
  if (smoke) {
    // Read when kept raw, every call's trace must be the one formatted on the way in.
    std::vector<std::string> ids, raw_json, formatted_json;
    std::unordered_set<std::string> seen;
    (void)read_stream(bytes, chunk, [&](const AmiMessage& m, IngestDigest&) {
      if (auto l = m.get("Linkedid"); !l.empty() && seen.emplace(l).second) ids.emplace_back(l);
    });
    if (!parse_traced(bytes, chunk, true, nullptr, &ids, &raw_json) ||
        !parse_traced(bytes, chunk, false, nullptr, &ids, &formatted_json))
      return 1;
    std::size_t nonempty = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (raw_json[i] != formatted_json[i]) {
        std::fprintf(stderr, "trace of %s differs:\nraw:       %s\nformatted: %s\n", ids[i].c_str(),
                     raw_json[i].c_str(), formatted_json[i].c_str());
        return 1;
      }
      nonempty += !raw_json[i].empty();
    }
    if (nonempty == 0) {
      std::fprintf(stderr, "no call's trace could be read\n");
      return 1;
    }
    std::printf("explain trace: %zu traces read raw equal those formatted on the way in\n", nonempty);
  }
  if (smoke && traced_calls == 0) {
    std::fprintf(stderr, "the explain trace noted no call\n");
    return 1;
  }
  std::printf("tracker: %llu messages, %llu handled, %llu ignored, %llu unknown channel, "
              "%llu dropped channels; %llu call events, %llu journal entries for %llu calls; "
              "%zu channels live at end\n",
              static_cast<unsigned long long>(tracker_stats.messages),
              static_cast<unsigned long long>(tracker_stats.handled),
              static_cast<unsigned long long>(tracker_stats.ignored),
              static_cast<unsigned long long>(tracker_stats.unknown_channel),
              static_cast<unsigned long long>(tracker_stats.dropped_channels),
              static_cast<unsigned long long>(call_events), static_cast<unsigned long long>(journal_entries),
              static_cast<unsigned long long>(stream->calls), live_after);
  if (smoke) {
    // The model must have done real work on the synthetic calls, not skipped them.
    if (tracker_stats.messages != stream->events || tracker_stats.handled == 0 || journal_entries == 0 ||
        call_events == 0) {
      std::fprintf(stderr, "tracker did no work on the synthetic stream\n");
      return 1;
    }
  }
#else
  std::printf("(AmiCallTracker not in this tree: parse + model case skipped)\n");
#endif

  const IngestDigest& base = results.front().digest;
  for (const auto& r : results) {
    if (!(r.digest == base)) {
      std::fprintf(stderr, "%s: %llu messages / %llu fields / hash %llx, baseline %llu / %llu / %llx\n",
                   r.name.c_str(), static_cast<unsigned long long>(r.digest.messages),
                   static_cast<unsigned long long>(r.digest.fields),
                   static_cast<unsigned long long>(r.digest.hash),
                   static_cast<unsigned long long>(base.messages), static_cast<unsigned long long>(base.fields),
                   static_cast<unsigned long long>(base.hash));
      return 1;
    }
  }
  if (base.messages != stream->events) {
    std::fprintf(stderr, "baseline saw %llu messages, generator wrote %llu\n",
                 static_cast<unsigned long long>(base.messages), static_cast<unsigned long long>(stream->events));
    return 1;
  }

  std::printf("\n%d reps per case after 1 warm-up, feed chunk %zu B, one thread; "
              "rates from thread CPU time (wall-clock column: median of wall time)\n\n",
              reps, chunk);
  std::printf("| case | events/s (median) | events/s (best) | MB/s (median) | vs baseline (median) "
              "| events/s (wall, median) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  const double base_med = results.front().median();
  for (const auto& r : results) {
    double med = r.median(), best = r.best(), wall = median_of(r.wall_seconds);
    std::printf("| %s | %.2fM | %.2fM | %.0f | %.0f%% | %.2fM |\n", r.name.c_str(),
                base.messages / med / 1e6, base.messages / best / 1e6, bytes.size() / med / 1e6,
                100.0 * base_med / med, base.messages / wall / 1e6);
  }
  return 0;
}

}  // namespace
}  // namespace callbridge::bench

int main(int argc, char** argv) { return callbridge::bench::run(argc, argv); }
