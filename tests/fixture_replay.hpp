// Replays recorded AMI byte streams (fixture ami.log files) through the real replay path
// (drivers/ami AmiReplay: AmiProtocol, then AmiCallTracker) and collects the journal entries and
// CSTA events. One file = one AMI session; between files the tracker sees
// on_session_end/on_session_start (a reconnect). Test helper; single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ami/ami_call_tracker.hpp"
#include "model/call_model.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::testing {

enum class Chunking { whole, random };

// The tracker options of the lab the captures come from: a German PBX (phones dial 0... for
// national numbers), so [tenant.default.dialing] country_code = "49" through the daemon's own
// wiring (app::tracker_options). The expected journals assume it.
drivers::ami::TrackerOptions lab_tracker_options();

struct ReplayOptions {
  Chunking chunking = Chunking::whole;  // random: ReplayChunking::random, 1..700-byte pieces
  std::uint32_t seed = 1;
  bool strip_cdr_cel = false;  // AmiReplay drops every `Event: Cdr` / `Event: CEL` (drop_cdr_cel)
  bool duplicate = false;      // deliver every message twice (robustness)
  drivers::ami::TrackerOptions tracker = lab_tracker_options();
};

struct ReplayResult {
  std::vector<model::JournalEntry> entries;
  std::vector<model::CallEvent> events;
  // Channel accounting: the call's channels as each event left them (parallel to `events`), and
  // the tracker's totals at the end (peaks, trunk seconds).
  std::vector<std::optional<model::ChannelUsage>> event_channels;
  model::ChannelUsage usage;
  drivers::ami::TrackerStats stats;
  std::size_t messages_dropped = 0;  // Cdr/CEL dropped by strip_cdr_cel
  std::string error;  // non-empty when a file could not be read, framed or logged into
  std::string jsonl() const;
};

std::string read_file(const std::string& path);
// The stream without `Event: Cdr` / `Event: CEL` messages (banner and everything else kept).
std::string strip_cdr_cel(const std::string& bytes);
// The stream with every message repeated once right after itself.
std::string duplicate_messages(const std::string& bytes);

ReplayResult replay_files(const std::vector<std::string>& paths, const ReplayOptions& opt = {});
// Same with the bytes of each session given directly.
ReplayResult replay_streams(const std::vector<std::string>& sessions, const ReplayOptions& opt = {});

}  // namespace callbridge::testing
