#include "fixture_replay.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "app/ami_wiring.hpp"
#include "drivers/ami/ami_replay.hpp"

namespace callbridge::testing {

drivers::ami::TrackerOptions lab_tracker_options() {
  static const drivers::ami::TrackerOptions lab = [] {
    auto config = app::parse_config("[tenant.default.dialing]\ncountry_code = \"49\"\n", "lab.toml");
    if (!config) std::abort();
    auto o = app::tracker_options(*config, "default");
    if (!o) std::abort();
    return *o;
  }();
  return lab;
}

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
  // The real replay path: AmiReplay feeds the same AmiProtocol the live link uses (banner, login
  // response, resync lists, framing limits); the tracker sees session start/end exactly as on a
  // reconnect between files.
  ReplayResult r;
  drivers::ami::TrackerOutputs outs;
  outs.on_journal = [&](model::JournalEntry e) { r.entries.push_back(std::move(e)); };
  const drivers::ami::AmiCallTracker* tp = nullptr;
  outs.on_event = [&](const model::CallEvent& e) {
    r.events.push_back(e);
    r.event_channels.push_back(tp ? tp->model().channel_usage(e.call_id) : std::nullopt);
  };
  drivers::ami::AmiCallTracker tracker(opt.tracker, outs);
  tp = &tracker;
  drivers::ami::AmiReplayOptions ro;
  ro.chunking = opt.chunking == Chunking::random ? drivers::ami::ReplayChunking::random
                                                 : drivers::ami::ReplayChunking::whole;
  ro.chunk_bytes = 700;
  ro.seed = opt.seed;
  ro.drop_cdr_cel = opt.strip_cdr_cel;
  drivers::ami::AmiReplay replay(tracker, ro);
  for (std::size_t i = 0; i < sessions.size() && r.error.empty(); ++i) {
    std::string name = "session " + std::to_string(i + 1);
    const std::string& bytes = opt.duplicate ? duplicate_messages(sessions[i]) : sessions[i];
    if (auto st = replay.run_contents(bytes, name); !st) {
      r.error = st.error().to_string();
      break;
    }
    const auto& file = replay.stats().files.back();
    if (file.error) r.error = name + ": " + file.error->to_string();
  }
  r.messages_dropped = replay.stats().messages_dropped;
  tracker.flush(tracker.last_event_time());
  r.stats = tracker.stats();
  r.usage = tracker.channel_usage();
  return r;
}

}  // namespace callbridge::testing
