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

TEST(WsFrames, Utf8CheckAcceptsValidTextSplitAnywhere) {
  const std::string text = "a\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80z";  // a, ä, €, 😀, z
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    Utf8Check u;
    EXPECT_TRUE(u.feed(std::string_view(text).substr(0, cut))) << cut;
    EXPECT_TRUE(u.feed(std::string_view(text).substr(cut))) << cut;
    EXPECT_TRUE(u.complete()) << cut;
  }
  Utf8Check half;
  EXPECT_TRUE(half.feed("\xe2\x82"));  // a valid start, not yet a character
  EXPECT_FALSE(half.complete());
}

TEST(WsFrames, Utf8CheckRejectsInvalidSequences) {
  for (std::string bad : {"\xff", "\x80", "\xc0\xaf" /* overlong '/' */, "\xe0\x80\xaf", "\xed\xa0\x80" /* surrogate */,
                          "\xf4\x90\x80\x80" /* > U+10FFFF */, "\xf5\x80\x80\x80", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"}) {
    Utf8Check u;
    EXPECT_FALSE(u.feed(bad) && u.complete()) << bad;
  }
}

TEST(WsFrames, CloseCodes) {
  for (std::uint16_t ok : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999})
    EXPECT_TRUE(valid_close_code(ok)) << ok;
  for (std::uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535})
    EXPECT_FALSE(valid_close_code(bad)) << bad;
}

TEST(WsFrames, MessageRulesOverFrames) {
  auto close_payload = [](std::uint16_t code, std::string_view reason = "") {
    std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    return p + std::string(reason);
  };
  {  // a continuation frame with no message started: 1002
    MessageRules r;
    EXPECT_EQ(r.check(0x0, true, "x").close_code, 1002);
  }
  {  // fragments of a text message, a ping in between, then a second message: fine
    MessageRules r;
    EXPECT_EQ(r.check(0x1, false, "h\xc3").close_code, 0);
    EXPECT_EQ(r.check(0x9, true, "").close_code, 0);
    EXPECT_EQ(r.check(0x0, true, "\xa4llo").close_code, 0);
    EXPECT_EQ(r.check(0x2, true, "\xff\xfe").close_code, 0);  // binary: any bytes
    EXPECT_EQ(r.check(0x0, true, "").close_code, 1002);        // that message is over
  }
  {  // a new data frame inside a fragmented message: 1002
    MessageRules r;
    EXPECT_EQ(r.check(0x2, false, "").close_code, 0);
    EXPECT_EQ(r.check(0x1, true, "x").close_code, 1002);
  }
  {  // invalid UTF-8 in a text frame, in a later fragment, or cut short at the end: 1007
    MessageRules a, b, c;
    EXPECT_EQ(a.check(0x1, true, "ok\xc0\xaf").close_code, 1007);
    EXPECT_EQ(b.check(0x1, false, "ok").close_code, 0);
    EXPECT_EQ(b.check(0x0, true, "\xed\xa0\x80").close_code, 1007);
    EXPECT_EQ(c.check(0x1, true, "\xe2\x82").close_code, 1007);
  }
  {  // close frames: empty or a valid code are fine; 1 byte, invalid codes: 1002; bad reason: 1007
    MessageRules r;
    EXPECT_EQ(r.check(0x8, true, "").close_code, 0);
    EXPECT_EQ(r.check(0x8, true, close_payload(1000, "bye")).close_code, 0);
    EXPECT_EQ(r.check(0x8, true, close_payload(4000)).close_code, 0);
    EXPECT_EQ(r.check(0x8, true, "\x03").close_code, 1002);
    for (std::uint16_t bad : {999, 1005, 1006, 5000})
      EXPECT_EQ(r.check(0x8, true, close_payload(bad)).close_code, 1002) << bad;
    EXPECT_EQ(r.check(0x8, true, close_payload(1000, "\xff")).close_code, 1007);
  }
}

}  // namespace
}  // namespace callbridge::api::ws
