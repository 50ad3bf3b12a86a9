#include "drivers/ami/ami_record.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "drivers/ami/ami_replay.hpp"

namespace callbridge::drivers::ami {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("cb-amirec-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(AmiRecord, RoundTripsBinaryChunksWithTimes) {
  TempDir dir;
  auto rec = AmiRecorder::open(dir.path / "sub");
  ASSERT_TRUE(rec) << rec.error().to_string();
  const std::string nasty("a\r\n\r\n\0b\n1 2\n", 12);
  ASSERT_TRUE((*rec)->begin_session(base::from_micros(1'795'382'931'832'317), "127.0.0.1:5038\nx"));
  ASSERT_TRUE((*rec)->append("Asterisk Call Manager/11.0.0\r\n", base::from_micros(1'795'382'931'832'400)));
  ASSERT_TRUE((*rec)->append(nasty, base::from_micros(1'795'382'931'900'000)));
  ASSERT_TRUE((*rec)->append("", base::from_micros(1'795'382'931'900'001)));
  ASSERT_TRUE((*rec)->begin_session(base::from_micros(1'795'382'940'000'000), "peer"));
  (*rec)->end_session();
  ASSERT_EQ((*rec)->files().size(), 2u);
  EXPECT_EQ((*rec)->files()[0].filename().string(), "ami-20261122T212851.832317Z-0001.amirec");
  EXPECT_LT((*rec)->files()[0].filename(), (*rec)->files()[1].filename());

  std::string raw = slurp((*rec)->files()[0]);
  EXPECT_TRUE(is_record_format(raw));
  auto parsed = parse_record(raw);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_FALSE(parsed->truncated);
  ASSERT_EQ(parsed->chunks.size(), 3u);
  EXPECT_EQ(parsed->chunks[0].bytes, "Asterisk Call Manager/11.0.0\r\n");
  EXPECT_EQ(base::to_micros(parsed->chunks[0].at), 1'795'382'931'832'400);
  EXPECT_EQ(parsed->chunks[1].bytes, nasty);
  EXPECT_EQ(parsed->chunks[2].bytes, "");

  auto second = parse_record(slurp((*rec)->files()[1]));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->chunks.empty());
}

TEST(AmiRecord, FileStopsGrowingAtTheLimitAndStaysReadable) {
  TempDir dir;
  auto rec = AmiRecorder::open(dir.path, "ami", 200);
  ASSERT_TRUE(rec);
  ASSERT_TRUE((*rec)->begin_session(base::from_micros(1), "p"));
  base::Status st;
  int written = 0;
  while ((st = (*rec)->append(std::string(40, 'a'), base::from_micros(2)))) ++written;
  EXPECT_EQ(st.error().code(), base::Errc::unavailable);
  (*rec)->end_session();
  auto raw = slurp((*rec)->files()[0]);
  EXPECT_LE(raw.size(), 200u);
  auto parsed = parse_record(raw);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->chunks.size(), static_cast<std::size_t>(written));
  EXPECT_FALSE(parsed->truncated);
}

TEST(AmiRecord, PrefixNamesFilesAndFiltersListing) {
  TempDir dir;
  auto a = AmiRecorder::open(dir.path, "pbx-a");
  auto b = AmiRecorder::open(dir.path, "pbx_b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->begin_session(base::from_micros(2'000'000), "p"));
  ASSERT_TRUE((*b)->begin_session(base::from_micros(1'000'000), "p"));
  ASSERT_TRUE((*a)->begin_session(base::from_micros(3'000'000), "p"));
  (*a)->end_session();
  (*b)->end_session();
  auto only_a = recording_files_in(dir.path, "pbx-a");
  ASSERT_TRUE(only_a);
  EXPECT_EQ(*only_a, (*a)->files());
  auto all = recording_files_in(dir.path);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
  for (const char* bad : {"", "../x", "a b", "ä"}) {
    auto r = AmiRecorder::open(dir.path, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
  }
  EXPECT_FALSE(recording_files_in(dir.path / "missing"));
}

TEST(AmiRecord, CutShortTailIsKeptOutAndReported) {
  std::string f = std::string(kRecordMagic) + "# c\n10 3\nabc\n20 5\nab";
  auto r = parse_record(f);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->truncated);
  ASSERT_EQ(r->chunks.size(), 1u);
  auto r2 = parse_record(std::string(kRecordMagic) + "10 3\nabc\n20 ");
  ASSERT_TRUE(r2);
  EXPECT_TRUE(r2->truncated);
}

TEST(AmiRecord, MalformedFilesAreClearErrors) {
  for (const std::string& bad :
       {std::string("hello\n"), std::string(kRecordMagic) + "x 3\nabc\n",
        std::string(kRecordMagic) + "10 3\nabcd\n", std::string(kRecordMagic) + "10\nabc\n",
        std::string(kRecordMagic) + "-5 1\na\n", std::string(kRecordMagic) + "10 99999999999\n",
        std::string(kRecordMagic) + std::string(200, '9')}) {
    auto r = parse_record(bad);
    ASSERT_FALSE(r) << bad.substr(0, 60);
    EXPECT_EQ(r.error().code(), base::Errc::protocol);
  }
  RecordLimits small;
  small.max_chunk_bytes = 2;
  EXPECT_FALSE(parse_record(std::string(kRecordMagic) + "10 3\nabc\n", small));
}

TEST(AmiRecord, FileSizeLimit) {
  TempDir dir;
  fs::create_directories(dir.path);
  std::ofstream(dir.path / "f") << std::string(1000, 'x');
  EXPECT_TRUE(read_file_limited(dir.path / "f", 1000));
  auto r = read_file_limited(dir.path / "f", 999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
}

struct CountSink : AmiSink {
  std::vector<std::int64_t> times;
  int starts = 0;
  void on_session_start(base::Timestamp) override { ++starts; }
  void on_message(const AmiMessage&, base::Timestamp at) override { times.push_back(base::to_micros(at)); }
  void on_session_end(base::Timestamp, const base::Error&) override {}
};

TEST(AmiRecord, ReplayUsesRecordedReceiveTimes) {
  TempDir dir;
  auto rec = AmiRecorder::open(dir.path);
  ASSERT_TRUE(rec);
  ASSERT_TRUE((*rec)->begin_session(base::from_micros(1000), "p"));
  ASSERT_TRUE((*rec)->append("Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\nEvent: A\r\n",
                             base::from_micros(2000)));
  ASSERT_TRUE((*rec)->append("Timestamp: 5.0\r\n\r\nEvent: B\r\n\r\n", base::from_micros(3000)));
  (*rec)->end_session();
  for (auto mode : {ReplayChunking::whole, ReplayChunking::fixed}) {
    CountSink sink;
    AmiReplayOptions o;
    o.chunking = mode;
    o.chunk_bytes = 3;
    AmiReplay replay(sink, o);
    auto s = replay.run((*rec)->files());
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->files[0].record_format);
    EXPECT_EQ(sink.starts, 1);
    // A completes in the second read, so it was received at 3000 (not its Timestamp 5.0).
    EXPECT_EQ(sink.times, (std::vector<std::int64_t>{3000, 3000}));
  }
}

}  // namespace
}  // namespace callbridge::drivers::ami
