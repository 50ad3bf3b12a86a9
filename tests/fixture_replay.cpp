#include "fixture_replay.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "drivers/ami/frame_reader.hpp"

namespace callbridge::testing {

std::string ReplayResult::jsonl() const {
  std::string out;
  for (const auto& e : entries) out += model::to_json_line(e) + "\n";
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string strip_cdr_cel(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t end = bytes.find("\r\n\r\n", pos);
    std::size_t next = end == std::string::npos ? bytes.size() : end + 4;
    std::string_view block(bytes.data() + pos, next - pos);
    bool drop = block.rfind("Event: Cdr\r\n", 0) == 0 || block.rfind("Event: CEL\r\n", 0) == 0;
    if (!drop) out.append(block);
    pos = next;
  }
  return out;
}

std::string duplicate_messages(const std::string& bytes) {
  std::string out;
  std::size_t pos = 0;
  if (bytes.rfind("Asterisk Call Manager/", 0) == 0) {
    pos = bytes.find("\r\n") + 2;
    out.append(bytes, 0, pos);
  }
  while (pos < bytes.size()) {
    std::size_t end = bytes.find("\r\n\r\n", pos);
    std::size_t next = end == std::string::npos ? bytes.size() : end + 4;
    std::string_view block(bytes.data() + pos, next - pos);
    out.append(block);
    if (end != std::string::npos) out.append(block);
    pos = next;
  }
  return out;
}

ReplayResult replay_files(const std::vector<std::string>& paths, const ReplayOptions& opt) {
  std::vector<std::string> sessions;
  for (const auto& path : paths) {
    sessions.push_back(read_file(path));
    if (sessions.back().empty()) {
      ReplayResult r;
      r.error = "cannot read " + path;
      return r;
    }
  }
  return replay_streams(sessions, opt);
}

ReplayResult replay_streams(const std::vector<std::string>& sessions, const ReplayOptions& opt) {
  ReplayResult r;
  drivers::ami::TrackerOutputs outs;
  outs.on_journal = [&](model::JournalEntry e) { r.entries.push_back(std::move(e)); };
  outs.on_event = [&](const model::CallEvent& e) { r.events.push_back(e); };
  drivers::ami::AmiCallTracker tracker(opt.tracker, outs);
  std::mt19937 rng(opt.seed);
  bool first = true;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    std::string bytes = sessions[i];
    std::string path = "session " + std::to_string(i + 1);
    if (opt.strip_cdr_cel) bytes = strip_cdr_cel(bytes);
    if (opt.duplicate) bytes = duplicate_messages(bytes);
    // Receive time for messages without a Timestamp header: about the PBX time of the file's
    // first timestamped event (a recording's stand-in for the local clock).
    base::Timestamp file_start = tracker.last_event_time();
    if (auto p = bytes.find("\r\nTimestamp: "); p != std::string::npos) {
      auto e = bytes.find("\r\n", p + 2);
      std::string_view v(bytes.data() + p + 13, e == std::string::npos ? 0 : e - p - 13);
      if (auto ts = base::parse_epoch_seconds(v); ts && *ts > file_start) file_start = *ts;
    }
    base::Timestamp t = tracker.last_event_time();
    if (!first) tracker.on_session_end(t, base::Error::io("connection closed (replay)"));
    tracker.on_session_start(t);
    first = false;
    drivers::ami::FrameReader reader;
    drivers::ami::AmiMessage m;
    std::size_t pos = 0;
    while (pos < bytes.size() && r.error.empty()) {
      std::size_t n = bytes.size() - pos;
      if (opt.chunking == Chunking::random) {
        n = std::min<std::size_t>(n, std::uniform_int_distribution<std::size_t>(1, 700)(rng));
      }
      reader.feed(std::string_view(bytes).substr(pos, n));
      pos += n;
      for (;;) {
        auto got = reader.next(m);
        if (!got) {
          r.error = path + ": " + got.error().to_string();
          break;
        }
        if (!*got) break;
        tracker.on_message(m, std::max(tracker.last_event_time(), file_start));
      }
    }
  }
  tracker.flush(tracker.last_event_time());
  r.stats = tracker.stats();
  return r;
}

}  // namespace callbridge::testing
