// A user's PBX call features (docs/dialplan.md): do-not-disturb, call forwarding and follow-me,
// which the PBX carries out per line (ports::PbxFeatures) and a user sets for all their
// extensions at once. What a forwarding destination may be (an extension of the tenant, or an
// external number the tenant's AnyDevice policy allows), the change a request makes to each line,
// and the JSON the REST routes and the {"type":"line_features"} events show. Pure functions; any
// thread.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/any_device.hpp"
#include "ports/pbx_features.hpp"

namespace callbridge::core {

// Why a forwarding destination is refused: problem type ("invalid-destination" = not a number
// callbridge can forward to; "destination-not-allowed" = the tenant's number policy forbids it)
// and the words.
struct DestinationRefusal {
  std::string type;
  std::string detail;
};

// The destination as the PBX dials it: an internal extension as typed ("102"), an external number
// in E.164. `is_extension`: whether the text is an extension of the tenant; `to_e164`: the tenant's
// dialing plan (nullopt: not an external number); `own`: the user's own extensions (no forwarding
// to oneself). External numbers must pass `policy` (the AnyDevice allow/deny patterns).
std::expected<std::string, DestinationRefusal> resolve_destination(
    std::string_view raw, const std::function<bool(std::string_view)>& is_extension,
    const std::function<std::optional<std::string>(std::string_view)>& to_e164, const AnyDevicePolicy& policy,
    const std::vector<std::string>& own);

// A change of one or more features (absent: unchanged).
struct FeatureChange {
  std::optional<bool> dnd;
  // Forwarding: a destination (already resolved), or "" = off.
  std::optional<std::string> unconditional, busy, no_answer;
  std::optional<int> no_answer_seconds;
  // Follow-me: the active external device's number, or "" = off.
  std::optional<std::string> follow_me;
  std::optional<ports::FollowMeMode> follow_me_mode;
  std::optional<int> desk_seconds;
};
ports::LineFeatures apply(ports::LineFeatures f, const FeatureChange& c);

// Follow-me rings the user's active external device: its number when it is external and the
// policy still allows it, else nullopt (follow-me off).
std::optional<std::string> follow_me_number(const std::optional<ActiveDevice>& active, const AnyDevicePolicy& policy);
// Makes the follow-me of those of `lines` that have it on ring `number` (nullopt: turns it off);
// lines without follow-me stay as they are. `log_what` names the occasion in the warning a refused
// write logs. Returns how many lines were rewritten. Model (io) thread.
std::size_t follow_active_device(ports::PbxFeatures& pbx, const std::vector<std::string>& lines,
                                 const std::optional<std::string>& number, std::string log_what);

// {"dnd":false,"forwarding":{"unconditional":null,"busy":"+49..","no_answer":"102",
//  "no_answer_seconds":20},"follow_me":{"number":null|"+49..","mode":"parallel","desk_seconds":15}}
std::string line_features_json(const ports::LineFeatures& f);

}  // namespace callbridge::core
