#include "drivers/ami/frame_reader.hpp"

#include <cstring>

namespace callbridge::drivers::ami {
namespace {

constexpr std::string_view kBannerPrefix = "Asterisk Call Manager/";

inline std::string_view trim_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

void FrameReader::feed(std::string_view bytes) {
  // Compact lazily: moving the tail costs, so only when the consumed head dominates.
  if (start_ == buf_.size()) {
    buf_.clear();
    scan_ = start_ = 0;
  } else if (start_ > 0 && start_ >= buf_.size() / 2) {
    buf_.erase(0, start_);
    scan_ -= start_;
    start_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

void FrameReader::reset(bool expect_banner) {
  expect_banner_ = expect_banner;
  banner_.reset();
  buf_.clear();
  start_ = scan_ = 0;
  stray_blank_lines_ = 0;
}

base::Result<bool> FrameReader::next(AmiMessage& out) {
  out.clear();
  const char* base = buf_.data();
  const std::size_t size = buf_.size();

  if (expect_banner_ && !banner_) {
    const void* nl = std::memchr(base + start_, '\n', size - start_);
    if (nl == nullptr) {
      if (size - start_ > limits_.max_message_bytes)
        return base::fail(base::Error::protocol("AMI banner line exceeds the size limit"));
      return false;
    }
    std::size_t end = static_cast<const char*>(nl) - base;
    std::string_view line = trim_cr({base + start_, end - start_});
    if (line.substr(0, kBannerPrefix.size()) != kBannerPrefix) {
      return base::fail(base::Error::protocol("expected the 'Asterisk Call Manager/' banner, got '" +
                                              std::string(line.substr(0, 80)) + "'"));
    }
    banner_ = std::string(line);
    start_ = scan_ = end + 1;
  }

  for (;;) {
    // Skip blank lines between messages (they carry nothing).
    while (start_ < size && (base[start_] == '\n' || (base[start_] == '\r' && start_ + 1 < size &&
                                                      base[start_ + 1] == '\n'))) {
      start_ += base[start_] == '\n' ? 1 : 2;
      ++stray_blank_lines_;
    }
    if (scan_ < start_) scan_ = start_;

    // Find the blank line that ends the message: a '\n' followed by "\r\n" or "\n".
    std::size_t msg_end = std::string_view::npos;  // one past the terminating blank line
    std::size_t pos = scan_;
    while (pos < size) {
      const void* nl = std::memchr(base + pos, '\n', size - pos);
      if (nl == nullptr) {
        pos = size;
        break;
      }
      std::size_t i = static_cast<const char*>(nl) - base;
      if (i + 1 < size && base[i + 1] == '\n') {
        msg_end = i + 2;
        break;
      }
      if (i + 2 < size && base[i + 1] == '\r' && base[i + 2] == '\n') {
        msg_end = i + 3;
        break;
      }
      if (i + 2 >= size) {  // cannot decide yet: resume at this '\n' when more bytes come
        pos = i;
        break;
      }
      pos = i + 1;
    }
    if (msg_end == std::string_view::npos) {
      scan_ = pos;
      if (size - start_ > limits_.max_message_bytes) {
        return base::fail(base::Error::protocol("AMI message exceeds " +
                                                std::to_string(limits_.max_message_bytes) +
                                                " bytes without ending"));
      }
      return false;
    }
    if (msg_end - start_ > limits_.max_message_bytes) {
      return base::fail(base::Error::protocol(
          "AMI message exceeds " + std::to_string(limits_.max_message_bytes) + " bytes"));
    }

    // Split header lines.
    std::size_t line_start = start_;
    std::size_t body_end = msg_end;  // the blank line is excluded below
    while (line_start < body_end) {
      const char* nlp =
          static_cast<const char*>(std::memchr(base + line_start, '\n', body_end - line_start));
      std::size_t line_end = nlp ? static_cast<std::size_t>(nlp - base) : body_end;
      std::string_view line = trim_cr({base + line_start, line_end - line_start});
      line_start = line_end + 1;
      if (line.empty()) break;  // the terminating blank line
      if (out.headers().size() >= limits_.max_headers) {
        return base::fail(base::Error::protocol("AMI message has more than " +
                                                std::to_string(limits_.max_headers) + " headers"));
      }
      auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        out.add({}, line);  // e.g. legacy "Command" output; kept, never interpreted as a key
        continue;
      }
      std::string_view key = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.add(key, value);
    }
    out.set_raw({base + start_, msg_end - start_});
    start_ = scan_ = msg_end;
    if (!out.empty()) return true;
  }
}

}  // namespace callbridge::drivers::ami
