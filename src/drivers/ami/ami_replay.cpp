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

std::optional<base::Timestamp> first_ami_timestamp(std::string_view capture) {
  constexpr std::string_view kKey = "\nTimestamp: ";
  std::size_t pos = 0;
  while ((pos = capture.find(kKey, pos)) != std::string_view::npos) {
    pos += kKey.size();
    auto end = capture.find_first_of("\r\n", pos);
    if (auto t = base::parse_epoch_seconds(capture.substr(pos, end - pos))) return t;
  }
  return std::nullopt;
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

base::Result<AmiReplayStats> AmiReplay::run(const std::vector<std::filesystem::path>& files) {
  for (const auto& path : files) {
    auto contents = read_file_limited(path, options_.record_limits.max_file_bytes);
    if (!contents) return base::fail(contents.error());
    if (auto st = run_contents(*contents, path.string()); !st) return base::fail(st.error());
  }
  return stats_;
}

}  // namespace callbridge::drivers::ami
