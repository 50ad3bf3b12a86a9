// PbxFeatures: the per-line call features the PBX carries out itself — do-not-disturb, call
// forwarding (unconditional, on busy, on no answer after N seconds) and follow-me to an external
// number — so they work while callbridged is down. Implemented by a PBX driver (drivers/ami
// AmiFeatures: AstDB keys read by contrib/asterisk/callbridge.conf, docs/dialplan.md); used by
// core and the forwarding capability (REST), and meant for a CSTA server's SetForwarding /
// SetDoNotDisturb. Model (io) thread only; `done` runs exactly once on that thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ports/pbx_commands.hpp"

namespace callbridge::ports {

enum class ForwardKind : std::uint8_t { unconditional, busy, no_answer };
constexpr std::string_view to_string(ForwardKind k) {
  switch (k) {
    case ForwardKind::unconditional: return "unconditional";
    case ForwardKind::busy: return "busy";
    case ForwardKind::no_answer: return "no_answer";
  }
  return "?";
}

enum class FollowMeMode : std::uint8_t {
  parallel,    // the desk phone and the external number ring together ("ring both")
  sequential,  // the desk phone rings `desk_seconds`, then the external number
  device,      // only the external number rings
};
constexpr std::string_view to_string(FollowMeMode m) {
  switch (m) {
    case FollowMeMode::parallel: return "parallel";
    case FollowMeMode::sequential: return "sequential";
    case FollowMeMode::device: return "device";
  }
  return "?";
}

// What the PBX does with calls to one line (an internal extension, "101"). Destinations are dial
// strings the PBX dials as they are: an internal extension ("102") or an E.164 number
// ("+491701234567", which the dialplan dials through the site's outbound route). Only digits and a
// leading '+' (kMaxDestination characters) reach the PBX.
struct LineFeatures {
  static constexpr std::size_t kMaxDestination = 24;
  static constexpr int kMinNoAnswerSeconds = 5, kMaxNoAnswerSeconds = 120, kDefaultNoAnswerSeconds = 20;
  static constexpr int kDefaultDeskSeconds = 15;

  bool dnd = false;                         // callers hear busy (cause 17)
  std::optional<std::string> unconditional; // every call goes there at once (wins over busy/no answer)
  std::optional<std::string> busy;          // when the line is busy or refuses (486)
  std::optional<std::string> no_answer;     // after no_answer_seconds of ringing
  int no_answer_seconds = kDefaultNoAnswerSeconds;
  // Follow-me: the user's active external device (set by callbridged from AnyDevice); nullopt = off.
  std::optional<std::string> follow_me;
  FollowMeMode follow_me_mode = FollowMeMode::parallel;
  int desk_seconds = kDefaultDeskSeconds;   // sequential: how long the desk phone rings first

  const std::optional<std::string>& forward(ForwardKind k) const {
    return k == ForwardKind::unconditional ? unconditional : k == ForwardKind::busy ? busy : no_answer;
  }
  std::optional<std::string>& forward(ForwardKind k) {
    return k == ForwardKind::unconditional ? unconditional : k == ForwardKind::busy ? busy : no_answer;
  }
  bool any() const { return dnd || unconditional || busy || no_answer || follow_me; }
  bool operator==(const LineFeatures&) const = default;
};

// A destination the PBX may dial: an optional leading '+' and 2..kMaxDestination-1 digits.
inline bool dialable_destination(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.size() < 2 || s.size() >= LineFeatures::kMaxDestination) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
// A line name the features may be kept for: 1..32 of [0-9A-Za-z] (what the dialplan's patterns match).
inline bool valid_feature_line(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
      return false;
  return true;
}

class PbxFeatures {
 public:
  virtual ~PbxFeatures() = default;
  // Whether the PBX can carry the features now: ok, or Errc::unavailable with the reason in words
  // (the link is down; the PBX lacks callbridge's dialplan, contrib/asterisk/callbridge.conf; the
  // state was not read yet).
  virtual base::Status ready() const = 0;
  // What the PBX holds for `line` (read back at every login, then updated by set_line);
  // default-constructed when nothing is set.
  virtual LineFeatures line(std::string_view line) const = 0;
  // Makes the PBX hold `features` for `line` (only the keys that change are written). `done`:
  // ok once the PBX stored all of it; Errc::unavailable (see ready()), Errc::invalid_argument (a
  // line or destination that is not dialable), Errc::conflict (the PBX refused; part of the
  // change may be stored, line() says what), Errc::timeout.
  virtual void set_line(const std::string& line, const LineFeatures& features, CommandDone done) = 0;
};

}  // namespace callbridge::ports
