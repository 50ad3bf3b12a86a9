// FrameReader / append_frame: both framings, detection, any chunking, limits and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/csta/framing.hpp"

namespace callbridge::protocols::csta {
namespace {

using namespace std::string_literals;

std::string framed(int invoke, std::string_view xml) {
  std::string out;
  EXPECT_TRUE(append_frame(out, invoke, xml).has_value());
  return out;
}

struct Got {
  std::optional<int> invoke;
  std::string xml;
  bool operator==(const Got&) const = default;
};

// Feeds `stream` in pieces of `chunk` bytes (0: all at once) and drains after each piece.
base::Result<std::vector<Got>> read_all(std::string_view stream, std::size_t chunk, FrameLimits limits = {},
                                        Framing framing = Framing::detect) {
  FrameReader reader(limits, framing);
  std::vector<Got> got;
  Frame f;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n = chunk == 0 ? stream.size() : std::min(chunk, stream.size() - pos);
    reader.feed(stream.substr(pos, n));
    pos += n;
    for (;;) {
      auto r = reader.next(f);
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      got.push_back({f.invoke_id, std::string(f.xml)});
    }
  }
  return got;
}

constexpr std::string_view kMonitor =
    R"(<?xml version="1.0" encoding="UTF-8"?><MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><monitorObject><deviceObject>101</deviceObject></monitorObject></MonitorStart>)";
constexpr std::string_view kEvent =
    R"(<DeliveredEvent><monitorCrossRefID>7</monitorCrossRefID></DeliveredEvent>)";

TEST(CstaFraming, HeaderFrameLayout) {
  const std::string f = framed(42, "<A/>");
  ASSERT_EQ(f.size(), 12u);
  EXPECT_EQ(f.substr(0, 4), "\x00\x00\x00\x0c"s);
  EXPECT_EQ(f.substr(4, 4), "0042");
  EXPECT_EQ(f.substr(8), "<A/>");
  EXPECT_EQ(framed(kUnsolicitedInvokeId, "<A/>").substr(4, 4), "9999");
}

TEST(CstaFraming, WriterRejectsBadInvokeIdAndOversize) {
  std::string out;
  EXPECT_FALSE(append_frame(out, -1, "<A/>").has_value());
  EXPECT_FALSE(append_frame(out, 10000, "<A/>").has_value());
  const std::string big(kMaxHeaderFrameBytes - kHeaderBytes + 1, 'x');
  auto r = append_frame(out, 1, big);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("16-bit"), std::string::npos);
  EXPECT_TRUE(out.empty());
  const std::string fits(kMaxHeaderFrameBytes - kHeaderBytes, 'x');
  EXPECT_TRUE(append_frame(out, 1, fits).has_value());
  EXPECT_EQ(out.size(), kMaxHeaderFrameBytes);
}

TEST(CstaFraming, HeaderFramesWholeByteByByteAndChunked) {
  const std::string stream = framed(1, kMonitor) + framed(9999, kEvent) + framed(2, "<SystemStatusResponse/>");
  const std::vector<Got> want = {{1, std::string(kMonitor)}, {9999, std::string(kEvent)}, {2, "<SystemStatusResponse/>"}};
  for (std::size_t chunk : {0u, 1u, 2u, 3u, 7u, 8u, 9u, 64u}) {
    auto got = read_all(stream, chunk);
    ASSERT_TRUE(got.has_value()) << chunk << ": " << got.error().message();
    EXPECT_EQ(*got, want) << "chunk " << chunk;
  }
}

TEST(CstaFraming, DetectsHeaderFromFirstByte) {
  FrameReader reader;
  EXPECT_EQ(reader.framing(), Framing::detect);
  reader.feed(std::string(1, '\0'));
  Frame f;
  ASSERT_TRUE(reader.next(f).has_value());
  EXPECT_EQ(reader.framing(), Framing::header);
}

TEST(CstaFraming, HeaderlessDocumentsBackToBack) {
  const std::string stream = std::string(kMonitor) + "\r\n" + std::string(kEvent) + std::string(kEvent);
  const std::vector<Got> want = {{std::nullopt, std::string(kMonitor)}, {std::nullopt, std::string(kEvent)},
                                 {std::nullopt, std::string(kEvent)}};
  for (std::size_t chunk : {0u, 1u, 2u, 5u, 13u}) {
    auto got = read_all(stream, chunk);
    ASSERT_TRUE(got.has_value()) << chunk << ": " << got.error().message();
    EXPECT_EQ(*got, want) << "chunk " << chunk;
  }
}

TEST(CstaFraming, HeaderlessNulSeparatedAndLeadingWhitespace) {
  // Clients that end each document with '\0' (and one that starts with a newline).
  const std::string stream = "\n  "s + std::string(kEvent) + '\0' + std::string(kEvent) + '\0';
  auto got = read_all(stream, 1);
  ASSERT_TRUE(got.has_value()) << got.error().message();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].xml, kEvent);
}

TEST(CstaFraming, HeaderlessTricksDoNotEndTheDocumentEarly) {
  // '>' and '</' inside attribute values, comments, CDATA and PIs; an empty root; a DOCTYPE
  // with an internal subset.
  const std::string doc1 =
      R"(<?xml version="1.0"?><!-- </A> --><A x="a>b" y='</A>'><![CDATA[</A>]]><?pi </A>?><b/><c></c></A>)";
  const std::string doc2 = R"(<!DOCTYPE A [<!ELEMENT A ANY>]><A/>)";
  const std::string doc3 = "<A><B>x</B><!----></A>";
  for (std::size_t chunk : {0u, 1u, 3u}) {
    auto got = read_all(doc1 + doc2 + doc3, chunk);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    ASSERT_EQ(got->size(), 3u) << "chunk " << chunk;
    EXPECT_EQ((*got)[0].xml, doc1);
    EXPECT_EQ((*got)[1].xml, doc2);
    EXPECT_EQ((*got)[2].xml, doc3);
  }
}

TEST(CstaFraming, IncompleteFrameWaits) {
  const std::string f = framed(5, kEvent);
  FrameReader reader;
  reader.feed(f.substr(0, f.size() - 1));
  Frame out;
  auto r = reader.next(out);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(*r);
  reader.feed(f.substr(f.size() - 1));
  r = reader.next(out);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r);
  EXPECT_EQ(out.invoke_id, 5);
  EXPECT_EQ(reader.buffered(), 0u);
}

void expect_error(std::string_view stream, std::string_view words, FrameLimits limits = {},
                  Framing framing = Framing::detect) {
  for (std::size_t chunk : {0u, 1u}) {
    auto got = read_all(stream, chunk, limits, framing);
    ASSERT_FALSE(got.has_value()) << "no error for chunk " << chunk;
    EXPECT_EQ(got.error().code(), base::Errc::protocol);
    EXPECT_NE(got.error().message().find(words), std::string::npos) << got.error().message();
  }
}

TEST(CstaFraming, BadHeaderErrors) {
  expect_error("\x00\x01\x00\x0c" "0001<A/>"s, "0x00 0x00");
  expect_error("\x00\x00\x00\x07" "0001"s, "below the 8 header bytes");
  expect_error("\x00\x00\x00\x0c" "00x1<A/>"s, "4 ASCII digits");
  expect_error("\x01\x00\x00\x0c" "0001<A/>"s, "0x00 0x00", {}, Framing::header);
  expect_error("HELLO", "neither a CSTA header");
}

TEST(CstaFraming, OversizeHeaderFrameRefusedBeforeItIsBuffered) {
  // The length alone decides: the reader does not wait for (or hold) the oversized body.
  const std::string header = "\x00\x00\x10\x00" "0001"s;  // 4096 bytes announced
  FrameReader reader({.max_frame_bytes = 1024});
  reader.feed(header.substr(0, 4));
  Frame f;
  auto r = reader.next(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("4096 bytes exceeds the limit of 1024"), std::string::npos);
  // Final: the connection is done.
  reader.feed(framed(1, "<A/>"));
  EXPECT_FALSE(reader.next(f).has_value());
}

TEST(CstaFraming, OversizeHeaderlessDocumentStopsAtTheLimit) {
  FrameReader reader({.max_frame_bytes = 256});
  reader.feed("<A>");
  Frame f;
  base::Result<bool> r = false;
  for (int i = 0; i < 100 && r.has_value(); ++i) {
    reader.feed(std::string(10, 'x'));
    r = reader.next(f);
    EXPECT_LE(reader.buffered(), 256u + 10u);
  }
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("exceeds the limit of 256"), std::string::npos);
}

TEST(CstaFraming, GarbageBetweenHeaderlessDocuments) {
  expect_error(std::string(kEvent) + "junk" + std::string(kEvent), "between XML documents");
  expect_error("<A>\0</A>"s, "NUL byte inside");
  expect_error("</A>", "closing tag before");
}

TEST(CstaFraming, ResetStartsOver) {
  FrameReader reader;
  reader.feed("junk");
  Frame f;
  EXPECT_FALSE(reader.next(f).has_value());
  reader.reset();
  reader.feed(framed(3, "<A/>"));
  auto r = reader.next(f);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r);
  EXPECT_EQ(f.invoke_id, 3);
}

TEST(CstaFraming, HeaderlessWriterWritesTheBareDocument) {
  std::string out;
  ASSERT_TRUE(append_frame(out, Framing::headerless, 7, "<A/>").has_value());
  EXPECT_EQ(out, "<A/>");
  ASSERT_TRUE(append_frame(out, Framing::header, 7, "<A/>").has_value());
  EXPECT_EQ(out.substr(4), "\x00\x00\x00\x0c" "0007<A/>"s);
}

}  // namespace
}  // namespace callbridge::protocols::csta
