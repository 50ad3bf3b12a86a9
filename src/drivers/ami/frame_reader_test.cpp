#include "drivers/ami/frame_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

namespace callbridge::drivers::ami {
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

TEST(FrameReader, BinaryGarbageWithNewlinesBecomesHeaderlessLines) {
  FrameReader r({}, false);
  std::string garbage;
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>(rng()));
  r.feed(garbage);
  AmiMessage m;
  for (int i = 0; i < 100000; ++i) {
    auto got = r.next(m);
    if (!got || !*got) break;
  }
  SUCCEED();  // no crash, no hang
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
}  // namespace callbridge::drivers::ami
