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

// RecordParser fed in pieces of any size decides exactly as over the whole contents: the same
// chunks, the same truncation, the same error at the same byte.
TEST(AmiRecord, ParserInPiecesAgreesWithWholeContents) {
  const std::string m(kRecordMagic);
  const std::vector<std::string> inputs = {
      m + "# c\n# second comment line that is rather long, longer than sixty-four bytes for sure\n10 3\nabc\n20 0\n\n",
      m + "# c\n10 3\nabc\n20 5\nab", m + "10 3\nabc\n20 ", m + "10 3\nabc\n20 3\nabc", "hello\n",
      m.substr(0, 10), m + "x 3\nabc\n", m + "10 3\nabcd\n", m + "10\nabc\n", m + "-5 1\na\n",
      m + "10 99999999999\n", m + std::string(200, '9'), m + "10 1\na\n# not a comment after a chunk\n",
      m + "# unterminated comment that is longer than sixty-four bytes ........................",
      m + "# short unterminated"};
  struct Collect final : RecordParser::Out {
    std::vector<std::string> chunks;
    std::vector<std::int64_t> times;
    void chunk_start(base::Timestamp at) override {
      chunks.emplace_back();
      times.push_back(base::to_micros(at));
    }
    void chunk_bytes(std::string_view p) override { chunks.back().append(p); }
  };
  for (const auto& in : inputs) {
    SCOPED_TRACE(in.substr(0, 60));
    auto whole = parse_record(in);
    for (std::size_t piece : {1u, 2u, 3u, 5u, 17u}) {
      RecordParser p;
      Collect out;
      base::Status st;
      for (std::size_t off = 0; off < in.size() && st; off += piece)
        st = p.feed(std::string_view(in).substr(off, piece), out);
      if (st) st = p.finish();
      ASSERT_EQ(static_cast<bool>(st), static_cast<bool>(whole)) << "piece " << piece;
      if (!whole) {
        EXPECT_EQ(st.error().message(), whole.error().message());
        EXPECT_EQ(st.error().code(), base::Errc::protocol);
        continue;
      }
      EXPECT_EQ(p.truncated(), whole->truncated);
      if (p.cut_inside_chunk()) out.chunks.pop_back();
      ASSERT_EQ(out.chunks.size(), whole->chunks.size());
      for (std::size_t i = 0; i < out.chunks.size(); ++i) {
        EXPECT_EQ(out.chunks[i], whole->chunks[i].bytes);
        EXPECT_EQ(out.times[i], base::to_micros(whole->chunks[i].at));
      }
    }
  }
  auto first = parse_record(inputs[0]);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->chunks.size(), 2u);
  EXPECT_FALSE(first->truncated);
  EXPECT_FALSE(parse_record(inputs.back())->chunks.size());
  EXPECT_TRUE(parse_record(inputs.back())->truncated);
}

TEST(AmiRecord, FileBlocksReadsInFixedBlocksWithinTheLimit) {
  TempDir dir;
  fs::create_directories(dir.path);
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes += std::to_string(i) + ",";
  std::ofstream(dir.path / "f", std::ios::binary) << bytes;
  auto f = FileBlocks::open(dir.path / "f", bytes.size(), 100);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->regular());
  EXPECT_EQ(f->size_at_open(), bytes.size());
  std::string back;
  for (int pass = 0; pass < 2; ++pass) {
    back.clear();
    for (;;) {
      auto b = f->next();
      ASSERT_TRUE(b);
      if (b->empty()) break;
      EXPECT_TRUE(b->size() == 100 || back.size() + b->size() == bytes.size());
      back.append(*b);
    }
    EXPECT_EQ(back, bytes);
    ASSERT_TRUE(f->rewind());
  }
  auto big = FileBlocks::open(dir.path / "f", bytes.size() - 1);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(big.error().message(),
            "'" + (dir.path / "f").string() + "' is larger than " + std::to_string(bytes.size() - 1) + " bytes");
  auto missing = FileBlocks::open(dir.path / "nope", 10);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), base::Errc::io);
  auto directory = read_file_limited(dir.path, 10);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code(), base::Errc::io);
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
