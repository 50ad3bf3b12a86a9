#include "protocols/ami/frame_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

namespace callbridge::protocols::ami {
namespace {

std::vector<std::string> drain(FrameReader& r) {
  std::vector<std::string> out;
  AmiMessage m;
  for (;;) {
    auto got = r.next(m);
    EXPECT_TRUE(got.has_value()) << got.error().to_string();
    if (!got || !*got) break;
    std::string flat;
    for (const auto& h : m.headers()) {
      flat += std::string(h.key) + "=" + std::string(h.value) + ";";
    }
    out.push_back(flat);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(FrameReader, ParsesBannerAndMessages) {
  FrameReader r;
  r.feed("Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n"
         "Event: Hangup\r\nChannel: PJSIP/100-1\r\nCause-txt: Normal: Clearing\r\n\r\n");
  AmiMessage m;
  ASSERT_TRUE(*r.next(m));
  EXPECT_EQ(*r.banner(), "Asterisk Call Manager/11.0.0");
  EXPECT_EQ(m.response(), "Success");
  EXPECT_EQ(m.action_id(), "login");
  ASSERT_TRUE(*r.next(m));
  EXPECT_EQ(m.event(), "Hangup");
  EXPECT_EQ(m.get("channel"), "PJSIP/100-1");  // keys match case-insensitively
  EXPECT_EQ(m.get("Cause-txt"), "Normal: Clearing");  // only the first colon splits
  EXPECT_FALSE(*r.next(m));
}

TEST(FrameReader, EmptyValuesAndBareLf) {
  FrameReader r({}, /*expect_banner=*/false);
  r.feed("Event: X\nAccountCode: \nA:b\n\n");
  AmiMessage m;
  ASSERT_TRUE(*r.next(m));
  EXPECT_EQ(m.get("AccountCode"), "");
  EXPECT_TRUE(m.has("AccountCode"));
  EXPECT_EQ(m.get("A"), "b");
}

TEST(FrameReader, RejectsBadBanner) {
  FrameReader r;
  r.feed("HTTP/1.1 200 OK\r\n\r\n");
  AmiMessage m;
  auto got = r.next(m);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), base::Errc::protocol);
}

// Found by fuzz_ami_frame: a banner line over the limit was refused when it arrived byte by byte
// but accepted when its line end came in the same read. Same verdict whatever the split.
TEST(FrameReader, OversizeBannerIsRefusedWhateverTheSplit) {
  const std::string banner = "Asterisk Call Manager/" + std::string(600, 'h') + "\r\n";
  for (std::size_t piece : {banner.size(), std::size_t{1}, std::size_t{97}}) {
    FrameReader r({.max_message_bytes = 512, .max_headers = 8}, true);
    AmiMessage m;
    bool failed = false;
    for (std::size_t off = 0; off < banner.size() && !failed; off += piece) {
      r.feed(std::string_view(banner).substr(off, piece));
      auto got = r.next(m);
      if (!got) {
        failed = true;
        EXPECT_EQ(got.error().code(), base::Errc::protocol);
      }
    }
    EXPECT_TRUE(failed) << "pieces of " << piece;
  }
  // At the limit it is a banner.
  FrameReader ok({.max_message_bytes = 512, .max_headers = 8}, true);
  ok.feed("Asterisk Call Manager/" + std::string(512 - 23, 'h') + "\r\n");
  AmiMessage m;
  auto got = ok.next(m);
  ASSERT_TRUE(got);
  EXPECT_FALSE(*got);
}

TEST(FrameReader, OversizeLineIsAnErrorNotACrash) {
  FrameReader r({.max_message_bytes = 64 * 1024}, false);
  std::string huge(10 * 1024 * 1024, 'x');
  AmiMessage m;
  bool failed = false;
  for (std::size_t off = 0; off < huge.size() && !failed; off += 4096) {
    r.feed(std::string_view(huge).substr(off, 4096));
    auto got = r.next(m);
    if (!got) failed = true;
    EXPECT_LE(r.buffered(), 64 * 1024 + 4096u);
  }
  EXPECT_TRUE(failed);
}

// What the reader must make of any bytes (no banner), written the plain way: lines end at '\n'
// (a '\r' before it is dropped); a blank line before the first header is stray, after one it ends
// the message; "Key: Value" splits at the first ':' (one space after it dropped), a line without
// ':' is a header with an empty key. The stream fails at the first message over the limits.
struct ReferenceSplit {
  std::vector<std::vector<std::pair<std::string, std::string>>> messages;
  std::size_t stray_blank_lines = 0;
  bool failed = false;
};

ReferenceSplit reference_split(std::string_view bytes, const FrameLimits& limits) {
  ReferenceSplit out;
  std::vector<std::pair<std::string, std::string>> cur;
  std::size_t start = 0, pos = 0;  // start: first byte of the message being assembled
  for (std::size_t nl; (nl = bytes.find('\n', pos)) != std::string_view::npos; pos = nl + 1) {
    std::string_view line = bytes.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (cur.empty()) {
        ++out.stray_blank_lines;
        start = nl + 1;
        continue;
      }
      if (nl + 1 - start > limits.max_message_bytes) return out.failed = true, out;
      out.messages.push_back(std::move(cur));
      cur.clear();
      start = nl + 1;
      continue;
    }
    if (cur.size() >= limits.max_headers) return out.failed = true, out;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      cur.emplace_back("", std::string(line));
    } else {
      std::string_view v = line.substr(colon + 1);
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      cur.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
  }
  out.failed = bytes.size() - start > limits.max_message_bytes;
  return out;
}

ReferenceSplit split_with_reader(std::string_view bytes, const FrameLimits& limits, std::mt19937* chunker) {
  FrameReader r(limits, false);
  ReferenceSplit out;
  AmiMessage m;
  std::size_t fed = 0;
  while (!out.failed) {
    auto got = r.next(m);
    if (!got) {
      EXPECT_EQ(got.error().code(), base::Errc::protocol);
      out.failed = true;
      break;
    }
    if (*got) {
      auto& msg = out.messages.emplace_back();
      for (const auto& h : m.headers()) msg.emplace_back(std::string(h.key), std::string(h.value));
      continue;
    }
    if (fed == bytes.size()) break;
    std::size_t n = chunker ? std::uniform_int_distribution<std::size_t>(1, 997)(*chunker) : bytes.size();
    n = std::min(n, bytes.size() - fed);
    r.feed(bytes.substr(fed, n));
    fed += n;
    EXPECT_LE(r.buffered(), limits.max_message_bytes + n);
  }
  out.stray_blank_lines = r.stray_blank_lines();
  return out;
}

void expect_same_split(std::string_view bytes, const FrameLimits& limits, const char* what) {
  ReferenceSplit want = reference_split(bytes, limits);
  std::mt19937 chunker(11);
  for (std::mt19937* c : {static_cast<std::mt19937*>(nullptr), &chunker}) {
    ReferenceSplit got = split_with_reader(bytes, limits, c);
    const char* how = c ? "random chunks" : "one chunk";
    EXPECT_EQ(got.failed, want.failed) << what << ", " << how;
    ASSERT_EQ(got.messages.size(), want.messages.size()) << what << ", " << how;
    for (std::size_t i = 0; i < want.messages.size(); ++i)
      ASSERT_EQ(got.messages[i], want.messages[i]) << what << ", " << how << ", message " << i;
    if (!want.failed) EXPECT_EQ(got.stray_blank_lines, want.stray_blank_lines) << what << ", " << how;
  }
}

TEST(FrameReader, BinaryGarbageWithNewlinesBecomesHeaderlessLines) {
  // Random bytes, and random bytes rich in the characters the reader looks at ('\n', '\r', ':',
  // ' '): whatever the chunking, the reader yields exactly the messages of the reference split
  // (headerless lines, stray blank lines, keys and values byte for byte), then asks for more.
  std::mt19937 rng(7);
  std::string plain, rich;
  for (int i = 0; i < 100000; ++i) plain.push_back(static_cast<char>(rng()));
  static const char kSpecial[] = {'\n', '\n', '\r', ':', ' '};
  for (int i = 0; i < 200000; ++i)
    rich.push_back(rng() % 4 == 0 ? kSpecial[rng() % sizeof kSpecial] : static_cast<char>(rng()));
  ReferenceSplit rich_ref = reference_split(rich, FrameLimits{});
  ASSERT_GT(rich_ref.messages.size(), 1000u) << "the rich garbage must exercise many messages";
  ASSERT_GT(rich_ref.stray_blank_lines, 100u);
  ASSERT_FALSE(rich_ref.failed);
  expect_same_split(plain, FrameLimits{}, "random bytes");
  expect_same_split(rich, FrameLimits{}, "rich random bytes");
  // Tight limits: the same garbage must fail as a protocol error exactly where the reference does.
  ASSERT_TRUE(reference_split(rich, FrameLimits{.max_message_bytes = 512, .max_headers = 1024}).failed);
  expect_same_split(rich, FrameLimits{.max_message_bytes = 512, .max_headers = 1024}, "512-byte limit");
  ASSERT_TRUE(reference_split(rich, FrameLimits{.max_message_bytes = 64 * 1024, .max_headers = 8}).failed);
  expect_same_split(rich, FrameLimits{.max_message_bytes = 64 * 1024, .max_headers = 8}, "8-header limit");
}

// The one-pass reader keeps headers split before a chunk boundary as offsets; they must survive
// the buffer compaction that the next feed() does.
TEST(FrameReader, HeadersSplitBeforeACutSurviveCompaction) {
  FrameReader r({}, false);
  std::string first = "Event: A\r\nFiller: " + std::string(200, 'f') + "\r\n\r\n";
  r.feed(first + "Event: B\r\nKey1: v1\r\nlegacy output line\r\nKe");
  AmiMessage m;
  ASSERT_TRUE(*r.next(m));
  EXPECT_EQ(m.event(), "A");
  ASSERT_FALSE(*r.next(m));
  r.feed("y2: v2\r\n");  // compacts: the consumed head (message A) dominates the buffer
  ASSERT_FALSE(*r.next(m));
  r.feed("\r\n");
  ASSERT_TRUE(*r.next(m));
  ASSERT_EQ(m.headers().size(), 4u);
  EXPECT_EQ(m.event(), "B");
  EXPECT_EQ(m.get("Key1"), "v1");
  EXPECT_TRUE(m.headers()[2].key.empty());
  EXPECT_EQ(m.headers()[2].value, "legacy output line");
  EXPECT_EQ(m.get("Key2"), "v2");
  EXPECT_EQ(m.raw(), "Event: B\r\nKey1: v1\r\nlegacy output line\r\nKey2: v2\r\n\r\n");
  EXPECT_EQ(r.buffered(), 0u);
}

// The scan remembers how far the current line was searched and where its first ':' is; every
// cut point (inside keys, values, CRLF pairs, the 16-byte blocks) must give the same headers.
TEST(FrameReader, EveryCutPointGivesTheSameHeaders) {
  const std::string msg =
      "Event: Hangup\r\nCause-txt: Normal: Clearing\r\nNoColonHereButLongerThanSixteen\r\n"
      "AccountCode: \r\nA:b\nUniqueid: ctilab-1795382753.17\r\n\r\nEvent: Next\r\n\r\n";
  auto flat = [](const AmiMessage& m) {
    std::string out;
    for (const auto& h : m.headers()) out += std::string(h.key) + "=" + std::string(h.value) + ";";
    return out;
  };
  FrameReader whole({}, false);
  whole.feed(msg);
  AmiMessage m;
  ASSERT_TRUE(*whole.next(m));
  const std::string expected = flat(m);
  EXPECT_EQ(expected,
            "Event=Hangup;Cause-txt=Normal: Clearing;=NoColonHereButLongerThanSixteen;AccountCode=;A=b;"
            "Uniqueid=ctilab-1795382753.17;");
  for (std::size_t cut = 1; cut < msg.size(); ++cut) {
    for (std::size_t cut2 = cut; cut2 < msg.size(); cut2 += 7) {
      FrameReader r({}, false);
      std::vector<std::string> got;
      for (auto part : {std::string_view(msg).substr(0, cut), std::string_view(msg).substr(cut, cut2 - cut),
                        std::string_view(msg).substr(cut2)}) {
        r.feed(part);
        while (*r.next(m)) got.push_back(flat(m));
      }
      ASSERT_EQ(got.size(), 2u) << "cut " << cut << "/" << cut2;
      ASSERT_EQ(got[0], expected) << "cut " << cut << "/" << cut2;
      ASSERT_EQ(got[1], "Event=Next;") << "cut " << cut << "/" << cut2;
    }
  }
}

TEST(FrameReader, StrayBlankLinesAreSkippedAndCountedAcrossChunks) {
  FrameReader r({}, false);
  AmiMessage m;
  r.feed("\r\n\n\r");
  EXPECT_FALSE(*r.next(m));
  r.feed("\nEvent: X\r\n\r\n");
  ASSERT_TRUE(*r.next(m));
  EXPECT_EQ(m.event(), "X");
  EXPECT_EQ(m.raw(), "Event: X\r\n\r\n");
  EXPECT_EQ(r.stray_blank_lines(), 3u);
  EXPECT_FALSE(*r.next(m));
}

TEST(FrameReader, TooManyHeadersIsAProtocolError) {
  FrameReader r({.max_message_bytes = 64 * 1024, .max_headers = 3}, false);
  AmiMessage m;
  r.feed("A: 1\r\nB: 2\r\nC: 3\r\n\r\n");
  ASSERT_TRUE(*r.next(m));
  EXPECT_EQ(m.headers().size(), 3u);
  r.feed("A: 1\r\nB: 2\r\n");
  ASSERT_FALSE(*r.next(m));  // resumes from the split offsets
  r.feed("C: 3\r\nD: 4\r\n\r\n");
  auto got = r.next(m);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), base::Errc::protocol);
}

TEST(FrameReader, CompleteMessageOverTheLimitIsAnError) {
  FrameReader r({.max_message_bytes = 100}, false);
  AmiMessage m;
  r.feed("Event: X\r\nBig: " + std::string(120, 'x') + "\r\n\r\n");
  auto got = r.next(m);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), base::Errc::protocol);
}

TEST(FrameReader, RawViewIsTheSameForAnyChunking) {
  std::string bytes = read_file(std::string(CALLBRIDGE_FIXTURES_DIR) + "/queue/ami.log");
  ASSERT_FALSE(bytes.empty());
  auto raws = [&](std::size_t chunk) {
    FrameReader r;
    AmiMessage m;
    std::vector<std::string> out;
    for (std::size_t off = 0; off < bytes.size(); off += chunk) {
      r.feed(std::string_view(bytes).substr(off, chunk));
      while (*r.next(m)) out.emplace_back(m.raw());
    }
    return out;
  };
  auto whole = raws(bytes.size());
  ASSERT_GT(whole.size(), 20u);
  EXPECT_EQ(raws(1), whole);
  EXPECT_EQ(raws(13), whole);
  EXPECT_EQ(raws(4096), whole);
}

class FixtureChunking : public ::testing::TestWithParam<const char*> {};

TEST_P(FixtureChunking, AnyChunkingGivesTheSameMessages) {
  std::string bytes = read_file(std::string(CALLBRIDGE_FIXTURES_DIR) + "/" + GetParam() + "/ami.log");
  ASSERT_FALSE(bytes.empty());
  FrameReader whole;
  whole.feed(bytes);
  auto expected = drain(whole);
  ASSERT_GT(expected.size(), 20u);

  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    FrameReader r;
    std::vector<std::string> got;
    std::size_t off = 0;
    while (off < bytes.size()) {
      std::size_t n = std::uniform_int_distribution<std::size_t>(1, round < 5 ? 3 : 700)(rng);
      r.feed(std::string_view(bytes).substr(off, n));
      off += n;
      auto part = drain(r);
      got.insert(got.end(), part.begin(), part.end());
    }
    ASSERT_EQ(got, expected) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureChunking,
                         ::testing::Values("inbound_answered", "attended_transfer", "queue",
                                           "register"));

}  // namespace
}  // namespace callbridge::protocols::ami
