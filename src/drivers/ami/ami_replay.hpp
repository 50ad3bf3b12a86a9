// Replays recorded AMI input through the SAME AmiProtocol the live link uses, in-process and
// without sockets: `callbridge replay`, fixture tests and benchmarks. Each input file is one
// consecutive session; between files the sink sees on_session_end / on_session_start exactly as on
// a real reconnect. The protocol's outgoing actions (Login, resync, Ping) go nowhere: the
// recordings already hold their responses (ActionIDs `login`, `resync-<Action>`).
// Single-threaded: run() calls the sink synchronously on the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "drivers/ami/ami_record.hpp"
#include "drivers/ami/ami_sink.hpp"
#include "drivers/ami/ami_wire.hpp"

namespace callbridge::drivers::ami {

enum class ReplayChunking {
  whole,   // a capture in one piece; a recording one piece per recorded read
  fixed,   // pieces of exactly chunk_bytes (the last one shorter)
  random,  // pieces of 1..chunk_bytes bytes, from `seed`
};

struct AmiReplayOptions {
  ReplayChunking chunking = ReplayChunking::whole;
  std::size_t chunk_bytes = 4096;
  std::uint64_t seed = 1;
  // Drop `Event: Cdr` and `Event: CEL` before the sink (for consumers that must work without them).
  bool drop_cdr_cel = false;
  FrameLimits limits;
  RecordLimits record_limits;  // also caps the size of a plain capture file
  // run() reads each file through a buffer of this size (FileBlocks).
  std::size_t read_block_bytes = FileBlocks::kDefaultBlockBytes;
};

struct AmiReplayFileResult {
  std::string name;
  bool record_format = false;  // our recording (times from the record) vs plain capture
  std::size_t bytes = 0;
  std::size_t messages = 0;  // delivered to the sink
  bool logged_in = false;
  bool truncated = false;    // recording with a cut-short last chunk
  std::optional<base::Error> error;  // why the session ended early (protocol error, no login)
};

struct AmiReplayStats {
  std::size_t messages_delivered = 0;
  std::size_t messages_dropped = 0;  // by drop_cdr_cel
  std::size_t sessions_started = 0;
  std::vector<AmiReplayFileResult> files;
};

class AmiReplay {
 public:
  explicit AmiReplay(AmiSink& sink, AmiReplayOptions options = {});
  ~AmiReplay();

  // Replays the files in order, streaming each through a fixed-size buffer (FileBlocks): memory
  // does not grow with the file. Errc::io / invalid_argument when a file cannot be opened, is
  // larger than record_limits.max_file_bytes, or is a malformed recording (nothing of it is
  // replayed: a recording is checked in a first pass); a read error in the middle of a file ends
  // its session there and is returned after it. A malformed AMI stream inside a file only ends
  // that session (see the file result).
  base::Result<AmiReplayStats> run(const std::vector<std::filesystem::path>& files);
  // One session from memory (format detected from the first line). `name` appears in errors.
  base::Status run_contents(std::string_view contents, std::string_view name);

  const AmiReplayStats& stats() const { return stats_; }

 private:
  class TimingSink;
  void feed(std::string_view bytes, base::Timestamp at);
  base::Status run_file(FileBlocks& in, const std::string& name);
  base::Status finish_file(AmiReplayFileResult& file);
  std::size_t next_piece(std::size_t remaining);

  AmiSink& sink_;
  AmiReplayOptions options_;
  std::unique_ptr<TimingSink> timing_;
  std::unique_ptr<AmiProtocol> protocol_;
  std::uint64_t rng_state_;
  AmiReplayStats stats_;
  std::optional<base::Error> session_error_;
};

// The first `Timestamp:` header value in a plain capture, if any (the replay clock's start).
std::optional<base::Timestamp> first_ami_timestamp(std::string_view capture);

}  // namespace callbridge::drivers::ami
