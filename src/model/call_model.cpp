#include "model/call_model.hpp"

#include "base/json_text.hpp"

#include <algorithm>
#include <cstdio>

namespace callbridge::model {

std::string_view to_string(ConnectionState s) {
  switch (s) {
    case ConnectionState::null: return "null";
    case ConnectionState::initiated: return "initiated";
    case ConnectionState::alerting: return "alerting";
    case ConnectionState::connected: return "connected";
    case ConnectionState::held: return "held";
    case ConnectionState::queued: return "queued";
    case ConnectionState::failed: return "failed";
  }
  return "null";
}

std::string_view to_string(CallEventType t) {
  switch (t) {
    case CallEventType::originated: return "originated";
    case CallEventType::delivered: return "delivered";
    case CallEventType::established: return "established";
    case CallEventType::held: return "held";
    case CallEventType::retrieved: return "retrieved";
    case CallEventType::diverted: return "diverted";
    case CallEventType::transferred: return "transferred";
    case CallEventType::conferenced: return "conferenced";
    case CallEventType::connection_cleared: return "connectionCleared";
    case CallEventType::failed: return "failed";
    case CallEventType::queued: return "queued";
  }
  return "failed";
}

std::string_view to_string(DeviceState s) {
  switch (s) {
    case DeviceState::unknown: return "unknown";
    case DeviceState::idle: return "idle";
    case DeviceState::ringing: return "ringing";
    case DeviceState::busy: return "busy";
    case DeviceState::held: return "held";
    case DeviceState::unavailable: return "unavailable";
    case DeviceState::dnd: return "dnd";
  }
  return "unknown";
}

std::string_view to_string(Action a) {
  switch (a) {
    case Action::answer: return "answer";
    case Action::hangup: return "hangup";
    case Action::hold: return "hold";
    case Action::retrieve: return "retrieve";
    case Action::consult: return "consult";
    case Action::alternate: return "alternate";
    case Action::transfer: return "transfer";
    case Action::conference: return "conference";
    case Action::deflect: return "deflect";
    case Action::dial: return "dial";
    case Action::pickup: return "pickup";
    case Action::park: return "park";
  }
  return "";
}

std::vector<std::string_view> action_names(ActionSet s) {
  std::vector<std::string_view> out;
  for (std::uint32_t bit = 1; bit <= static_cast<std::uint32_t>(Action::park); bit <<= 1) {
    if (s & bit) out.push_back(to_string(static_cast<Action>(bit)));
  }
  return out;
}

namespace {

using base::append_json_string;

}  // namespace

std::string to_json_line(const CallEvent& e) {
  std::string o;
  o.reserve(256);
  o += "{\"tenant\": ";
  append_json_string(o, e.tenant);
  o += ", \"event\": ";
  append_json_string(o, to_string(e.type));
  o += ", \"call_id\": ";
  append_json_string(o, e.call_id);
  o += ", \"device\": ";
  append_json_string(o, e.device);
  o += ", \"state\": ";
  append_json_string(o, to_string(e.state));
  o += ", \"connections\": {";
  bool first = true;
  for (const auto& [dev, st] : e.connections) {
    if (!first) o += ", ";
    first = false;
    append_json_string(o, dev);
    o += ": ";
    append_json_string(o, to_string(st));
  }
  o += "}, \"remote\": ";
  if (e.remote) append_json_string(o, *e.remote);
  else o += "null";
  o += ", \"allowed_actions\": [";
  first = true;
  for (auto name : action_names(e.allowed_actions)) {
    if (!first) o += ", ";
    first = false;
    append_json_string(o, name);
  }
  o += "], \"at\": ";
  append_json_string(o, base::format_rfc3339_ms(e.at));
  o += ", \"cause\": ";
  if (e.cause) o += std::to_string(*e.cause);
  else o += "null";
  if (e.detail) {
    o += ", \"detail\": ";
    append_json_string(o, *e.detail);
  }
  o += "}";
  return o;
}

CallModel::CallModel(base::TenantId tenant, EventSink sink)
    : tenant_(std::move(tenant)), sink_(std::move(sink)) {}

CallModel::DeviceInfo& CallModel::touch(std::string_view device) {
  auto it = devices_.find(std::string(device));
  if (it == devices_.end()) it = devices_.emplace(std::string(device), DeviceInfo{}).first;
  it->second.version = ++line_version_;
  return it->second;
}

void CallModel::set_device_caps(std::string_view device, DeviceCaps caps) {
  auto& d = touch(device);
  d.caps = caps;
  d.caps_set = true;
}

DeviceCaps CallModel::device_caps(std::string_view device) const {
  auto it = devices_.find(std::string(device));
  if (it != devices_.end() && it->second.caps_set) return it->second.caps;
  return caps_resolver_ ? caps_resolver_(device) : DeviceCaps{};
}

Call* CallModel::call_ptr(std::string_view id) {
  auto it = calls_.find(std::string(id));
  return it == calls_.end() ? nullptr : &it->second;
}

const Call* CallModel::find_call(std::string_view id) const {
  auto it = calls_.find(std::string(id));
  return it == calls_.end() ? nullptr : &it->second;
}

void CallModel::update(std::string_view call_id, std::string_view device, ConnectionState state,
                       CallEventType type, base::Timestamp at, std::optional<std::string> remote,
                       std::optional<std::string> detail, std::optional<bool> pbx_hold) {
  auto [it, created] = calls_.try_emplace(std::string(call_id));
  Call& call = it->second;
  if (created) {
    call.id = std::string(call_id);
    call.created_at = at;
  }
  auto conn = std::find_if(call.connections.begin(), call.connections.end(),
                           [&](const Connection& c) { return c.device == device; });
  if (conn == call.connections.end()) {
    call.connections.push_back(Connection{std::string(device), ConnectionState::null, {}, at});
    conn = call.connections.end() - 1;
  }
  bool remote_changed = remote && conn->remote != remote;
  if (pbx_hold) conn->pbx_hold = *pbx_hold;
  if (conn->state == state && !remote_changed && !detail) return;
  count(device, conn->state, -1);
  count(device, state, +1);
  conn->state = state;
  conn->since = at;
  if (remote) conn->remote = std::move(remote);
  publish(call, device, state, type, at, conn->remote, std::nullopt, std::move(detail));
}

void CallModel::set_pbx_hold(std::string_view call_id, std::string_view device, bool on) {
  Call* call = call_ptr(call_id);
  if (!call) return;
  for (auto& c : call->connections)
    if (c.device == device) c.pbx_hold = on;
}

void CallModel::clear(std::string_view call_id, std::string_view device, base::Timestamp at,
                      std::optional<int> cause, bool failed, std::optional<std::string> detail,
                      bool transferred) {
  Call* call = call_ptr(call_id);
  if (!call) return;
  auto conn = std::find_if(call->connections.begin(), call->connections.end(),
                           [&](const Connection& c) { return c.device == device; });
  if (conn == call->connections.end()) return;
  std::optional<std::string> remote = conn->remote;
  count(device, conn->state, -1);
  call->connections.erase(conn);
  publish(*call, device, failed ? ConnectionState::failed : ConnectionState::null,
          failed        ? CallEventType::failed
          : transferred ? CallEventType::transferred
                        : CallEventType::connection_cleared,
          at, std::move(remote),
          cause, std::move(detail));
  if (call->connections.empty()) calls_.erase(std::string(call_id));
}

void CallModel::merge(std::string_view from, std::string_view into, base::Timestamp at) {
  if (from == into) return;
  Call* src = call_ptr(from);
  if (!src) return;
  auto moved = std::move(src->connections);
  calls_.erase(std::string(from));
  auto [it, created] = calls_.try_emplace(std::string(into));
  Call& dst = it->second;
  if (created) {
    dst.id = std::string(into);
    dst.created_at = at;
  }
  for (auto& c : moved) {
    auto same = std::find_if(dst.connections.begin(), dst.connections.end(),
                             [&](const Connection& x) { return x.device == c.device; });
    if (same != dst.connections.end()) {  // a device has one connection per call
      count(c.device, c.state, -1);
      continue;
    }
    dst.connections.push_back(std::move(c));
  }
  for (const auto& c : dst.connections) {
    publish(dst, c.device, c.state, CallEventType::transferred, at, c.remote, std::nullopt,
            std::string(from));
  }
}

void CallModel::set_pbx_device_state(std::string_view device, DeviceState s, base::Timestamp) {
  touch(device).pbx = s;
}

void CallModel::set_dnd(std::string_view device, bool on, base::Timestamp) {
  touch(device).dnd = on;
}

void CallModel::set_line_dnd(std::string_view device, bool on, base::Timestamp) {
  auto it = devices_.find(std::string(device));
  if (it == devices_.end() ? !on : it->second.line_dnd == on) return;  // no change, no new version
  touch(device).line_dnd = on;
}

DeviceState CallModel::device_state(std::string_view device) const {
  auto it = devices_.find(std::string(device));
  DeviceState pbx = DeviceState::unknown;
  if (it != devices_.end()) {
    pbx = it->second.pbx;
    // An offline desk phone with a call on the line: the user's external device (AnyDevice)
    // carries it, and presence shows them busy like a desk call.
    const bool calls = it->second.active > 0 || it->second.held > 0;
    if (pbx == DeviceState::unavailable && !calls) return pbx;
    if (it->second.dnd || it->second.line_dnd) return DeviceState::dnd;
  }
  bool alerting = false, connected = false, held = false;
  if (it != devices_.end()) {
    alerting = it->second.alerting > 0;
    connected = it->second.active > 0;
    held = it->second.held > 0;
  }
  if (connected) return DeviceState::busy;
  if (alerting) return DeviceState::ringing;
  if (held) return DeviceState::held;
  if (pbx == DeviceState::unknown) return it == devices_.end() ? DeviceState::unknown : DeviceState::idle;
  // The PBX may still report busy for a call we do not model (e.g. a helper channel).
  return pbx;
}

ActionSet CallModel::allowed_actions(const Call& call, std::string_view device) const {
  return actions_with(call, device, device_caps(device));
}

std::vector<std::pair<Action, std::string_view>> CallModel::unavailable_actions(const Call& call,
                                                                                std::string_view device) const {
  std::vector<std::pair<Action, std::string_view>> out;
  DeviceCaps caps = device_caps(device);
  if (caps.remote_answer && caps.remote_hold) return out;
  ActionSet missing = actions_with(call, device, DeviceCaps{true, true}) & ~actions_with(call, device, caps);
  for (std::uint32_t bit = 1; bit <= static_cast<std::uint32_t>(Action::dial); bit <<= 1) {
    if (!(missing & bit)) continue;
    auto a = static_cast<Action>(bit);
    switch (a) {
      case Action::answer: out.emplace_back(a, "this phone cannot be answered from here; pick up the handset"); break;
      case Action::hold: out.emplace_back(a, "this phone cannot be put on hold from here; use its hold key"); break;
      case Action::retrieve: out.emplace_back(a, "this phone cannot resume a call from here; use its hold key"); break;
      case Action::alternate: out.emplace_back(a, "this phone cannot switch calls from here; use its keys"); break;
      default: out.emplace_back(a, "this phone does not accept this request from here"); break;
    }
  }
  return out;
}

ActionSet CallModel::actions_with(const Call& call, std::string_view device, DeviceCaps caps) const {
  auto conn = std::find_if(call.connections.begin(), call.connections.end(),
                           [&](const Connection& c) { return c.device == device; });
  if (conn == call.connections.end()) return 0;
  // Other calls of the same device decide whether alternate/transfer/conference make sense.
  bool other_active = false, other_held = false;
  auto dev = devices_.find(std::string(device));
  if (dev != devices_.end()) {
    bool self_active = conn->state == ConnectionState::connected ||
                       conn->state == ConnectionState::initiated ||
                       conn->state == ConnectionState::queued;
    other_active = dev->second.active - (self_active ? 1 : 0) > 0;
    other_held = dev->second.held - (conn->state == ConnectionState::held ? 1 : 0) > 0;
  }
  auto bit = [](Action a) { return static_cast<ActionSet>(a); };
  // Hold, retrieve and switching calls: the phone on request, or the PBX itself (a call on an
  // external device: held in [callbridge-hold]; switched within its consultation by Asterisk's
  // attended transfer, the only way it has a second call; docs/call-control.md).
  const bool can_hold = caps.remote_hold || conn->pbx_hold;
  ActionSet s = 0;
  switch (conn->state) {
    case ConnectionState::alerting:
      s |= bit(Action::hangup) | bit(Action::deflect);
      if (caps.remote_answer) s |= bit(Action::answer);
      if (pickup_offered_) s |= bit(Action::pickup);
      break;
    case ConnectionState::initiated:
    case ConnectionState::queued:
      s |= bit(Action::hangup);
      break;
    case ConnectionState::connected:
      // Blind transfer and consultation are PBX features (AMI BlindTransfer/Atxfer): no phone
      // support needed. Hold needs the phone to accept a remote hold request, or the PBX to hold.
      s |= bit(Action::hangup) | bit(Action::transfer) | bit(Action::consult);
      if (park_offered_ && conn->remote) s |= bit(Action::park);
      // An external device with a call on hold is in a consultation: its channel carries both
      // calls, the PBX cannot hold one of them (switch instead).
      if (can_hold && !(conn->pbx_hold && other_held)) s |= bit(Action::hold);
      if (other_held) {
        s |= bit(Action::conference);
        if (can_hold) s |= bit(Action::alternate);
      }
      break;
    case ConnectionState::held:
      s |= bit(Action::hangup);
      if (can_hold && !other_active) s |= bit(Action::retrieve);
      if (other_active) {
        s |= bit(Action::transfer) | bit(Action::conference);
        if (can_hold) s |= bit(Action::alternate);
      }
      break;
    case ConnectionState::null:
    case ConnectionState::failed:
      break;
  }
  return s;
}

void CallModel::count(std::string_view device, ConnectionState s, int delta) {
  int DeviceInfo::*field = nullptr;
  switch (s) {
    case ConnectionState::alerting: field = &DeviceInfo::alerting; break;
    case ConnectionState::connected:
    case ConnectionState::initiated:
    case ConnectionState::queued: field = &DeviceInfo::active; break;
    case ConnectionState::held: field = &DeviceInfo::held; break;
    case ConnectionState::null:
    case ConnectionState::failed: return;
  }
  touch(device).*field += delta;
}

std::vector<std::string> CallModel::devices() const {
  std::vector<std::string> out;
  out.reserve(devices_.size());
  for (const auto& [d, info] : devices_) out.push_back(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> CallModel::devices_changed_since(std::uint64_t version) const {
  std::vector<std::string> out;
  if (version >= line_version_) return out;
  for (const auto& [d, info] : devices_)
    if (info.version > version) out.push_back(d);
  std::sort(out.begin(), out.end());
  return out;
}

void CallModel::publish(const Call& call, std::string_view device, ConnectionState state,
                        CallEventType type, base::Timestamp at, std::optional<std::string> remote,
                        std::optional<int> cause, std::optional<std::string> detail) {
  if (!sink_) return;
  CallEvent e{.tenant = tenant_};
  e.type = type;
  e.call_id = call.id;
  e.device = std::string(device);
  e.state = state;
  for (const auto& c : call.connections) e.connections.emplace_back(c.device, c.state);
  e.remote = std::move(remote);
  e.allowed_actions = allowed_actions(call, device);
  e.at = at;
  e.cause = cause;
  e.detail = std::move(detail);
  sink_(e);
}

}  // namespace callbridge::model
