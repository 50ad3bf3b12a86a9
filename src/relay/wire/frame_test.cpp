#include "relay/wire/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace callbridge::relay::wire {
namespace {

FrameHeader sample() {
  FrameHeader h;
  h.kind = Kind::client_to_edge;
  h.flags = kFlagCallEnd | kFlagHandshake;
  h.payload_len = 3;
  for (std::size_t i = 0; i < h.client.size(); ++i) h.client[i] = static_cast<std::uint8_t>(0xa0 + i);
  h.seq = 0x0102030405060708ull;
  h.call_tag = 0xfffffffffffffffeull;
  return h;
}

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

TEST(RelayFrame, HeaderLayoutIsTheDocumentedOne) {
  const HeaderBytes b = encode_header(sample());
  const std::vector<std::uint8_t> expected = {
      1,    2,    0x00, 0x03, 0x00, 0x00, 0x00, 0x03,                          // version, kind, flags, length
      0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,  // client id
      0xac, 0xad, 0xae, 0xaf,                                                  //
      1,    2,    3,    4,    5,    6,    7,    8,                             // seq
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};                         // call tag
  EXPECT_EQ(std::vector<std::uint8_t>(b.begin(), b.end()), expected);
}

TEST(RelayFrame, RoundTrip) {
  const std::string msg = encode_frame(sample(), "abc");
  ASSERT_EQ(msg.size(), kHeaderSize + 3);
  auto v = parse_frame(as_bytes(msg));
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->header, sample());
  EXPECT_TRUE(v->header.call_end());
  EXPECT_TRUE(v->header.handshake());
  EXPECT_EQ(std::string(v->payload.begin(), v->payload.end()), "abc");
  EXPECT_EQ(v->header_bytes.size(), kHeaderSize);
  EXPECT_TRUE(std::equal(v->header_bytes.begin(), v->header_bytes.end(), encode_header(sample()).begin()));
}

TEST(RelayFrame, EncodeFrameSetsTheLengthFromThePayload) {
  FrameHeader h = sample();
  h.payload_len = 999;
  auto v = parse_frame(as_bytes(encode_frame(h, "")));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header.payload_len, 0u);
  EXPECT_TRUE(v->payload.empty());
}

TEST(RelayFrame, ShortHeaderIsRejected) {
  const std::string msg = encode_frame(sample(), "abc");
  auto h = decode_header(as_bytes(std::string_view(msg).substr(0, 39)));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code(), base::Errc::protocol);
  EXPECT_FALSE(parse_frame(std::span<const std::uint8_t>()));
}

TEST(RelayFrame, BadVersionKindAndFlagsAreRejected) {
  const std::string good = encode_frame(sample(), "abc");
  auto mutate = [&](std::size_t at, std::uint8_t value) {
    std::vector<std::uint8_t> b = bytes_of(good);
    b[at] = value;
    return parse_frame(b);
  };
  EXPECT_TRUE(mutate(0, 1));
  auto v = mutate(0, 2);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("version 2"), std::string::npos);
  EXPECT_FALSE(mutate(0, 0));
  EXPECT_FALSE(mutate(1, 0));
  EXPECT_FALSE(mutate(1, 3));
  EXPECT_TRUE(mutate(1, 1));
  auto f = mutate(3, 0x04);  // unknown flag bit 2
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("unknown flag"), std::string::npos);
  EXPECT_FALSE(mutate(2, 0x80));
}

TEST(RelayFrame, LengthMustMatchTheMessage) {
  std::string msg = encode_frame(sample(), "abc");
  auto longer = parse_frame(as_bytes(msg + "x"));
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().message().find("says 3 payload bytes, the message carries 4"), std::string::npos);
  EXPECT_FALSE(parse_frame(as_bytes(std::string_view(msg).substr(0, msg.size() - 1))));
  // A length field near 4 GiB must not wrap anything.
  std::vector<std::uint8_t> b = bytes_of(msg);
  b[4] = b[5] = b[6] = b[7] = 0xff;
  EXPECT_FALSE(parse_frame(b));
}

TEST(RelayFrame, SizeLimitCountsTheHeader) {
  const std::string payload(100, 'p');
  const std::string msg = encode_frame(sample(), payload);
  EXPECT_TRUE(parse_frame(as_bytes(msg), kHeaderSize + 100));
  auto over = parse_frame(as_bytes(msg), kHeaderSize + 99);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message().find("exceeds the limit of 139 bytes"), std::string::npos);
  EXPECT_TRUE(parse_frame(as_bytes(encode_frame(sample(), std::string(kDefaultMaxFrameBytes - kHeaderSize, 'x')))));
  EXPECT_FALSE(parse_frame(as_bytes(encode_frame(sample(), std::string(kDefaultMaxFrameBytes - kHeaderSize + 1, 'x')))));
}

TEST(RelayFrame, ClientIdHex) {
  const ClientId id = sample().client;
  EXPECT_EQ(client_id_hex(id), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  auto back = parse_client_id_hex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, id);
  EXPECT_FALSE(parse_client_id_hex(""));
  EXPECT_FALSE(parse_client_id_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaea"));
  EXPECT_FALSE(parse_client_id_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0"));
  auto bad = parse_client_id_hex("g0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), base::Errc::invalid_argument);
}

}  // namespace
}  // namespace callbridge::relay::wire
