#include "protocols/ami/frame_reader.hpp"

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace callbridge::protocols::ami {
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
  start_ = 0;
  start_next_line(0);
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
  // The same limit when the line end came in the same read: the verdict must not depend on how
  // the stream was split (found by fuzz_ami_frame: one piece accepted, byte by byte refused).
  if (end - start_ > limits_.max_message_bytes)
    return base::fail(base::Error::protocol("AMI banner line exceeds the size limit"));
  std::string_view line = trim_cr({base + start_, end - start_});
  if (line.substr(0, kBannerPrefix.size()) != kBannerPrefix) {
    return base::fail(base::Error::protocol("expected the 'Asterisk Call Manager/' banner, got '" +
                                            std::string(line.substr(0, 80)) + "'"));
  }
  banner_ = std::string(line);
  start_ = end + 1;
  start_next_line(start_);
  return true;
}

void FrameReader::start_next_line(std::size_t at) {
  scan_ = at;
  line_searched_ = 0;
  line_colon_ = std::string_view::npos;
}

// Splits complete lines from scan_ on, calling add(key, value) per header line. Blank lines before
// the first header are stray (skipped, counted, start_ moves past them); the first blank line after
// a header ends the message. On return `pos` is one past that blank line (complete) or the start
// of the first incomplete line (need_more; line_searched_/line_colon_ then describe that line).
template <typename Add>
FrameReader::Scan FrameReader::scan_lines(std::size_t& pos, std::size_t headers, Add&& add) {
  const char* const base = buf_.data();
  const char* const end = base + buf_.size();
  const char* line = base + scan_;          // start of the current line
  const char* q = line + line_searched_;    // next byte to look at
  const char* colon = line_colon_ == std::string_view::npos ? nullptr : line + line_colon_;
  Scan result = Scan::need_more;

  // The line [line, nl) is complete. false: stop scanning (message complete or a limit hit).
  // Inlined by force: two call sites, and as a call it costs a third of the scan.
  auto end_of_line = [&](const char* nl) __attribute__((always_inline)) -> bool {
    const char* le = (nl > line && nl[-1] == '\r') ? nl - 1 : nl;
    if (le == line) {  // blank line
      line = nl + 1;
      colon = nullptr;
      if (headers == 0) {
        ++stray_blank_lines_;
        start_ = line - base;
        return true;
      }
      result = Scan::complete;
      return false;
    }
    if (headers >= limits_.max_headers) {
      result = Scan::too_many_headers;
      return false;
    }
    if (colon == nullptr) {
      add(std::string_view{}, std::string_view(line, le - line));  // e.g. legacy "Command" output
    } else {
      const char* v = colon + 1;
      if (v < le && *v == ' ') ++v;
      add(std::string_view(line, colon - line), std::string_view(v, le - v));
    }
    ++headers;
    line = nl + 1;
    colon = nullptr;
    return true;
  };

#if defined(__SSE2__)
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i colons = _mm_set1_epi8(':');
  while (end - q >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    unsigned hits = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, newline), _mm_cmpeq_epi8(v, colons))));
    while (hits != 0) {
      const char* c = q + __builtin_ctz(hits);
      hits &= hits - 1;
      if (*c == ':') {
        if (colon == nullptr) colon = c;
      } else if (!end_of_line(c)) {
        pos = line - base;
        return result;
      }
    }
    q += 16;
  }
#endif
  for (; q < end; ++q) {
    if (*q == ':') {
      if (colon == nullptr) colon = q;
    } else if (*q == '\n' && !end_of_line(q)) {
      pos = line - base;
      return result;
    }
  }
  pos = line - base;
  line_searched_ = end - line;
  line_colon_ = colon == nullptr ? std::string_view::npos : static_cast<std::size_t>(colon - line);
  return Scan::need_more;
}

base::Result<bool> FrameReader::next(AmiMessage& out) {
  out.clear();
  if (expect_banner_ && !banner_) {
    auto got = read_banner();
    if (!got || !*got) return got;
  }

  const char* const base = buf_.data();
  std::size_t pos = scan_;
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
    scan_ = pos;  // line_searched_ and line_colon_ were set by scan_lines for this line
    if (buf_.size() - start_ > limits_.max_message_bytes) return base::fail(oversize());
    return false;
  }
  if (pos - start_ > limits_.max_message_bytes) return base::fail(oversize());
  out.set_raw({base + start_, pos - start_});
  start_ = pos;
  start_next_line(pos);
  return true;
}

}  // namespace callbridge::protocols::ami
