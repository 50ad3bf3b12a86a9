#include "capabilities/presence/presence_service.hpp"

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

}  // namespace callbridge::capabilities::presence
