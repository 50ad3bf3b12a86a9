// libFuzzer target: the CSTA XML wire codec (protocols/csta) on the untrusted bytes of a CSTA link:
// FrameReader (8-byte header or headerless, detected) and decode() of every frame.
// Beyond "no crash, no sanitizer report" it checks what the codec promises:
// - the same frames and the same verdict whatever the chunking; frames within the limit; the
//   buffer within the limit plus one chunk;
// - what decode() accepts, encode() writes in a form decode() accepts again, and after one such
//   pass the message and its edition are a fixed point (encode/decode agree on every type);
// - a frame written by append_frame is read back as the same document with the same invoke id.
// Input: byte 0 = flags (framing, small limits), byte 1 = chunking seed, rest = the stream.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/framing.hpp"

namespace csta = callbridge::protocols::csta;

namespace {

void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) {
    std::fprintf(stderr, "csta_frame_fuzz: invariant violated: %s %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
  }
}

struct Outcome {
  std::vector<std::pair<int, std::string>> frames;  // invoke id (-1 headerless), document
  bool error = false;
  bool operator==(const Outcome&) const = default;
};

template <class NextLen>
Outcome run(std::string_view stream, csta::FrameLimits limits, csta::Framing framing, NextLen next_len) {
  Outcome out;
  csta::FrameReader reader(limits, framing);
  csta::Frame f;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t n = next_len();
    if (n == 0 || n > stream.size() - pos) n = stream.size() - pos;
    reader.feed(stream.substr(pos, n));
    pos += n;
    for (;;) {
      auto r = reader.next(f);
      if (!r) {
        out.error = true;
        return out;
      }
      if (!*r) break;
      check(f.xml.size() <= limits.max_frame_bytes, "frame above max_frame_bytes");
      if (f.invoke_id) check(*f.invoke_id >= 0 && *f.invoke_id <= 9999, "invoke id outside 0..9999");
      out.frames.emplace_back(f.invoke_id.value_or(-1), std::string(f.xml));
    }
    check(reader.buffered() <= limits.max_frame_bytes + n, "buffer above limit + one chunk");
  }
  return out;
}

constexpr csta::DecodeLimits kUnlimited{.max_document_bytes = std::numeric_limits<std::size_t>::max(),
                                        .max_depth = 64};

void check_codec(std::string_view xml) {
  auto first = csta::decode(xml);
  if (!first) {
    check(!first.error().message.empty(), "decode error without a message");
    return;
  }
  check(!csta::root_name(first->message).empty() || std::holds_alternative<csta::UnknownService>(first->message),
        "decoded message without a root name");
  // encode -> decode must succeed; one pass normalizes (trimmed texts, control characters, the
  // session namespace), after that the round trip is exact.
  const std::string once = csta::encode(first->message, first->edition);
  auto second = csta::decode(once, kUnlimited);
  check(second.has_value(), "encode() wrote what decode() refuses:", once);
  const std::string twice = csta::encode(second->message, second->edition);
  auto third = csta::decode(twice, kUnlimited);
  check(third.has_value(), "second encode() refused:", twice);
  check(third->message == second->message, "encode/decode round trip not stable:", twice);
  check(third->edition == second->edition, "edition not stable:", twice);
  check(csta::message_class(third->message) == csta::message_class(first->message), "message class changed");

  // The writer and the reader agree on the header frame.
  std::string framed;
  if (csta::append_frame(framed, 1234, twice)) {
    csta::FrameReader reader({.max_frame_bytes = csta::kMaxHeaderFrameBytes});
    reader.feed(framed);
    csta::Frame f;
    auto r = reader.next(f);
    check(r.has_value() && *r && f.invoke_id == 1234 && f.xml == twice, "append_frame not read back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  std::uint32_t seed = data[1] | 0x100u;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const csta::Framing framing = (flags & 3) == 1   ? csta::Framing::header
                                : (flags & 3) == 2 ? csta::Framing::headerless
                                                   : csta::Framing::detect;
  csta::FrameLimits limits;
  if (flags & 4) limits.max_frame_bytes = 300;  // reach the limit

  const Outcome whole = run(stream, limits, framing, [] { return std::size_t{0}; });
  const Outcome bytewise = run(stream, limits, framing, [] { return std::size_t{1}; });
  const Outcome chunked = run(stream, limits, framing, [&seed] {
    seed = seed * 1103515245u + 12345u;
    return std::size_t{1 + (seed >> 16) % 61};
  });
  check(whole == bytewise, "one piece and byte by byte differ");
  check(whole == chunked, "one piece and random chunks differ");
  for (const auto& [invoke, xml] : whole.frames) check_codec(xml);
  return 0;
}
