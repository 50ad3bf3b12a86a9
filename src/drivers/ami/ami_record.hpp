// Recording of raw AMI input (`--record DIR`): one file per session holding every received chunk
// with its receive time, so `callbridge replay` can run the same protocol code over it later.
// AmiRecorder is written by the AmiSession on the link's thread; read_record_file() is pure.
//
// File format "callbridge-ami-record v1" (text header, binary-safe body):
//   # callbridge-ami-record v1\n            <- first line, exactly
//   # <free comment>\n                       <- optional comment lines, only before the first chunk
//   <epoch_micros> <len>\n<len raw bytes>\n  <- repeated: receive time (µs since 1970, UTC),
//                                              byte count, the bytes as read from the socket, '\n'
// A crash can leave the last chunk short: the reader keeps every complete chunk and reports the
// tail as truncated. Anything else malformed is an Errc::protocol error naming the byte offset.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"

namespace callbridge::drivers::ami {

inline constexpr std::string_view kRecordMagic = "# callbridge-ami-record v1\n";

class AmiRecorder {
 public:
  // Same default as RecordLimits::max_file_bytes, so every file we write can be replayed.
  static constexpr std::uint64_t kDefaultMaxFileBytes = 512u << 20;

  // Creates `dir` if needed: Errc::io when it cannot. `prefix` starts every file name (the link's
  // name, so several links can share a directory): letters, digits, '-', '_' only, else
  // Errc::invalid_argument. A session file stops growing at max_file_bytes (append() then fails
  // with Errc::unavailable and the session stops recording).
  static base::Result<std::unique_ptr<AmiRecorder>> open(std::filesystem::path dir, std::string prefix = "ami",
                                                        std::uint64_t max_file_bytes = kDefaultMaxFileBytes);
  ~AmiRecorder();
  AmiRecorder(const AmiRecorder&) = delete;
  AmiRecorder& operator=(const AmiRecorder&) = delete;

  // Starts a new file "<prefix>-<UTC yyyymmddThhmmss.uuuuuu>Z-<seq>.amirec" (names sort in session
  // order). `peer` goes into a comment line. Ends the previous file if still open.
  base::Status begin_session(base::Timestamp at, std::string_view peer);
  // Appends one received chunk and flushes it (a crash loses at most the chunk being written).
  base::Status append(std::string_view bytes, base::Timestamp at);
  void end_session();

  const std::filesystem::path& dir() const { return dir_; }
  // Every file begun so far, in order.
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  AmiRecorder(std::filesystem::path dir, std::string prefix, std::uint64_t max_file_bytes)
      : dir_(std::move(dir)), prefix_(std::move(prefix)), max_file_bytes_(max_file_bytes) {}
  std::filesystem::path dir_;
  std::string prefix_;
  std::uint64_t max_file_bytes_;
  std::uint64_t file_bytes_ = 0;
  std::FILE* file_ = nullptr;
  std::uint64_t seq_ = 0;
  std::vector<std::filesystem::path> files_;
};

struct RecordChunk {
  base::Timestamp at;
  std::string bytes;
};

struct RecordFile {
  std::vector<RecordChunk> chunks;
  bool truncated = false;  // the last chunk was cut short (kept out of `chunks`)
};

struct RecordLimits {
  std::size_t max_file_bytes = 512u << 20;
  std::size_t max_chunk_bytes = 16u << 20;
};

// The *.amirec files of a --record directory in session order (their names sort by time); with a
// prefix only "<prefix>-*.amirec" (one link's sessions).
base::Result<std::vector<std::filesystem::path>> recording_files_in(const std::filesystem::path& dir,
                                                                    std::string_view prefix = {});

// true when `head` (the first bytes of a file) starts with kRecordMagic.
bool is_record_format(std::string_view head);
// Parses a whole file's contents.
base::Result<RecordFile> parse_record(std::string_view contents, const RecordLimits& limits = {});
// Reads a file of at most limits.max_file_bytes (Errc::invalid_argument beyond, Errc::io on
// read errors) — shared by the record and capture readers.
base::Result<std::string> read_file_limited(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace callbridge::drivers::ami
