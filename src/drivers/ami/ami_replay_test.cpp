#include "drivers/ami/ami_replay.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

namespace callbridge::drivers::ami {
namespace {

namespace fs = std::filesystem;

// Flattens everything the sink sees, with times, so two runs compare as strings.
struct FlatSink : AmiSink {
  std::vector<std::string> log;
  int starts = 0, ends = 0;
  void on_session_start(base::Timestamp at) override {
    ++starts;
    log.push_back("start@" + std::to_string(base::to_micros(at)));
  }
  void on_message(const AmiMessage& m, base::Timestamp at) override {
    std::string s = std::to_string(base::to_micros(at)) + "|";
    for (const auto& h : m.headers()) s += std::string(h.key) + "=" + std::string(h.value) + ";";
    log.push_back(std::move(s));
  }
  void on_session_end(base::Timestamp at, const base::Error& why) override {
    ++ends;
    log.push_back("end@" + std::to_string(base::to_micros(at)) + ":" + why.message());
  }
};

std::vector<fs::path> scenario_files(const std::string& name) {
  fs::path dir = fs::path(CALLBRIDGE_FIXTURES_DIR) / name;
  std::vector<fs::path> out{dir / "ami.log"};
  if (fs::exists(dir / "ami-reconnect.log")) out.push_back(dir / "ami-reconnect.log");
  return out;
}

std::vector<std::string> all_scenarios() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(CALLBRIDGE_FIXTURES_DIR)) {
    if (fs::exists(e.path() / "ami.log")) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = hay.find(needle, pos)) != std::string::npos; pos += needle.size()) ++n;
  return n;
}

TEST(AmiReplay, EveryFixtureReplaysCleanlyAndChunkingDoesNotMatter) {
  auto scenarios = all_scenarios();
  ASSERT_GE(scenarios.size(), 15u);
  for (const auto& name : scenarios) {
    SCOPED_TRACE(name);
    auto files = scenario_files(name);
    FlatSink whole;
    AmiReplay r1(whole);
    auto s1 = r1.run(files);
    ASSERT_TRUE(s1) << s1.error().to_string();
    for (const auto& f : s1->files) {
      EXPECT_FALSE(f.error.has_value()) << f.name << ": " << f.error->to_string();
      EXPECT_TRUE(f.logged_in);
      EXPECT_FALSE(f.record_format);
    }
    EXPECT_EQ(whole.starts, static_cast<int>(files.size()));
    EXPECT_EQ(whole.ends, static_cast<int>(files.size()));
    // Every message after the login response reached the sink.
    std::size_t total = 0;
    for (const auto& f : files) {
      std::string c = slurp(f);
      // Message starts after the login response (the login phase consumes it, and a Challenge
      // response before it when the capture logged in with MD5, as the live suite's do).
      auto accepted = c.find("Authentication accepted");
      if (accepted != std::string::npos) c = c.substr(accepted);
      total += count_of(c, "\r\n\r\nEvent: ") + count_of(c, "\r\n\r\nResponse: ");
    }
    EXPECT_EQ(s1->messages_delivered, total);

    for (auto [mode, size] : {std::pair{ReplayChunking::fixed, std::size_t{1}},
                              std::pair{ReplayChunking::fixed, std::size_t{7}},
                              std::pair{ReplayChunking::random, std::size_t{300}}}) {
      FlatSink other;
      AmiReplayOptions o;
      o.chunking = mode;
      o.chunk_bytes = size;
      o.seed = 42;
      AmiReplay r2(other, o);
      ASSERT_TRUE(r2.run(files));
      EXPECT_EQ(other.log, whole.log) << "chunk size " << size;
    }
  }
}

TEST(AmiReplay, TwoFilesLookLikeAReconnect) {
  FlatSink sink;
  AmiReplay r(sink);
  auto s = r.run(scenario_files("ami_reconnect"));
  ASSERT_TRUE(s);
  ASSERT_EQ(s->files.size(), 2u);
  EXPECT_EQ(s->sessions_started, 2u);
  std::vector<std::size_t> marks;
  for (std::size_t i = 0; i < sink.log.size(); ++i) {
    if (sink.log[i].starts_with("start@") || sink.log[i].starts_with("end@")) marks.push_back(i);
  }
  ASSERT_EQ(marks.size(), 4u);
  EXPECT_EQ(marks[0], 0u);
  EXPECT_TRUE(sink.log[marks[1]].starts_with("end@"));
  EXPECT_TRUE(sink.log[marks[2]].starts_with("start@"));
  EXPECT_EQ(marks[2], marks[1] + 1);
  EXPECT_EQ(marks[3], sink.log.size() - 1);
  EXPECT_NE(sink.log[marks[1]].find("end of recording"), std::string::npos);
  // The second session starts at its first Timestamp (SuccessfulAuth 1795382937.951971).
  EXPECT_EQ(sink.log[marks[2]], "start@1795382937951971");
}

TEST(AmiReplay, ReceivedAtIsTheLastSeenTimestamp) {
  FlatSink sink;
  AmiReplay r(sink);
  ASSERT_TRUE(r.run_contents(
      "Asterisk Call Manager/11.0.0\r\n"
      "Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n"
      "Event: FullyBooted\r\nUptime: 1\r\n\r\n"
      "Event: A\r\nTimestamp: 100.5\r\n\r\n"
      "Response: Success\r\nActionID: resync-CoreShowChannels\r\nEventList: start\r\n\r\n"
      "Event: B\r\nTimestamp: 101.000001\r\n\r\n",
      "mem"));
  ASSERT_EQ(sink.log.size(), 6u);
  EXPECT_EQ(sink.log[0], "start@100500000");  // the first Timestamp in the file
  EXPECT_TRUE(sink.log[1].starts_with("100500000|Event=FullyBooted"));
  EXPECT_TRUE(sink.log[2].starts_with("100500000|Event=A"));
  EXPECT_TRUE(sink.log[3].starts_with("100500000|Response=Success"));
  EXPECT_TRUE(sink.log[4].starts_with("101000001|Event=B"));
  EXPECT_EQ(sink.log[5].substr(0, 14), "end@101000001:");
}

TEST(AmiReplay, Md5LoginCaptureReplaysLikeAPlainOne) {
  // A capture from an MD5 login holds the Challenge response first; replay must not care.
  FlatSink sink;
  AmiReplay r(sink);
  ASSERT_TRUE(r.run_contents("Asterisk Call Manager/11.0.0\r\n"
                             "Response: Success\r\nChallenge: 840415273\r\nActionID: login-challenge\r\n\r\n"
                             "Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n"
                             "Event: FullyBooted\r\n\r\n",
                             "md5"));
  EXPECT_EQ(sink.starts, 1);
  EXPECT_FALSE(r.stats().files[0].error.has_value());
  EXPECT_EQ(r.stats().messages_delivered, 1u);
}

TEST(AmiReplay, DropsCdrAndCelOnRequest) {
  auto files = scenario_files("inbound_answered");
  std::string c = slurp(files[0]);
  std::size_t cdr_cel = count_of(c, "\r\nEvent: Cdr\r\n") + count_of(c, "\r\nEvent: CEL\r\n");
  ASSERT_GT(cdr_cel, 0u);
  FlatSink all, filtered;
  AmiReplay r1(all);
  AmiReplayOptions o;
  o.drop_cdr_cel = true;
  AmiReplay r2(filtered, o);
  auto s1 = r1.run(files);
  auto s2 = r2.run(files);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(s2->messages_dropped, cdr_cel);
  EXPECT_EQ(s2->messages_delivered + cdr_cel, s1->messages_delivered);
  for (const auto& line : filtered.log) {
    EXPECT_EQ(line.find("|Event=Cdr;"), std::string::npos);
    EXPECT_EQ(line.find("|Event=CEL;"), std::string::npos);
  }
}

TEST(AmiReplay, GarbageEndsOnlyThatSession) {
  FlatSink sink;
  AmiReplay r(sink);
  ASSERT_TRUE(r.run_contents("Asterisk Call Manager/11.0.0\r\n"
                             "Response: Success\r\nActionID: login\r\n\r\n"
                             "Event: A\r\n\r\n" + std::string(70'000, 'x'),
                             "bad"));
  ASSERT_TRUE(r.run_contents("not a banner\r\n\r\n", "worse"));
  ASSERT_TRUE(r.run_contents("Asterisk Call Manager/11.0.0\r\n"
                             "Response: Success\r\nActionID: login\r\n\r\nEvent: B\r\n\r\n",
                             "good"));
  const auto& f = r.stats().files;
  ASSERT_EQ(f.size(), 3u);
  ASSERT_TRUE(f[0].error.has_value());
  EXPECT_EQ(f[0].error->code(), base::Errc::protocol);
  ASSERT_TRUE(f[1].error.has_value());
  EXPECT_FALSE(f[1].logged_in);
  EXPECT_FALSE(f[2].error.has_value());
  EXPECT_EQ(sink.starts, 2);
  EXPECT_EQ(sink.ends, 2);
}

// run() streams each file through FileBlocks: any block size, also one byte (every header,
// `Timestamp:` value and message cut at every position), must give what the whole file in memory gives.
TEST(AmiReplay, StreamedFilesGiveTheSameAsWholeContentsAtAnyBlockSize) {
  for (const std::string name : {"inbound_answered", "ami_reconnect", "attended_transfer"}) {
    SCOPED_TRACE(name);
    auto files = scenario_files(name);
    ASSERT_TRUE(fs::exists(files[0]));
    FlatSink in_memory;
    AmiReplay r0(in_memory);
    for (const auto& f : files) ASSERT_TRUE(r0.run_contents(slurp(f), f.string()));
    for (std::size_t block : {std::size_t{1}, std::size_t{7}, std::size_t{13}, std::size_t{4096},
                              FileBlocks::kDefaultBlockBytes}) {
      FlatSink streamed;
      AmiReplayOptions o;
      o.read_block_bytes = block;
      AmiReplay r(streamed, o);
      auto s = r.run(files);
      ASSERT_TRUE(s) << s.error().to_string();
      EXPECT_EQ(streamed.log, in_memory.log) << "block " << block;
      ASSERT_EQ(s->files.size(), files.size());
      EXPECT_EQ(s->files[0].bytes, fs::file_size(files[0]));
    }
  }
}

struct TempFiles {
  fs::path dir;
  TempFiles() {
    dir = fs::temp_directory_path() / ("cb-replay-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempFiles() { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& bytes) {
    auto p = dir / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
};

// A recording whose chunks span the read blocks: same messages and receive times as the recording
// parsed in memory, at every block size; a cut-short tail is reported and not replayed.
TEST(AmiReplay, StreamedRecordingSpansBlocksAndKeepsCutTailOut) {
  TempFiles tmp;
  const std::string capture = slurp(scenario_files("inbound_answered")[0]);
  std::string rec(kRecordMagic);
  rec += "# session 0001 peer test\n";
  std::int64_t t = 1'795'382'931'000'000;
  for (std::size_t off = 0, n = 1; off < capture.size(); off += n, n = n * 3 % 1021 + 1, t += 1000) {
    n = std::min(n, capture.size() - off);
    rec += std::to_string(t) + " " + std::to_string(n) + "\n" + capture.substr(off, n) + "\n";
  }
  const std::string cut = rec + std::to_string(t) + " 100\nEvent: Cut\r\n";
  auto whole_path = tmp.write("whole.amirec", rec);
  auto cut_path = tmp.write("cut.amirec", cut);

  FlatSink in_memory, in_memory_cut;
  AmiReplay r0(in_memory), r1(in_memory_cut);
  ASSERT_TRUE(r0.run_contents(rec, whole_path.string()));
  ASSERT_TRUE(r1.run_contents(cut, cut_path.string()));
  ASSERT_GT(in_memory.log.size(), 10u);
  for (std::size_t block : {std::size_t{1}, std::size_t{5}, std::size_t{100}, std::size_t{4096},
                            FileBlocks::kDefaultBlockBytes}) {
    SCOPED_TRACE(block);
    AmiReplayOptions o;
    o.read_block_bytes = block;
    FlatSink a, b;
    AmiReplay ra(a, o), rb(b, o);
    auto sa = ra.run({whole_path});
    ASSERT_TRUE(sa) << sa.error().to_string();
    EXPECT_TRUE(sa->files[0].record_format);
    EXPECT_FALSE(sa->files[0].truncated);
    EXPECT_EQ(a.log, in_memory.log);
    auto sb = rb.run({cut_path});
    ASSERT_TRUE(sb) << sb.error().to_string();
    EXPECT_TRUE(sb->files[0].truncated);
    EXPECT_EQ(b.log, in_memory_cut.log);  // "Event: Cut" never reached the protocol
    EXPECT_EQ(std::vector<std::string>(b.log.begin(), b.log.end() - 1),
              std::vector<std::string>(in_memory.log.begin(), in_memory.log.end() - 1));
  }
}

// Malformed or oversized files are refused with the messages of the in-memory readers, before any
// of their bytes reach the sink, however far into the file the problem is.
TEST(AmiReplay, MalformedOrHugeFilesAreRefusedBeforeReplay) {
  TempFiles tmp;
  const std::string good = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n"
                           "Event: A\r\n\r\n";
  std::string rec(kRecordMagic);
  for (int i = 0; i < 50; ++i) rec += "1000 " + std::to_string(good.size()) + "\n" + good + "\n";
  struct Case {
    std::string name, bytes, message;
    base::Errc code;
  };
  std::vector<Case> cases = {
      {"bad-header.amirec", rec + "x 3\nabc\n", "bad-header.amirec: AMI record: chunk header is not "
                                                "'<epoch_micros> <len>' at byte " + std::to_string(rec.size()),
       base::Errc::protocol},
      {"no-newline.amirec", rec + "10 3\nabcd\n", "AMI record: chunk not followed by a newline at byte " +
                                                     std::to_string(rec.size() + 8), base::Errc::protocol},
      {"huge-chunk.amirec", rec + "10 99999999999\n", "bytes exceeds the limit", base::Errc::protocol},
      {"unterminated.amirec", rec + std::string(200, '9'), "AMI record: unterminated line", base::Errc::protocol},
      {"bad-magic.amirec", "# callbridge-ami-record v2\n", "not a callbridge-ami-record v1 file",
       base::Errc::protocol},
  };
  for (std::size_t block : {std::size_t{3}, std::size_t{64}, FileBlocks::kDefaultBlockBytes}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(c.name + " block " + std::to_string(block));
      auto path = tmp.write(c.name, c.bytes);
      FlatSink sink;
      AmiReplayOptions o;
      o.read_block_bytes = block;
      AmiReplay r(sink, o);
      auto s = r.run({path});
      if (c.name == "bad-magic.amirec") {
        // Not our format: read as a plain capture, which has no AMI banner.
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->files[0].error.has_value());
        EXPECT_FALSE(s->files[0].logged_in);
        continue;
      }
      ASSERT_FALSE(s);
      EXPECT_EQ(s.error().code(), c.code);
      EXPECT_NE(s.error().message().find(c.message), std::string::npos) << s.error().message();
      EXPECT_EQ(sink.starts, 0);
      EXPECT_TRUE(sink.log.empty());
      // The in-memory parser says the same.
      auto mem = parse_record(c.bytes);
      ASSERT_FALSE(mem);
      EXPECT_NE(s.error().message().find(mem.error().message()), std::string::npos);
    }
  }
  // Larger than the limit: refused before reading, both formats.
  for (const std::string& bytes : {rec, good + std::string(5000, 'x')}) {
    auto path = tmp.write("big", bytes);
    FlatSink sink;
    AmiReplayOptions o;
    o.record_limits.max_file_bytes = bytes.size() - 1;
    AmiReplay r(sink, o);
    auto s = r.run({path});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), base::Errc::invalid_argument);
    EXPECT_EQ(s.error().message(), "'" + path.string() + "' is larger than " + std::to_string(bytes.size() - 1) +
                                       " bytes");
    EXPECT_EQ(sink.starts, 0);
  }
}

// A pipe has no size: it is read whole first (bounded by the limit), then replayed.
TEST(AmiReplay, PipeIsReadWholeWithinTheLimit) {
  TempFiles tmp;
  auto fifo = tmp.dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string capture = slurp(scenario_files("inbound_answered")[0]);
  for (std::size_t limit : {capture.size(), capture.size() - 1}) {
    std::thread writer([&] {
      std::ofstream(fifo, std::ios::binary) << capture;
    });
    FlatSink sink;
    AmiReplayOptions o;
    o.record_limits.max_file_bytes = limit;
    o.read_block_bytes = 1000;
    AmiReplay r(sink, o);
    auto s = r.run({fifo});
    if (limit == capture.size()) {
      ASSERT_TRUE(s) << s.error().to_string();
      EXPECT_FALSE(s->files[0].error.has_value());
      EXPECT_EQ(sink.starts, 1);
    } else {
      ASSERT_FALSE(s);
      EXPECT_EQ(s.error().code(), base::Errc::invalid_argument);
      EXPECT_EQ(sink.starts, 0);
      // (The limit is passed by the last byte, so the writer has written everything: no SIGPIPE.)
    }
    writer.join();
  }
}

TEST(AmiReplay, MissingFileIsAnError) {
  FlatSink sink;
  AmiReplay r(sink);
  auto s = r.run({"/nonexistent/ami.log"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::Errc::io);
}

}  // namespace
}  // namespace callbridge::drivers::ami
