// Splits the AMI byte stream into messages: an optional banner line ("Asterisk Call Manager/x.y.z"),
// then "Key: Value" lines (CRLF, bare LF tolerated) with a blank line ending each message.
// Resumable: feed() any chunking of the stream and next() yields the same messages.
// One pass: a single scan (16 bytes at a time where SSE2 exists) finds every '\n' and ':' and splits
// lines into key/value as it goes; a message cut by the end of the buffered bytes resumes where
// the scan stopped, so no byte is scanned twice.
// Bounded: a message (or a line without end) larger than Limits::max_message_bytes is a protocol
// error for the session; the reader never buffers more than that plus one fed chunk.
// Not thread-safe; owned by one AMI session (drivers/ami client, sim/ server) or a replay/bench loop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "protocols/ami/ami_message.hpp"

namespace callbridge::protocols::ami {

struct FrameLimits {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_headers = 1024;
};

class FrameReader {
 public:
  using Limits = FrameLimits;

  explicit FrameReader(Limits limits = {}, bool expect_banner = true)
      : limits_(limits), expect_banner_(expect_banner) {}

  // Appends bytes. Invalidates views held by the last message returned from next().
  void feed(std::string_view bytes);

  // true: `out` holds the next message (views into this reader's buffer).
  // false: need more bytes.
  // Error (Errc::protocol): oversize message or a bad banner; the session must be dropped.
  base::Result<bool> next(AmiMessage& out);

  // The banner line once seen, e.g. "Asterisk Call Manager/11.0.0".
  const std::optional<std::string>& banner() const { return banner_; }

  std::size_t buffered() const { return buf_.size() - start_; }
  // Messages skipped because they held no header at all (stray blank lines).
  std::size_t stray_blank_lines() const { return stray_blank_lines_; }

  // Forget everything (a new session on the same reader).
  void reset(bool expect_banner = true);

 private:
  // A header of the message being assembled, as offsets from start_ (survives compaction).
  struct PendingHeader {
    std::size_t key, key_len, value, value_len;
  };
  enum class Scan { complete, need_more, too_many_headers };
  template <typename Add>
  Scan scan_lines(std::size_t& pos, std::size_t headers, Add&& add);
  void start_next_line(std::size_t at);
  base::Result<bool> read_banner();
  base::Error oversize() const;

  Limits limits_;
  bool expect_banner_;
  std::optional<std::string> banner_;
  std::string buf_;
  std::size_t start_ = 0;  // first byte of the message being assembled
  std::size_t scan_ = 0;   // first byte of the first line not yet split (resumption point)
  // How much of the line at scan_ was already searched for '\n' and ':', and where its first ':'
  // is (relative to scan_, npos if none yet): a line trickling in byte by byte is scanned once.
  std::size_t line_searched_ = 0;
  std::size_t line_colon_ = std::string_view::npos;
  // Headers already split from an incomplete message; empty when scan_ == start_.
  std::vector<PendingHeader> pending_;
  std::size_t stray_blank_lines_ = 0;
};

}  // namespace callbridge::protocols::ami
