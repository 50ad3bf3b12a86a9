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

// The record format parsed incrementally: feed() the file's bytes in pieces of any size, then
// finish() at the end of the file. The outcome (chunks, truncation, every error and its byte
// offset) is the same as parse_record() over the whole contents; memory is bounded by the longest
// header line, not by the file. Chunk bodies are handed to `out` as they arrive (a chunk may come
// in several pieces); a chunk is complete only when the newline after it has been seen.
class RecordParser {
 public:
  struct Out {
    virtual void chunk_start(base::Timestamp at) = 0;
    virtual void chunk_bytes(std::string_view piece) = 0;
    virtual ~Out() = default;
  };
  explicit RecordParser(RecordLimits limits = {}) : limits_(limits) {}

  // Errc::protocol (naming the byte offset) when the bytes are malformed; then stop feeding.
  base::Status feed(std::string_view piece, Out& out);
  // End of the file: Errc::protocol for a bad first line or a long unterminated line.
  base::Status finish();
  // After finish(): the last chunk was cut short (its bytes may already have reached `out`).
  bool truncated() const { return truncated_; }
  // Bytes up to the end of the last complete chunk (a replay stops there; the cut tail is not replayed).
  std::uint64_t complete_end() const { return complete_end_; }
  // After finish(): the cut happened inside a chunk (its start already reached `out`).
  bool cut_inside_chunk() const { return cut_inside_chunk_; }

 private:
  enum class State { magic, line, body, body_end };
  base::Status end_of_line(Out& out);
  base::Error bad(std::uint64_t at, const std::string& what) const;

  RecordLimits limits_;
  State state_ = State::magic;
  std::uint64_t offset_ = 0;         // bytes fed so far
  std::uint64_t line_start_ = 0;     // offset of the line being collected
  std::string line_;                 // the line so far (comment lines: only their first byte)
  std::uint64_t line_len_ = 0;       // its length, also for comment lines
  bool in_header_ = true;            // comment lines are allowed only before the first chunk
  std::uint64_t body_left_ = 0;
  std::uint64_t complete_end_ = 0;
  bool truncated_ = false;
  bool cut_inside_chunk_ = false;
};

// Parses a whole file's contents (RecordParser over one piece).
base::Result<RecordFile> parse_record(std::string_view contents, const RecordLimits& limits = {});

// Reads a file front to back through one reused buffer of `block_bytes` (bounded memory: the
// replay streams a capture of any size through it). A regular file larger than `max_bytes` is
// refused by open() before anything is read; a file that grows past it (or a pipe longer than it)
// fails next() once the limit is passed. Error messages are those of read_file_limited().
class FileBlocks {
 public:
  static constexpr std::size_t kDefaultBlockBytes = 256u << 10;
  static base::Result<FileBlocks> open(const std::filesystem::path& path, std::size_t max_bytes,
                                       std::size_t block_bytes = kDefaultBlockBytes);
  FileBlocks(FileBlocks&& o) noexcept;
  FileBlocks& operator=(FileBlocks&&) = delete;
  FileBlocks(const FileBlocks&) = delete;
  ~FileBlocks();

  // The next block (empty at the end of the file): full blocks except the last. Errc::io on a read
  // error, Errc::invalid_argument once more than max_bytes were read.
  base::Result<std::string_view> next();
  // Reads from the start again (regular files only; the record replay reads a file twice).
  base::Status rewind();
  bool regular() const { return regular_; }
  std::uint64_t size_at_open() const { return size_at_open_; }
  std::uint64_t offset() const { return offset_; }

 private:
  FileBlocks(int fd, std::filesystem::path path, std::size_t max_bytes, std::size_t block_bytes);
  int fd_ = -1;
  std::filesystem::path path_;
  std::size_t max_bytes_;
  std::unique_ptr<char[]> buf_;
  std::size_t block_bytes_;
  bool regular_ = false;
  std::uint64_t size_at_open_ = 0;
  std::uint64_t offset_ = 0;
};

// Reads a file of at most limits.max_file_bytes (Errc::invalid_argument beyond, Errc::io on
// read errors) — shared by the record and capture readers.
base::Result<std::string> read_file_limited(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace callbridge::drivers::ami
