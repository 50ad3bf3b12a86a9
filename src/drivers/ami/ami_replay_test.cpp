#include "drivers/ami/ami_replay.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

TEST(AmiReplay, MissingFileIsAnError) {
  FlatSink sink;
  AmiReplay r(sink);
  auto s = r.run({"/nonexistent/ami.log"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), base::Errc::io);
}

}  // namespace
}  // namespace callbridge::drivers::ami
