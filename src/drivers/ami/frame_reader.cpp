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
  // Offsets kept across calls (scan_, pending_) are relative to start_ or fixed up here.
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
  pending_.clear();
  stray_blank_lines_ = 0;
}

base::Error FrameReader::oversize() const {
  return base::Error::protocol("AMI message exceeds " + std::to_string(limits_.max_message_bytes) +
                               " bytes");
}

base::Result<bool> FrameReader::read_banner() {
  const char* base = buf_.data();
  const std::size_t size = buf_.size();
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
  return true;
}

// Splits complete lines from `pos` on, calling add(key, value) per header line. Blank lines before
// the first header are stray (skipped, counted, start_ moves past them); the first blank line after
// a header ends the message. On return `pos` is one past that blank line (complete) or the start
// of the first incomplete line (need_more).
template <typename Add>
FrameReader::Scan FrameReader::scan_lines(std::size_t& pos, std::size_t headers, Add&& add) {
  const char* const base = buf_.data();
  const char* const end = base + buf_.size();
  const char* p = base + pos;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (nl == nullptr) break;
    const char* le = nl;
    if (le > p && le[-1] == '\r') --le;
    if (le == p) {  // blank line
      if (headers == 0) {
        ++stray_blank_lines_;
        p = nl + 1;
        start_ = p - base;
        continue;
      }
      pos = nl + 1 - base;
      return Scan::complete;
    }
    if (headers >= limits_.max_headers) return Scan::too_many_headers;
    const char* colon = static_cast<const char*>(std::memchr(p, ':', le - p));
    if (colon == nullptr) {
      add(std::string_view{}, std::string_view(p, le - p));  // e.g. legacy "Command" output
    } else {
      const char* v = colon + 1;
      if (v < le && *v == ' ') ++v;
      add(std::string_view(p, colon - p), std::string_view(v, le - v));
    }
    ++headers;
    p = nl + 1;
  }
  pos = p - base;
  return Scan::need_more;
}

base::Result<bool> FrameReader::next(AmiMessage& out) {
  out.clear();
  if (expect_banner_ && !banner_) {
    auto got = read_banner();
    if (!got || !*got) return got;
  }

  const char* const base = buf_.data();
  std::size_t pos = scan_ < start_ ? start_ : scan_;
  Scan scan;
  if (pending_.empty()) {
    // Fast path: split straight into `out`.
    scan = scan_lines(pos, 0, [&](std::string_view k, std::string_view v) { out.add(k, v); });
    if (scan == Scan::need_more && !out.empty()) {
      // Keep what was split as offsets: the buffer may move before the next call.
      for (const auto& h : out.headers()) {
        pending_.push_back({h.key.empty() ? 0 : static_cast<std::size_t>(h.key.data() - base) - start_,
                            h.key.size(), static_cast<std::size_t>(h.value.data() - base) - start_,
                            h.value.size()});
      }
      out.clear();
    }
  } else {
    // Resuming a message cut by the end of the buffer: continue the offsets, then materialise.
    scan = scan_lines(pos, pending_.size(), [&](std::string_view k, std::string_view v) {
      pending_.push_back({k.empty() ? 0 : static_cast<std::size_t>(k.data() - base) - start_, k.size(),
                          static_cast<std::size_t>(v.data() - base) - start_, v.size()});
    });
    if (scan == Scan::complete) {
      const char* m = base + start_;
      for (const auto& h : pending_)
        out.add({h.key_len ? m + h.key : nullptr, h.key_len}, {m + h.value, h.value_len});
      pending_.clear();
    }
  }

  if (scan == Scan::too_many_headers) {
    return base::fail(base::Error::protocol("AMI message has more than " +
                                            std::to_string(limits_.max_headers) + " headers"));
  }
  if (scan == Scan::need_more) {
    scan_ = pos;
    if (buf_.size() - start_ > limits_.max_message_bytes) return base::fail(oversize());
    return false;
  }
  if (pos - start_ > limits_.max_message_bytes) return base::fail(oversize());
  out.set_raw({base + start_, pos - start_});
  start_ = scan_ = pos;
  return true;
}

}  // namespace callbridge::drivers::ami
