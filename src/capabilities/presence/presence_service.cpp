#include "capabilities/presence/presence_service.hpp"

#include <algorithm>
#include <tuple>

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

std::vector<Colleague> ColleagueView::colleagues() const {
  std::vector<Colleague> out;
  for (const auto& u : users_) {
    Colleague c{u.name, u.display_name, u.team, u.role, {}, "offline"};
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
