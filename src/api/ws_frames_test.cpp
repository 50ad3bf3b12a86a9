// api/ws_frames: the RFC 6455 codec on its own (the sessions test it over sockets in
// ws_event_stream_test).
#include "api/ws_frames.hpp"

#include <gtest/gtest.h>

#include <string>

namespace callbridge::api::ws {
namespace {

// A masked client frame as a browser sends it.
std::string client_frame(unsigned char first, std::string_view payload, std::uint32_t mask = 0x11223344) {
  std::string f;
  f += static_cast<char>(first);
  const auto n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
  }
  const unsigned char m[4] = {static_cast<unsigned char>(mask >> 24), static_cast<unsigned char>(mask >> 16),
                              static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
  f.append(reinterpret_cast<const char*>(m), 4);
  for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ m[i % 4]);
  return f;
}

TEST(WsFrames, AcceptKeyOfTheRfcExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 1.3
}

TEST(WsFrames, TextFrameLengthEncodings) {
  EXPECT_EQ(text_frame("hi"), std::string("\x81\x02hi", 4));
  const std::string mid(300, 'x');
  auto f = text_frame(mid);
  ASSERT_EQ(f.size(), 4 + mid.size());
  EXPECT_EQ(static_cast<unsigned char>(f[1]), 126);
  EXPECT_EQ((static_cast<unsigned char>(f[2]) << 8) | static_cast<unsigned char>(f[3]), 300);
  const std::string big(70'000, 'y');
  f = text_frame(big);
  ASSERT_EQ(f.size(), 10 + big.size());
  EXPECT_EQ(static_cast<unsigned char>(f[1]), 127);
}

TEST(WsFrames, CloseAndPong) {
  EXPECT_EQ(close_frame(1001, "bye"), std::string("\x88\x05\x03\xe9" "bye", 7));
  EXPECT_EQ(pong_frame("p"), std::string("\x8a\x01p", 3));
}

TEST(WsFrames, ParsesAMaskedFrameResumably) {
  const std::string wire = client_frame(0x81, "hello");
  for (std::size_t cut = 0; cut < wire.size(); ++cut)
    EXPECT_EQ(parse_client_frame(wire.data(), cut, 1024).kind, ClientFrame::Kind::need_more) << cut;
  auto f = parse_client_frame(wire.data(), wire.size(), 1024);
  ASSERT_EQ(f.kind, ClientFrame::Kind::frame);
  EXPECT_EQ(f.opcode, 1u);
  EXPECT_TRUE(f.fin);
  EXPECT_EQ(f.size, wire.size());
  EXPECT_EQ(f.unmasked(), "hello");
  // A second frame behind it is left for the next call.
  const std::string two = wire + client_frame(0x89, "pi");
  f = parse_client_frame(two.data(), two.size(), 1024);
  EXPECT_EQ(f.size, wire.size());
  f = parse_client_frame(two.data() + wire.size(), two.size() - wire.size(), 1024);
  EXPECT_EQ(f.opcode, 9u);
  EXPECT_EQ(f.unmasked(), "pi");
}

TEST(WsFrames, ExtendedLengths) {
  const std::string mid(300, 'a'), big(70'000, 'b');
  auto w = client_frame(0x82, mid);
  auto f = parse_client_frame(w.data(), w.size(), 100'000);
  ASSERT_EQ(f.kind, ClientFrame::Kind::frame);
  EXPECT_EQ(f.length, 300u);
  w = client_frame(0x82, big);
  f = parse_client_frame(w.data(), w.size(), 100'000);
  ASSERT_EQ(f.kind, ClientFrame::Kind::frame);
  EXPECT_EQ(f.length, 70'000u);
}

TEST(WsFrames, ProtocolErrors) {
  auto expect_error = [](const std::string& w, std::uint16_t code, std::uint64_t max = 1024) {
    auto f = parse_client_frame(w.data(), w.size(), max);
    EXPECT_EQ(f.kind, ClientFrame::Kind::error);
    EXPECT_EQ(f.close_code, code);
  };
  expect_error(std::string("\x81\x02hi", 4), 1002);               // unmasked
  expect_error(client_frame(0xC1, "x"), 1002);                      // RSV1: no extensions
  expect_error(client_frame(0x89, std::string(126, 'p')), 1002);    // control frame > 125 bytes
  expect_error(client_frame(0x09, "x"), 1002);                      // fragmented control frame
  // Too big is known from the header alone: no need to wait for 2 MB of payload.
  const std::string header_only = client_frame(0x82, std::string(200'000, 'z')).substr(0, 14);
  expect_error(header_only, 1009, 64 * 1024);
}

}  // namespace
}  // namespace callbridge::api::ws
