// The presence capability's service logic, without HTTP: the lines (devices) of a tenant a viewer
// may see, each with its state and its owner's display name. Built in two steps because the data
// lives on two threads: the owners come from identity.db (a REST worker, constructor), the states
// from the tenant's CallModels (the io thread, add()). Not thread-safe; one per request.
#pragma once

#include <chrono>
#include <expected>
#include <map>
#include <optional>
#include <string_view>
#include <span>
#include <string>
#include <vector>

#include "core/visibility.hpp"
#include "model/call_model.hpp"
#include "ports/identity_store.hpp"

namespace callbridge::capabilities::presence {

struct Line {
  std::string device;       // "100"
  std::string name;         // the display name of its user (the first user listing it), or ""
  model::DeviceState state;
};

class LineView {
 public:
  // `users`: the users of the viewer's tenant; they name the lines and decide which lines a user
  // sees (own and team, core::line_scope). Worker thread (the caller read identity.db).
  LineView(const core::Viewer& viewer, std::span<const ports::User> users);

  // Adds the devices of one of the tenant's CallModels; a device two models report keeps the
  // first model's state. io thread (the models' owner).
  void add(const model::CallModel& m);
  // Adds one device's state (cluster mode: the mirror of another node's link) unless a model
  // added it already.
  void add(const std::string& device, model::DeviceState s) { states_.try_emplace(device, s); }

  // The visible lines, sorted by device.
  std::vector<Line> lines() const;

 private:
  std::map<std::string, std::string> names_;  // device -> display name
  core::LineScope scope_;
  std::map<std::string, model::DeviceState> states_;  // device -> state, sorted
};

// A colleague as the presence page shows them (GET /api/v1/presence): a user of the tenant with
// display name, team and the states of the lines the viewer may see.
// ---- the users' own status (PUT /api/v1/me/status; docs/api.md "Presence") ----
inline constexpr std::string_view kUserStatuses[] = {"available", "away", "busy", "dnd", "offline"};
inline constexpr std::size_t kMaxStatusNote = 200;                     // bytes
inline constexpr std::chrono::hours kMaxStatusAhead{24 * 31};          // `until` at most this far ahead
bool valid_user_status(std::string_view s);
// What readers see at `now`: nullopt ("available", no note) when never set, cleared or expired.
std::optional<ports::UserStatus> effective_status(std::optional<ports::UserStatus> s, base::Timestamp now);
// {"status","note","until","updated_at"}; "available" with nulls for nullopt.
std::string user_status_json(const std::optional<ports::UserStatus>& s);
// The tail of {"type":"user_status","seq":N, ...}: "user", "display_name", "extensions",
// "user_status" (the effective status).
std::string user_status_event_tail(const ports::User& u, const std::optional<ports::UserStatus>& s);
// Checks a PUT body's fields: the new status as stored (updated_at = now), or the reason (400).
std::expected<ports::UserStatus, std::string> status_from_request(std::string_view status, std::string_view note,
                                                                 std::optional<base::Timestamp> until,
                                                                 base::Timestamp now);

struct Colleague {
  std::string user;
  std::string display_name;
  std::string team;
  std::string role;
  std::vector<Line> lines;  // their extensions the viewer sees, in their order
  // The state that says most about them: ringing, busy, held, dnd, idle, offline (in that order of
  // precedence); "offline" also when none of their lines is known to the PBX or they have none.
  std::string state;
  std::optional<ports::UserStatus> user_status;  // effective (set by the route from identity.db)
};

// The colleagues a viewer may see: users see the users of their team (and themselves), with the
// lines core::line_scope lets them see; supervisors and admins every user of the tenant. Two steps
// as LineView: users on a worker, line states on the io thread. Not thread-safe.
class ColleagueView {
 public:
  ColleagueView(const core::Viewer& viewer, std::span<const ports::User> users);
  void add(const model::CallModel& m);
  void add(const std::string& device, model::DeviceState s) { states_.try_emplace(device, s); }  // as LineView's
  // Sorted by team, then display name (then user name); every user once.
  std::vector<Colleague> colleagues() const;

 private:
  core::Viewer viewer_;
  std::vector<ports::User> users_;  // the visible ones
  core::LineScope scope_;
  std::map<std::string, model::DeviceState> states_;
};

}  // namespace callbridge::capabilities::presence
