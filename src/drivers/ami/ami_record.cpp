#include "drivers/ami/ami_record.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace callbridge::drivers::ami {
namespace {

std::string file_stamp(base::Timestamp at) {
  using namespace std::chrono;
  auto secs = floor<seconds>(at);
  auto micros = (at - secs).count();
  std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

base::Error io_error(const std::string& what) {
  return base::Error::io(what + ": " + std::strerror(errno));
}

}  // namespace

base::Result<std::unique_ptr<AmiRecorder>> AmiRecorder::open(std::filesystem::path dir, std::string prefix,
                                                              std::uint64_t max_file_bytes) {
  if (prefix.empty() || prefix.size() > 64 ||
      !std::all_of(prefix.begin(), prefix.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      })) {
    return base::fail(base::Error::invalid_argument("record file prefix '" + prefix.substr(0, 64) +
                                                    "' must be 1-64 letters, digits, '-' or '_'"));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    return base::fail(base::Error::io("cannot create record directory '" + dir.string() + "': " +
                                      (ec ? ec.message() : "not a directory")));
  }
  return std::unique_ptr<AmiRecorder>(new AmiRecorder(std::move(dir), std::move(prefix), max_file_bytes));
}

AmiRecorder::~AmiRecorder() { end_session(); }

base::Status AmiRecorder::begin_session(base::Timestamp at, std::string_view peer) {
  end_session();
  char seq[16];
  std::snprintf(seq, sizeof seq, "%04llu", static_cast<unsigned long long>(++seq_));
  auto path = dir_ / (prefix_ + "-" + file_stamp(at) + "-" + seq + ".amirec");
  file_ = std::fopen(path.c_str(), "wbx");  // never overwrite an existing recording
  if (file_ == nullptr) return base::fail(io_error("cannot create " + path.string()));
  files_.push_back(path);
  std::string head(kRecordMagic);
  std::string safe_peer(peer.substr(0, 200));
  for (char& c : safe_peer) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  head += "# session " + std::string(seq) + " peer " + safe_peer + " began " + base::format_rfc3339_ms(at) + "\n";
  file_bytes_ = head.size();
  if (std::fwrite(head.data(), 1, head.size(), file_) != head.size() || std::fflush(file_) != 0) {
    auto err = io_error("cannot write " + path.string());
    end_session();
    return base::fail(err);
  }
  return {};
}

base::Status AmiRecorder::append(std::string_view bytes, base::Timestamp at) {
  if (file_ == nullptr) return base::fail(base::Error::internal("AmiRecorder::append without a session"));
  std::string head = std::to_string(base::to_micros(at)) + " " + std::to_string(bytes.size()) + "\n";
  const std::uint64_t add = head.size() + bytes.size() + 1;
  if (file_bytes_ + add > max_file_bytes_) {
    return base::fail(base::Error::unavailable(files_.back().string() + " reached the record size limit of " +
                                               std::to_string(max_file_bytes_) + " bytes"));
  }
  file_bytes_ += add;
  bool ok = std::fwrite(head.data(), 1, head.size(), file_) == head.size() &&
            std::fwrite(bytes.data(), 1, bytes.size(), file_) == bytes.size() &&
            std::fputc('\n', file_) != EOF && std::fflush(file_) == 0;
  if (!ok) return base::fail(io_error("cannot append to " + files_.back().string()));
  return {};
}

void AmiRecorder::end_session() {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

base::Result<std::vector<std::filesystem::path>> recording_files_in(const std::filesystem::path& dir,
                                                                    std::string_view prefix) {
  std::error_code ec;
  std::vector<std::filesystem::path> out;
  const std::string want = prefix.empty() ? std::string() : std::string(prefix) + "-";
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".amirec" || !it->is_regular_file()) continue;
    if (!want.empty() && !it->path().filename().string().starts_with(want)) continue;
    out.push_back(it->path());
  }
  if (ec) return base::fail(base::Error::io("cannot list '" + dir.string() + "': " + ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

bool is_record_format(std::string_view head) { return head.substr(0, kRecordMagic.size()) == kRecordMagic; }

base::Error RecordParser::bad(std::uint64_t at, const std::string& what) const {
  return base::Error::protocol("AMI record: " + what + " at byte " + std::to_string(at));
}

base::Status RecordParser::feed(std::string_view in, Out& out) {
  while (!in.empty()) {
    switch (state_) {
      case State::magic: {
        std::size_t have = line_.size();
        std::size_t n = std::min(in.size(), kRecordMagic.size() - have);
        if (in.substr(0, n) != kRecordMagic.substr(have, n))
          return base::fail(base::Error::protocol("not a callbridge-ami-record v1 file (bad first line)"));
        line_.append(in.data(), n);
        in.remove_prefix(n);
        offset_ += n;
        if (line_.size() == kRecordMagic.size()) {
          line_.clear();
          state_ = State::line;
          line_start_ = complete_end_ = offset_;
        }
        break;
      }
      case State::line: {
        const void* nl = std::memchr(in.data(), '\n', in.size());
        std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - in.data()) : in.size();
        // A comment line (before the first chunk) may be long; only its first byte is kept.
        bool comment = in_header_ && (line_len_ > 0 ? line_.front() == '#' : n > 0 && in.front() == '#');
        if (comment && line_.empty()) line_.push_back('#');
        else if (!comment) line_.append(in.data(), n);
        line_len_ += n;
        offset_ += n;
        in.remove_prefix(n);
        if (nl) {
          in.remove_prefix(1);
          ++offset_;
          if (auto st = end_of_line(out); !st) return st;
        }
        break;
      }
      case State::body: {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), body_left_));
        if (n > 0) out.chunk_bytes(in.substr(0, n));
        in.remove_prefix(n);
        offset_ += n;
        body_left_ -= n;
        if (body_left_ == 0) state_ = State::body_end;
        break;
      }
      case State::body_end:
        if (in.front() != '\n') return base::fail(bad(offset_, "chunk not followed by a newline"));
        in.remove_prefix(1);
        ++offset_;
        state_ = State::line;
        line_start_ = complete_end_ = offset_;
        break;
    }
  }
  return {};
}

base::Status RecordParser::end_of_line(Out& out) {
  const std::uint64_t pos = line_start_;
  std::string_view line = line_;
  const bool comment = in_header_ && !line.empty() && line.front() == '#';
  line_len_ = 0;
  if (comment) {
    line_.clear();
    line_start_ = complete_end_ = offset_;
    return {};
  }
  in_header_ = false;
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return base::fail(bad(pos, "chunk header is not '<epoch_micros> <len>'"));
  std::int64_t micros = 0;
  std::uint64_t len = 0;
  auto a = line.substr(0, sp), b = line.substr(sp + 1);
  auto r1 = std::from_chars(a.data(), a.data() + a.size(), micros);
  auto r2 = std::from_chars(b.data(), b.data() + b.size(), len);
  if (r1.ec != std::errc() || r1.ptr != a.data() + a.size() || r2.ec != std::errc() ||
      r2.ptr != b.data() + b.size() || a.empty() || b.empty() || micros < 0)
    return base::fail(bad(pos, "chunk header is not '<epoch_micros> <len>'"));
  if (len > limits_.max_chunk_bytes)
    return base::fail(bad(pos, "chunk of " + std::to_string(len) + " bytes exceeds the limit"));
  line_.clear();
  out.chunk_start(base::from_micros(micros));
  body_left_ = len;
  state_ = len == 0 ? State::body_end : State::body;
  return {};
}

base::Status RecordParser::finish() {
  switch (state_) {
    case State::magic:
      return base::fail(base::Error::protocol("not a callbridge-ami-record v1 file (bad first line)"));
    case State::line:
      // A chunk header cut short by a crash. (A line this long is garbage, not a cut header.)
      if (line_len_ > 64) return base::fail(bad(line_start_, "unterminated line"));
      truncated_ = line_len_ > 0;
      break;
    case State::body:
    case State::body_end:
      truncated_ = cut_inside_chunk_ = true;
      break;
  }
  return {};
}

base::Result<RecordFile> parse_record(std::string_view in, const RecordLimits& limits) {
  struct Collect final : RecordParser::Out {
    RecordFile file;
    void chunk_start(base::Timestamp at) override { file.chunks.push_back({at, {}}); }
    void chunk_bytes(std::string_view piece) override { file.chunks.back().bytes.append(piece); }
  } collect;
  RecordParser parser(limits);
  if (auto st = parser.feed(in, collect); !st) return base::fail(st.error());
  if (auto st = parser.finish(); !st) return base::fail(st.error());
  collect.file.truncated = parser.truncated();
  // A chunk whose body (or the newline after it) was cut short is kept out.
  if (parser.cut_inside_chunk()) collect.file.chunks.pop_back();
  return std::move(collect.file);
}

FileBlocks::FileBlocks(int fd, std::filesystem::path path, std::size_t max_bytes, std::size_t block_bytes)
    : fd_(fd), path_(std::move(path)), max_bytes_(max_bytes), buf_(new char[block_bytes]), block_bytes_(block_bytes) {}

FileBlocks::FileBlocks(FileBlocks&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      path_(std::move(o.path_)),
      max_bytes_(o.max_bytes_),
      buf_(std::move(o.buf_)),
      block_bytes_(o.block_bytes_),
      regular_(o.regular_),
      size_at_open_(o.size_at_open_),
      offset_(o.offset_) {}

FileBlocks::~FileBlocks() {
  if (fd_ >= 0) ::close(fd_);
}

base::Result<FileBlocks> FileBlocks::open(const std::filesystem::path& path, std::size_t max_bytes,
                                          std::size_t block_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::fail(base::Error::io("cannot open '" + path.string() + "'"));
  FileBlocks f(fd, path, max_bytes, std::max<std::size_t>(block_bytes, 1));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    f.regular_ = true;
    f.size_at_open_ = static_cast<std::uint64_t>(st.st_size);
    if (f.size_at_open_ > max_bytes)
      return base::fail(base::Error::invalid_argument("'" + path.string() + "' is larger than " +
                                                      std::to_string(max_bytes) + " bytes"));
#ifdef POSIX_FADV_SEQUENTIAL
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  }
  return f;
}

base::Result<std::string_view> FileBlocks::next() {
  std::size_t got = 0;
  while (got < block_bytes_) {
    ssize_t n = ::read(fd_, buf_.get() + got, block_bytes_ - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::fail(base::Error::io("read error on '" + path_.string() + "'"));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (offset_ + got > max_bytes_)
    return base::fail(base::Error::invalid_argument("'" + path_.string() + "' is larger than " +
                                                    std::to_string(max_bytes_) + " bytes"));
  offset_ += got;
  return std::string_view(buf_.get(), got);
}

base::Status FileBlocks::rewind() {
  if (!regular_ || ::lseek(fd_, 0, SEEK_SET) != 0)
    return base::fail(base::Error::io("cannot read '" + path_.string() + "' twice"));
  offset_ = 0;
  return {};
}

base::Result<std::string> read_file_limited(const std::filesystem::path& path, std::size_t max_bytes) {
  auto f = FileBlocks::open(path, max_bytes, 1u << 16);
  if (!f) return base::fail(f.error());
  std::string out;
  if (f->regular()) out.reserve(static_cast<std::size_t>(f->size_at_open()));
  for (;;) {
    auto block = f->next();
    if (!block) return base::fail(block.error());
    if (block->empty()) break;
    out.append(*block);
  }
  return out;
}

}  // namespace callbridge::drivers::ami
