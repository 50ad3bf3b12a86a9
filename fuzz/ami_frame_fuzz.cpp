// libFuzzer target: AMI framing (protocols/ami FrameReader) on the untrusted bytes of a PBX link.
// Beyond "no crash, no sanitizer report" it checks what the reader promises: the same messages
// (and the same verdict) whatever the chunking of the stream, and a bounded buffer.
// Input: byte 0 = flags (banner expected, limits), byte 1 = chunking seed, rest = the stream.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/ami/frame_reader.hpp"

namespace ami = callbridge::protocols::ami;

namespace {

struct Outcome {
  std::vector<std::vector<std::pair<std::string, std::string>>> messages;
  bool error = false;
  bool operator==(const Outcome&) const = default;
};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ami_frame_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Feeds `stream` in pieces chosen by next_len (0 = the rest) and drains after every piece.
template <class NextLen>
Outcome run(std::string_view stream, ami::FrameLimits limits, bool banner, NextLen next_len) {
  Outcome out;
  ami::FrameReader reader(limits, banner);
  ami::AmiMessage m;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    std::size_t n = next_len();
    if (n == 0 || n > stream.size() - pos) n = stream.size() - pos;
    reader.feed(stream.substr(pos, n));
    pos += n;
    for (;;) {
      auto r = reader.next(m);
      if (!r) {
        out.error = true;
        return out;
      }
      if (!*r) break;
      std::vector<std::pair<std::string, std::string>> h;
      for (const auto& [k, v] : m.headers()) {
        // Every non-empty view points into the message's raw bytes.
        check(inside(k, m.raw()), "key outside raw message");
        check(inside(v, m.raw()), "value outside raw message");
        h.emplace_back(k, v);
      }
      check(h.size() <= limits.max_headers, "more headers than max_headers");
      check(m.raw().size() <= limits.max_message_bytes, "message above max_message_bytes");
      out.messages.push_back(std::move(h));
    }
    check(reader.buffered() <= limits.max_message_bytes + n, "buffer above limit + one chunk");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  std::uint32_t seed = data[1] | 0x100u;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const bool banner = flags & 1;
  ami::FrameLimits limits;
  if (flags & 2) limits = {.max_message_bytes = 512, .max_headers = 8};  // reach the limits

  Outcome whole = run(stream, limits, banner, [] { return std::size_t{0}; });
  Outcome bytewise = run(stream, limits, banner, [] { return std::size_t{1}; });
  Outcome chunked = run(stream, limits, banner, [&seed] {
    seed = seed * 1103515245u + 12345u;  // any sequence will do: the reader must not care
    return std::size_t{1 + (seed >> 16) % 97};
  });
  check(whole == bytewise, "one piece and byte by byte differ");
  check(whole == chunked, "one piece and random chunks differ");
  return 0;
}
