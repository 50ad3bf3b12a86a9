// Splits a CSTA XML over TCP byte stream into documents, and writes frames.
// Two framings, detected per connection from the first byte unless configured:
//  - header: 8 bytes before each document: 0x00 0x00, the total length (header included) as 2 bytes
//    big-endian, 4 ASCII digits invoke id ("9999" for unsolicited events);
//  - headerless: XML documents back to back (some clients), optionally separated by whitespace or
//    NUL bytes (clients that end each document with '\0'); a document ends where its root element
//    closes (a boundary scan of tags, comments, CDATA and quotes; the document itself is parsed by
//    pugixml in codec.hpp).
// Resumable: feed() any chunking and next() yields the same frames. Bounded: a frame larger than
// FrameLimits::max_frame_bytes is an error before it is buffered whole; the reader never holds
// more than that plus one fed chunk. Errors are final for the connection.
// Not thread-safe; owned by one CSTA connection (server session or drivers/csta link).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::protocols::csta {

enum class Framing : std::uint8_t { detect, header, headerless };

inline constexpr std::size_t kHeaderBytes = 8;
inline constexpr int kUnsolicitedInvokeId = 9999;
// The header's length field is 16 bits: no framed document is larger than this minus the header.
inline constexpr std::size_t kMaxHeaderFrameBytes = 0xFFFF;

struct FrameLimits {
  // Whole frame (header + document) for header framing, the document for headerless framing.
  std::size_t max_frame_bytes = 64 * 1024;
};

struct Frame {
  std::optional<int> invoke_id;  // 0..9999 with header framing; nullopt headerless
  std::string_view xml;          // the document; valid until the next feed() or next()
};

class FrameReader {
 public:
  explicit FrameReader(FrameLimits limits = {}, Framing framing = Framing::detect)
      : limits_(limits), framing_(framing) {}

  void feed(std::string_view bytes);

  // true: `out` holds the next frame. false: need more bytes.
  // Error (Errc::protocol), final for the connection: first bytes neither a header nor XML, a
  // header not starting with 0x00 0x00, a length below 8 or above max_frame_bytes, a non-digit
  // invoke id, a headerless document above max_frame_bytes, bytes other than whitespace or NUL
  // between headerless documents, a NUL byte inside a headerless document.
  base::Result<bool> next(Frame& out);

  // The framing in use: `detect` until the first byte that is not whitespace arrived.
  Framing framing() const { return framing_; }
  std::size_t buffered() const { return buf_.size() - start_; }

  void reset(Framing framing = Framing::detect);

 private:
  base::Result<bool> next_header(Frame& out);
  base::Result<bool> next_headerless(Frame& out);
  void compact();

  base::Error fail(std::string message);

  FrameLimits limits_;
  Framing framing_;
  std::string buf_;
  std::size_t start_ = 0;  // first unconsumed byte
  bool failed_ = false;
  // Headerless boundary scan state (resumes where the last call stopped; offsets from start_).
  std::size_t scan_ = 0;   // next byte to scan
  std::size_t depth_ = 0;  // open elements
  std::uint8_t state_ = 0;
  bool in_document_ = false;
  bool seen_root_ = false;
  bool slash_ = false;     // last significant byte of a start tag was '/'
  char quote_ = 0;         // open quote inside a tag or declaration
  std::size_t aux_ = 0;    // CDATA opener progress, declaration bracket depth
};

// Appends one header frame (header + xml) to `out`. Error (Errc::invalid_argument): invoke id
// outside 0..9999 or a frame above kMaxHeaderFrameBytes.
base::Status append_frame(std::string& out, int invoke_id, std::string_view xml);

// Appends `xml` in the connection's framing: a header frame, or the bare document (headerless;
// the invoke id is then not sent). `detect` is treated as header.
base::Status append_frame(std::string& out, Framing framing, int invoke_id, std::string_view xml);

}  // namespace callbridge::protocols::csta
