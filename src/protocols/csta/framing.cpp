// CSTA XML over TCP framing (framing.hpp).
#include "protocols/csta/framing.hpp"

namespace callbridge::protocols::csta {

namespace {

// Headerless boundary scanner states (FrameReader::state_).
enum Scan : std::uint8_t {
  kText,        // character data (or the prolog before the root element)
  kLt,          // after '<'
  kStartTag,    // inside <name ...
  kEndTag,      // inside </name ...
  kPi,          // inside <? ... (also the XML declaration)
  kPiQ,         // after '?' inside a PI
  kBang,        // after "<!"
  kBangDash,    // after "<!-"
  kComment,     // inside <!-- ...
  kCommentD1,   // after '-' in a comment
  kCommentD2,   // after "--" in a comment
  kCdataOpen,   // matching "[CDATA["
  kCdata,       // inside <![CDATA[ ...
  kCdataB1,     // after ']' in CDATA
  kCdataB2,     // after "]]" in CDATA
  kDecl,        // <!DOCTYPE ...> and other declarations (quotes, [internal subset])
};

constexpr std::string_view kCdataOpener = "[CDATA[";

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

void FrameReader::feed(std::string_view bytes) {
  compact();
  buf_.append(bytes.data(), bytes.size());
}

void FrameReader::compact() {
  if (start_ == 0) return;
  buf_.erase(0, start_);
  start_ = 0;
}

void FrameReader::reset(Framing framing) {
  framing_ = framing;
  buf_.clear();
  start_ = 0;
  failed_ = false;
  scan_ = depth_ = aux_ = 0;
  state_ = kText;
  in_document_ = seen_root_ = slash_ = false;
  quote_ = 0;
}

base::Error FrameReader::fail(std::string message) {
  failed_ = true;
  return base::Error::protocol("CSTA framing: " + std::move(message));
}

base::Result<bool> FrameReader::next(Frame& out) {
  if (failed_) return base::fail(base::Error::protocol("CSTA framing: the stream failed before"));
  if (framing_ == Framing::detect) {
    // The first byte that is not whitespace decides: 0x00 starts a header, '<' (or a UTF-8 byte
    // order mark) a bare document.
    while (start_ < buf_.size() && is_space(static_cast<unsigned char>(buf_[start_]))) ++start_;
    if (start_ == buf_.size()) return false;
    const auto c = static_cast<unsigned char>(buf_[start_]);
    if (c == 0x00) {
      framing_ = Framing::header;
    } else if (c == '<' || c == 0xEF) {
      framing_ = Framing::headerless;
    } else {
      return base::fail(fail("the first byte is neither a CSTA header (0x00) nor XML ('<')"));
    }
  }
  return framing_ == Framing::header ? next_header(out) : next_headerless(out);
}

base::Result<bool> FrameReader::next_header(Frame& out) {
  const std::size_t have = buf_.size() - start_;
  const auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + start_);
  // Check what has arrived of the header at once: a peer speaking something else is told early.
  if (have >= 1 && h[0] != 0x00) return base::fail(fail("header does not start with 0x00 0x00"));
  if (have >= 2 && h[1] != 0x00) return base::fail(fail("header does not start with 0x00 0x00"));
  if (have >= 4) {
    const std::size_t len = std::size_t{h[2]} << 8 | h[3];
    if (len < kHeaderBytes) {
      return base::fail(fail("header length " + std::to_string(len) + " is below the 8 header bytes"));
    }
    if (len > limits_.max_frame_bytes) {
      return base::fail(fail("frame of " + std::to_string(len) + " bytes exceeds the limit of " +
                             std::to_string(limits_.max_frame_bytes)));
    }
  }
  for (std::size_t i = 4; i < kHeaderBytes && i < have; ++i) {
    if (h[i] < '0' || h[i] > '9') return base::fail(fail("invoke id in the header is not 4 ASCII digits"));
  }
  if (have < kHeaderBytes) return false;
  const std::size_t len = std::size_t{h[2]} << 8 | h[3];
  if (have < len) return false;
  out.invoke_id = (h[4] - '0') * 1000 + (h[5] - '0') * 100 + (h[6] - '0') * 10 + (h[7] - '0');
  out.xml = std::string_view(buf_.data() + start_ + kHeaderBytes, len - kHeaderBytes);
  start_ += len;
  return true;
}

base::Result<bool> FrameReader::next_headerless(Frame& out) {
  for (;;) {
    if (!in_document_) {
      // Between documents: whitespace and NUL separators are skipped (and dropped).
      while (start_ < buf_.size()) {
        const auto c = static_cast<unsigned char>(buf_[start_]);
        if (!is_space(c) && c != 0x00) break;
        ++start_;
      }
      if (start_ == buf_.size()) return false;
      const auto c = static_cast<unsigned char>(buf_[start_]);
      if (c != '<' && c != 0xEF) {
        return base::fail(fail("unexpected byte 0x" + [&] {
          static constexpr char kHex[] = "0123456789abcdef";
          return std::string{kHex[c >> 4], kHex[c & 15]};
        }() + " between XML documents"));
      }
      in_document_ = true;
      seen_root_ = slash_ = false;
      state_ = kText;
      depth_ = aux_ = 0;
      quote_ = 0;
      scan_ = 0;
    }
    const std::size_t avail = buf_.size() - start_;
    const char* d = buf_.data() + start_;
    bool done = false;
    while (scan_ < avail && !done) {
      const auto c = static_cast<unsigned char>(d[scan_++]);
      if (scan_ > limits_.max_frame_bytes) {
        return base::fail(fail("XML document exceeds the limit of " + std::to_string(limits_.max_frame_bytes) +
                               " bytes"));
      }
      if (c == 0x00) return base::fail(fail("NUL byte inside an XML document"));
      switch (state_) {
        case kText:
          if (c == '<') state_ = kLt;
          break;
        case kLt:
          if (c == '?') {
            state_ = kPi;
          } else if (c == '!') {
            state_ = kBang;
          } else if (c == '/') {
            state_ = kEndTag;
          } else {
            state_ = kStartTag;
            slash_ = false;
            quote_ = 0;
          }
          break;
        case kStartTag:
          if (quote_ != 0) {
            if (c == static_cast<unsigned char>(quote_)) quote_ = 0;
          } else if (c == '"' || c == '\'') {
            quote_ = static_cast<char>(c);
            slash_ = false;
          } else if (c == '>') {
            state_ = kText;
            if (!slash_) {
              ++depth_;
              seen_root_ = true;
            } else if (depth_ == 0) {
              done = true;  // an empty root element: <Foo/>
            }
          } else if (!is_space(c)) {
            slash_ = c == '/';
          }
          break;
        case kEndTag:
          if (c == '>') {
            if (depth_ == 0) return base::fail(fail("closing tag before any element was opened"));
            state_ = kText;
            if (--depth_ == 0) done = true;
          }
          break;
        case kPi:
          if (c == '?') state_ = kPiQ;
          break;
        case kPiQ:
          state_ = c == '>' ? kText : (c == '?' ? kPiQ : kPi);
          break;
        case kBang:
          if (c == '-') {
            state_ = kBangDash;
          } else if (c == '[') {
            state_ = kCdataOpen;
            aux_ = 1;
          } else {
            state_ = kDecl;
            aux_ = 0;
            quote_ = 0;
            if (c == '>') state_ = kText;
          }
          break;
        case kBangDash:
          state_ = c == '-' ? kComment : kDecl;
          aux_ = 0;
          quote_ = 0;
          break;
        case kComment:
          if (c == '-') state_ = kCommentD1;
          break;
        case kCommentD1:
          state_ = c == '-' ? kCommentD2 : kComment;
          break;
        case kCommentD2:
          state_ = c == '>' ? kText : (c == '-' ? kCommentD2 : kComment);
          break;
        case kCdataOpen:
          if (static_cast<char>(c) == kCdataOpener[aux_]) {
            if (++aux_ == kCdataOpener.size()) state_ = kCdata;
          } else {
            state_ = kDecl;  // not CDATA after all; pugixml will say what is wrong
            aux_ = 0;
            quote_ = 0;
          }
          break;
        case kCdata:
          if (c == ']') state_ = kCdataB1;
          break;
        case kCdataB1:
          state_ = c == ']' ? kCdataB2 : kCdata;
          break;
        case kCdataB2:
          state_ = c == '>' ? kText : (c == ']' ? kCdataB2 : kCdata);
          break;
        case kDecl:
          if (quote_ != 0) {
            if (c == static_cast<unsigned char>(quote_)) quote_ = 0;
          } else if (c == '"' || c == '\'') {
            quote_ = static_cast<char>(c);
          } else if (c == '[') {
            ++aux_;
          } else if (c == ']') {
            if (aux_ > 0) --aux_;
          } else if (c == '>' && aux_ == 0) {
            state_ = kText;
          }
          break;
        default:
          return base::fail(fail("internal scanner state"));
      }
    }
    if (!done) return false;
    out.invoke_id.reset();
    out.xml = std::string_view(d, scan_);
    start_ += scan_;
    scan_ = 0;
    in_document_ = false;
    return true;
  }
}

base::Status append_frame(std::string& out, int invoke_id, std::string_view xml) {
  if (invoke_id < 0 || invoke_id > 9999) {
    return base::fail(base::Error::invalid_argument("CSTA invoke id " + std::to_string(invoke_id) +
                                                    " is outside 0..9999"));
  }
  const std::size_t total = kHeaderBytes + xml.size();
  if (total > kMaxHeaderFrameBytes) {
    return base::fail(base::Error::invalid_argument("CSTA frame of " + std::to_string(total) +
                                                    " bytes does not fit the 16-bit header length"));
  }
  const char header[kHeaderBytes] = {
      0, 0, static_cast<char>(total >> 8), static_cast<char>(total & 0xFF),
      static_cast<char>('0' + invoke_id / 1000), static_cast<char>('0' + invoke_id / 100 % 10),
      static_cast<char>('0' + invoke_id / 10 % 10), static_cast<char>('0' + invoke_id % 10)};
  out.append(header, kHeaderBytes);
  out.append(xml.data(), xml.size());
  return {};
}

base::Status append_frame(std::string& out, Framing framing, int invoke_id, std::string_view xml) {
  if (framing != Framing::headerless) return append_frame(out, invoke_id, xml);
  out.append(xml.data(), xml.size());
  return {};
}

}  // namespace callbridge::protocols::csta
