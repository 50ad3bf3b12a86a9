// Cuts a recorded AMI capture (a fixture ami.log) into two sessions with a gap, as a dropped AMI
// connection or a restarted callbridged sees it: session 1 = everything before `cut`; the
// messages in [cut, resume) are lost; session 2 = a login, then the resync lists Asterisk would
// answer at `resume` (CoreShowChannel, Status, BridgeListItem built from the capture's own
// channel and bridge events up to there, Duration/Seconds in whole seconds as Asterisk prints
// them), then the rest of the capture. Optionally some messages from `resume` on arrive live between
// the login and the lists (as events flow while Asterisk answers the resync actions); the lists
// then show the state after them. Test helper; single-threaded.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace callbridge::testing {

struct AmiCapture {
  std::string banner;                  // "Asterisk Call Manager/11.0.0\r\n"
  std::vector<std::string> messages;   // raw blocks, each ending with "\r\n\r\n"

  static AmiCapture parse(const std::string& bytes);
  // Index of the first message at or after `from` containing every needle; nullopt if none.
  std::optional<std::size_t> find(std::vector<std::string_view> needles, std::size_t from = 0) const;
  // Index just after the first such message (a cut point "right after it").
  std::size_t after(std::vector<std::string_view> needles, std::size_t from = 0) const;
};

struct GapSessions {
  std::string first, second;
  std::size_t lost_messages = 0;
  std::size_t listed_channels = 0;
};

struct GapOptions {
  bool asterisk_restarted = false;  // the lists are empty: every channel is gone
  bool rest = true;                 // session 2 continues with the capture from `resume`
  // Messages from `resume` on that session 2 delivers live after the login, before the lists
  // (which then show the state after them); the rest follows the lists.
  std::size_t live_before_lists = 0;
};

GapSessions cut_with_gap(const AmiCapture& c, std::size_t cut, std::size_t resume,
                         GapOptions options = {});

}  // namespace callbridge::testing
