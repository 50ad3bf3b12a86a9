#include "drivers/ami/ami_replay.hpp"

#include <algorithm>

namespace callbridge::drivers::ami {

// Sits between the protocol and the user's sink: stamps plain-capture messages with the last seen
// `Timestamp:` (recordings keep their receive times) and applies the Cdr/CEL filter.
class AmiReplay::TimingSink final : public AmiSink {
 public:
  TimingSink(AmiSink& out, AmiReplayStats& stats, bool drop_cdr_cel)
      : out_(out), stats_(stats), drop_cdr_cel_(drop_cdr_cel) {}

  void start_file(bool from_headers, base::Timestamp initial, AmiReplayFileResult* file) {
    from_headers_ = from_headers;
    last_ = initial;
    file_ = file;
  }
  base::Timestamp last() const { return last_; }

  void on_session_start(base::Timestamp at) override {
    ++stats_.sessions_started;
    if (file_) file_->logged_in = true;
    out_.on_session_start(from_headers_ ? last_ : at);
  }
  void on_message(const AmiMessage& m, base::Timestamp at) override {
    if (from_headers_) {
      if (auto ts = m.get("Timestamp"); !ts.empty()) {
        if (auto t = base::parse_epoch_seconds(ts)) last_ = *t;
      }
      at = last_;
    } else {
      last_ = at;
    }
    auto ev = m.event();
    if (drop_cdr_cel_ && (ev == "Cdr" || ev == "CEL")) {
      ++stats_.messages_dropped;
      return;
    }
    ++stats_.messages_delivered;
    if (file_) ++file_->messages;
    out_.on_message(m, at);
  }
  void on_session_end(base::Timestamp at, const base::Error& why) override {
    out_.on_session_end(from_headers_ ? last_ : at, why);
  }

 private:
  AmiSink& out_;
  AmiReplayStats& stats_;
  bool drop_cdr_cel_;
  bool from_headers_ = true;
  base::Timestamp last_{};
  AmiReplayFileResult* file_ = nullptr;
};

namespace {

constexpr std::string_view kTimestampKey = "\nTimestamp: ";

// The first parseable `Timestamp:` value at or after `from`. With complete == false the bytes are
// only a prefix of the capture: a value not yet terminated is not guessed at; then `resume` says
// where to search again once more bytes are appended.
struct TimestampScan {
  std::optional<base::Timestamp> found;
  bool need_more = false;
  std::size_t resume = 0;
};

TimestampScan scan_first_timestamp(std::string_view capture, std::size_t from, bool complete) {
  std::size_t pos = from;
  while ((pos = capture.find(kTimestampKey, pos)) != std::string_view::npos) {
    std::size_t value = pos + kTimestampKey.size();
    auto end = capture.find_first_of("\r\n", value);
    if (end == std::string_view::npos && !complete) return {std::nullopt, true, pos};
    if (auto t = base::parse_epoch_seconds(capture.substr(value, end - value))) return {t, false, 0};
    pos = value;
  }
  if (complete) return {};
  // The key may straddle the end of what is there so far.
  std::size_t keep = kTimestampKey.size() - 1;
  return {std::nullopt, true, std::max(from, capture.size() > keep ? capture.size() - keep : 0)};
}

}  // namespace

std::optional<base::Timestamp> first_ami_timestamp(std::string_view capture) {
  return scan_first_timestamp(capture, 0, true).found;
}

AmiReplay::AmiReplay(AmiSink& sink, AmiReplayOptions options)
    : sink_(sink), options_(std::move(options)), rng_state_(options_.seed * 2 + 1) {
  options_.chunk_bytes = std::max<std::size_t>(1, options_.chunk_bytes);
  timing_ = std::make_unique<TimingSink>(sink_, stats_, options_.drop_cdr_cel);
  AmiProtocolConfig cfg;
  cfg.username = "replay";
  cfg.limits = options_.limits;
  cfg.ping_interval = std::chrono::milliseconds(0);  // tick() is never called, but be explicit
  protocol_ = std::make_unique<AmiProtocol>(std::move(cfg), *timing_);
}

AmiReplay::~AmiReplay() = default;

std::size_t AmiReplay::next_piece(std::size_t remaining) {
  switch (options_.chunking) {
    case ReplayChunking::whole: return remaining;
    case ReplayChunking::fixed: return std::min(remaining, options_.chunk_bytes);
    case ReplayChunking::random: {
      // splitmix64: tiny, seeded, identical on every platform (std distributions are not).
      std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      return std::min(remaining, 1 + static_cast<std::size_t>(z % options_.chunk_bytes));
    }
  }
  return remaining;
}

void AmiReplay::feed(std::string_view bytes, base::Timestamp at) {
  while (!bytes.empty() && !session_error_) {
    std::size_t n = next_piece(bytes.size());
    auto st = protocol_->on_bytes(bytes.substr(0, n), at);
    protocol_->take_output();  // actions go nowhere: the recording holds their responses
    if (!st) session_error_ = st.error();
    bytes.remove_prefix(n);
  }
}

base::Status AmiReplay::run_contents(std::string_view contents, std::string_view name) {
  stats_.files.push_back({});
  AmiReplayFileResult& file = stats_.files.back();
  file.name = std::string(name);
  file.bytes = contents.size();
  file.record_format = is_record_format(contents);
  session_error_.reset();

  if (file.record_format) {
    auto rec = parse_record(contents, options_.record_limits);
    if (!rec) {
      stats_.files.pop_back();
      return base::fail(base::Error(rec.error().code(), std::string(name) + ": " + rec.error().message()));
    }
    file.truncated = rec->truncated;
    base::Timestamp start = rec->chunks.empty() ? base::Timestamp{} : rec->chunks.front().at;
    timing_->start_file(false, start, &file);
    protocol_->begin(start);
    for (const auto& c : rec->chunks) {
      feed(c.bytes, c.at);
      if (session_error_) break;
    }
  } else {
    base::Timestamp start = first_ami_timestamp(contents).value_or(base::Timestamp{});
    timing_->start_file(true, start, &file);
    protocol_->begin(start);
    feed(contents, start);
  }

  return finish_file(file);
}

base::Status AmiReplay::finish_file(AmiReplayFileResult& file) {
  base::Error why = session_error_.value_or(base::Error::unavailable("replay: end of recording " + file.name));
  if (!session_error_ && !protocol_->up()) {
    session_error_ = base::Error::protocol("replay: " + file.name + " ended before a successful login (state " +
                                           std::string(to_string(protocol_->state())) + ")");
    why = *session_error_;
  }
  file.error = session_error_;
  protocol_->end(timing_->last(), why);
  timing_->start_file(true, timing_->last(), nullptr);
  return {};
}

base::Status AmiReplay::run_file(FileBlocks& in, const std::string& name) {
  // The first bytes decide the format: at least the length of the record magic line.
  std::string head;
  bool eof = false;
  while (!eof && head.size() < kRecordMagic.size()) {
    auto block = in.next();
    if (!block) return base::fail(block.error());
    eof = block->empty();
    head.append(*block);
  }
  session_error_.reset();
  // A read error (or the file growing past the limit) after replay began ends the session there
  // and is the run's error.
  std::optional<base::Error> read_error;
  auto end_file = [&](AmiReplayFileResult& file) -> base::Status {
    file.bytes = static_cast<std::size_t>(std::max(in.offset(), in.size_at_open()));
    finish_file(file);
    if (read_error) return base::fail(*read_error);
    return {};
  };

  if (is_record_format(head)) {
    // Pass 1 checks the whole recording (a malformed one is refused before any of it is replayed)
    // and finds the first receive time and where the last complete chunk ends. Bodies are skipped.
    struct FirstTime final : RecordParser::Out {
      std::optional<base::Timestamp> at;
      void chunk_start(base::Timestamp t) override {
        if (!at) at = t;
      }
      void chunk_bytes(std::string_view) override {}
    } first_time;
    RecordParser check(options_.record_limits);
    auto prefixed = [&](const base::Error& e) {
      return base::fail(base::Error(e.code(), name + ": " + e.message()));
    };
    if (auto st = check.feed(head, first_time); !st) return prefixed(st.error());
    while (!eof) {
      auto block = in.next();
      if (!block) return base::fail(block.error());
      eof = block->empty();
      if (auto st = check.feed(*block, first_time); !st) return prefixed(st.error());
    }
    if (auto st = check.finish(); !st) return prefixed(st.error());
    if (auto st = in.rewind(); !st) return st;

    stats_.files.push_back({});
    AmiReplayFileResult& file = stats_.files.back();
    file.name = name;
    file.record_format = true;
    file.truncated = check.truncated();
    base::Timestamp start = first_time.at.value_or(base::Timestamp{});
    timing_->start_file(false, start, &file);
    protocol_->begin(start);
    // Pass 2 replays the chunks up to the end of the last complete one.
    struct Feed final : RecordParser::Out {
      AmiReplay& self;
      base::Timestamp at{};
      explicit Feed(AmiReplay& s) : self(s) {}
      void chunk_start(base::Timestamp t) override { at = t; }
      void chunk_bytes(std::string_view piece) override { self.feed(piece, at); }
    } feed_out(*this);
    RecordParser replay_parser(options_.record_limits);
    const std::uint64_t end = check.complete_end();
    while (!session_error_) {
      std::uint64_t before = in.offset();
      if (before >= end) break;
      auto block = in.next();
      if (!block) {
        read_error = block.error();
        session_error_ = read_error;
        break;
      }
      if (block->empty()) break;
      std::string_view piece = block->substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(block->size(), end - before)));
      if (auto st = replay_parser.feed(piece, feed_out); !st) {
        // The file changed between the two passes.
        read_error = base::Error(st.error().code(), name + ": " + st.error().message());
        session_error_ = read_error;
      }
    }
    return end_file(file);
  }

  // A plain capture: the replay clock starts at the first `Timestamp:`, usually in the first block;
  // blocks are kept only until it is found.
  std::size_t from = 0;
  TimestampScan scan;
  for (;;) {
    scan = scan_first_timestamp(head, from, eof);
    if (!scan.need_more) break;
    from = scan.resume;
    auto next = in.next();
    if (!next) return base::fail(next.error());
    if (next->empty()) eof = true;
    head.append(*next);
  }
  stats_.files.push_back({});
  AmiReplayFileResult& file = stats_.files.back();
  file.name = name;
  base::Timestamp start = scan.found.value_or(base::Timestamp{});
  timing_->start_file(true, start, &file);
  protocol_->begin(start);
  feed(head, start);
  head = std::string();
  while (!eof && !session_error_) {
    auto block = in.next();
    if (!block) {
      read_error = block.error();
      session_error_ = read_error;
      break;
    }
    if (block->empty()) break;
    feed(*block, start);
  }
  return end_file(file);
}

base::Result<AmiReplayStats> AmiReplay::run(const std::vector<std::filesystem::path>& files) {
  for (const auto& path : files) {
    auto in = FileBlocks::open(path, options_.record_limits.max_file_bytes, options_.read_block_bytes);
    if (!in) return base::fail(in.error());
    if (in->regular()) {
      if (auto st = run_file(*in, path.string()); !st) return base::fail(st.error());
      continue;
    }
    // A pipe or device cannot be read twice and has no size: read it whole first, so that a
    // too long or unreadable one is refused before any of it is replayed.
    std::string contents;
    for (;;) {
      auto block = in->next();
      if (!block) return base::fail(block.error());
      if (block->empty()) break;
      contents.append(*block);
    }
    if (auto st = run_contents(contents, path.string()); !st) return base::fail(st.error());
  }
  return stats_;
}

}  // namespace callbridge::drivers::ami
