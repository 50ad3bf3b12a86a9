#include "capabilities/presence/presence_service.hpp"

#include <algorithm>
#include <tuple>

#include "base/json_text.hpp"
#include "base/time.hpp"
#include "core/event_hub.hpp"

namespace callbridge::capabilities::presence {

LineView::LineView(const core::Viewer& viewer, std::span<const ports::User> users)
    : scope_(core::line_scope(viewer, users)) {
  for (const auto& u : users)
    for (const auto& d : u.extensions) names_.try_emplace(d, u.display_name);
}

void LineView::add(const model::CallModel& m) {
  for (const auto& d : m.devices()) states_.try_emplace(d, m.device_state(d));
}

std::vector<Line> LineView::lines() const {
  std::vector<Line> out;
  for (const auto& [d, st] : states_) {
    if (!scope_.sees(d)) continue;
    auto n = names_.find(d);
    out.push_back(Line{d, n != names_.end() ? n->second : std::string(), st});
  }
  return out;
}

namespace {

// Higher says more about a person (ColleagueView's aggregate).
int weight(std::string_view state) {
  static constexpr std::string_view order[] = {"offline", "idle", "dnd", "held", "busy", "ringing"};
  for (std::size_t i = 0; i < std::size(order); ++i)
    if (order[i] == state) return static_cast<int>(i);
  return 0;
}

}  // namespace

ColleagueView::ColleagueView(const core::Viewer& viewer, std::span<const ports::User> users)
    : viewer_(viewer), scope_(core::line_scope(viewer, users)) {
  for (const auto& u : users) {
    if (u.tenant != viewer.tenant) continue;
    const bool same_team = !viewer.team.empty() && u.team == viewer.team;
    if (viewer.sees_whole_tenant() || same_team || u.name == viewer.user) users_.push_back(u);
  }
}

void ColleagueView::add(const model::CallModel& m) {
  for (const auto& d : m.devices()) states_.try_emplace(d, m.device_state(d));
}

bool valid_user_status(std::string_view s) {
  return std::find(std::begin(kUserStatuses), std::end(kUserStatuses), s) != std::end(kUserStatuses);
}

std::optional<ports::UserStatus> effective_status(std::optional<ports::UserStatus> s, base::Timestamp now) {
  if (!s || (s->until && *s->until <= now)) return std::nullopt;
  return s;
}

std::string user_status_json(const std::optional<ports::UserStatus>& s) {
  std::string o = "{\"status\":";
  base::append_json_string(o, s ? s->status : std::string("available"));
  o += ",\"note\":";
  base::append_json_string(o, s ? s->note : std::string());
  o += ",\"until\":";
  if (s && s->until) base::append_json_string(o, base::format_rfc3339_ms(*s->until));
  else o += "null";
  o += ",\"updated_at\":";
  if (s) base::append_json_string(o, base::format_rfc3339_ms(s->updated_at));
  else o += "null";
  o += '}';
  return o;
}

std::string user_status_event_tail(const ports::User& u, const std::optional<ports::UserStatus>& s) {
  std::string o = ",\"user\":";
  base::append_json_string(o, u.name);
  o += ",\"display_name\":";
  base::append_json_string(o, u.display_name);
  o += ",\"extensions\":[";
  for (std::size_t i = 0; i < u.extensions.size(); ++i) {
    if (i) o += ',';
    base::append_json_string(o, u.extensions[i]);
  }
  o += "],\"user_status\":";
  o += user_status_json(s);
  o += '}';
  return o;
}

std::expected<ports::UserStatus, std::string> status_from_request(std::string_view status, std::string_view note,
                                                                 std::optional<base::Timestamp> until,
                                                                 base::Timestamp now) {
  if (!valid_user_status(status))
    return std::unexpected("status: expected one of available, away, busy, dnd, offline, not '" +
                           std::string(status.substr(0, 40)) + "'");
  if (note.size() > kMaxStatusNote)
    return std::unexpected("note: " + std::to_string(note.size()) + " bytes, at most " + std::to_string(kMaxStatusNote));
  for (char c : note)
    if (static_cast<unsigned char>(c) < 0x20) return std::unexpected("note: control characters are not allowed");
  if (until && *until <= now) return std::unexpected("until: must be in the future");
  if (until && *until - now > kMaxStatusAhead) return std::unexpected("until: at most 31 days ahead");
  return ports::UserStatus{.status = std::string(status), .note = std::string(note), .until = until, .updated_at = now};
}

std::vector<Colleague> ColleagueView::colleagues() const {
  std::vector<Colleague> out;
  for (const auto& u : users_) {
    Colleague c{u.name, u.display_name, u.team, u.role, {}, "offline", std::nullopt};
    for (const auto& d : u.extensions) {
      if (!scope_.sees(d)) continue;
      auto it = states_.find(d);
      // A device no PBX link reports is not reachable now.
      const auto st = it != states_.end() ? it->second : model::DeviceState::unavailable;
      c.lines.push_back(Line{d, u.display_name, st});
      const std::string_view name = core::line_state_name(st);
      if (c.lines.size() == 1 || weight(name) > weight(c.state)) c.state = std::string(name);
    }
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const Colleague& a, const Colleague& b) {
    return std::tie(a.team, a.display_name, a.user) < std::tie(b.team, b.display_name, b.user);
  });
  return out;
}

}  // namespace callbridge::capabilities::presence
