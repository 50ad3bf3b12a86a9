#include "drivers/ami/ami_record.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

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

base::Result<RecordFile> parse_record(std::string_view in, const RecordLimits& limits) {
  if (!is_record_format(in))
    return base::fail(base::Error::protocol("not a callbridge-ami-record v1 file (bad first line)"));
  RecordFile out;
  std::size_t pos = kRecordMagic.size();
  auto bad = [&](std::size_t at, const std::string& what) {
    return base::fail(base::Error::protocol("AMI record: " + what + " at byte " + std::to_string(at)));
  };
  bool in_header = true;
  while (pos < in.size()) {
    std::size_t nl = in.find('\n', pos);
    if (nl == std::string_view::npos) {
      // A chunk header cut short by a crash. (A line this long is garbage, not a cut header.)
      if (in.size() - pos > 64) return bad(pos, "unterminated line");
      out.truncated = true;
      break;
    }
    std::string_view line = in.substr(pos, nl - pos);
    if (in_header && !line.empty() && line.front() == '#') {
      pos = nl + 1;
      continue;
    }
    in_header = false;
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return bad(pos, "chunk header is not '<epoch_micros> <len>'");
    std::int64_t micros = 0;
    std::uint64_t len = 0;
    auto a = line.substr(0, sp), b = line.substr(sp + 1);
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), micros);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), len);
    if (r1.ec != std::errc() || r1.ptr != a.data() + a.size() || r2.ec != std::errc() ||
        r2.ptr != b.data() + b.size() || a.empty() || b.empty() || micros < 0)
      return bad(pos, "chunk header is not '<epoch_micros> <len>'");
    if (len > limits.max_chunk_bytes)
      return bad(pos, "chunk of " + std::to_string(len) + " bytes exceeds the limit");
    std::size_t body = nl + 1;
    if (in.size() - body < len + 1) {
      out.truncated = true;
      break;
    }
    if (in[body + len] != '\n') return bad(body + len, "chunk not followed by a newline");
    out.chunks.push_back({base::from_micros(micros), std::string(in.substr(body, len))});
    pos = body + len + 1;
  }
  return out;
}

base::Result<std::string> read_file_limited(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return base::fail(base::Error::io("cannot open '" + path.string() + "'"));
  std::string out;
  char buf[1 << 16];
  while (f) {
    f.read(buf, sizeof buf);
    auto n = static_cast<std::size_t>(f.gcount());
    if (out.size() + n > max_bytes) {
      return base::fail(base::Error::invalid_argument("'" + path.string() + "' is larger than " +
                                                      std::to_string(max_bytes) + " bytes"));
    }
    out.append(buf, n);
  }
  if (f.bad()) return base::fail(base::Error::io("read error on '" + path.string() + "'"));
  return out;
}

}  // namespace callbridge::drivers::ami
