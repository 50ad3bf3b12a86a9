#include "capabilities/calls/calls_service.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "base/time.hpp"
#include "core/event_hub.hpp"
#include "core/visibility.hpp"

namespace callbridge::capabilities::calls {

namespace json = boost::json;

CallList::CallList(core::Viewer viewer, const core::RemoteInfoView* remotes)
    : viewer_(std::move(viewer)), remotes_(remotes) {}

void CallList::add(const model::CallModel& m) {
  for (const auto& [id, c] : m.calls()) {
    if (!core::may_see(viewer_, m, c)) continue;
    if (!items_.empty()) items_ += ',';
    items_ += core::call_json(c, viewer_.tenant, m, remotes_);
    ids_.insert(id);
  }
}

void CallList::add_mirrored(std::string_view id, const std::vector<std::string>& devices, std::string_view json) {
  if (!mirror_visible(viewer_, devices) || !ids_.insert(std::string(id)).second) return;
  if (!items_.empty()) items_ += ',';
  items_ += json;
}

bool mirror_visible(const core::Viewer& v, const std::vector<std::string>& devices) {
  return v.sees_whole_tenant() ||
         std::any_of(devices.begin(), devices.end(), [&](const std::string& d) { return v.owns(d); });
}

std::string CallList::json() const { return "{\"calls\":[" + items_ + "]}"; }

std::optional<std::string> visible_call(const core::Viewer& viewer, const model::CallModel& m, std::string_view id,
                                        const core::RemoteInfoView* remotes) {
  const auto* c = m.find_call(id);
  if (!c || !core::may_see(viewer, m, *c)) return std::nullopt;
  return core::call_json(*c, viewer.tenant, m, remotes);
}

std::string command_json(const core::CommandRecord& r) {
  json::object o;
  o["id"] = r.id;
  o["action"] = r.action;
  o["state"] = core::to_string(r.state);
  o["reason"] = r.reason.empty() ? json::value(nullptr) : json::value(r.reason);
  o["call_id"] = r.call_id ? json::value(*r.call_id) : json::value(nullptr);
  if (r.request_id) o["request_id"] = *r.request_id;
  if (r.action == "park") o["space"] = r.space ? json::value(*r.space) : json::value(nullptr);
  o["created_at"] = base::format_rfc3339_ms(r.created_at);
  o["updated_at"] = base::format_rfc3339_ms(r.updated_at);
  return json::serialize(o);
}

}  // namespace callbridge::capabilities::calls
