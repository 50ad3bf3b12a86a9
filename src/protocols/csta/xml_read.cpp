// The value readers of xml_read.hpp: texts, numbers, booleans, connection ids, devices, enum
// tokens and the monitor filter, each recording the first error with the element's name.
#include "protocols/csta/xml_read.hpp"

#include <charconv>

namespace callbridge::protocols::csta::detail {

void Reader::missing(std::string_view element) {
  if (error_) return;
  error_ = DecodeError{DecodeError::Kind::missing_element, std::string(service_),
                       std::string(service_) + ": required element <" + std::string(element) + "> is missing"};
}

void Reader::bad_value(std::string_view element, std::string_view value, std::string_view expected) {
  if (error_) return;
  std::string shown(value.substr(0, 64));
  error_ = DecodeError{DecodeError::Kind::bad_value, std::string(service_),
                       std::string(service_) + ": <" + std::string(element) + "> \"" + shown +
                           "\" is not " + std::string(expected)};
}

std::string Reader::str(xml_node parent, std::string_view name, bool required) {
  xml_node n = child(parent, name);
  if (!n) {
    if (required) missing(name);
    return {};
  }
  return std::string(text(n));
}

std::optional<int> Reader::integer(xml_node parent, std::string_view name) {
  xml_node n = child(parent, name);
  if (!n) return std::nullopt;
  const std::string_view t = text(n);
  int v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || end != t.data() + t.size() || t.empty()) {
    bad_value(name, t, "an integer");
    return std::nullopt;
  }
  return v;
}

bool Reader::boolean_text(xml_node n, std::string_view name) {
  const std::string_view t = text(n);
  if (t == "true" || t == "1") return true;
  if (t == "false" || t == "0") return false;
  bad_value(name, t, "a boolean (true, false)");
  return false;
}

bool Reader::boolean(xml_node parent, std::string_view name, bool required, bool fallback) {
  xml_node n = child(parent, name);
  if (!n) {
    if (required) missing(name);
    return fallback;
  }
  return boolean_text(n, name);
}

ConnectionId Reader::connection(xml_node n) {
  return ConnectionId{std::string(text(child(n, "callID"))), std::string(text(child(n, "deviceID")))};
}

ConnectionId Reader::connection(xml_node parent, std::string_view name, bool required) {
  xml_node n = child(parent, name);
  if (!n) {
    if (required) missing(name);
    return {};
  }
  return connection(n);
}

std::optional<ConnectionId> Reader::opt_connection(xml_node parent, std::string_view name) {
  xml_node n = child(parent, name);
  if (!n) return std::nullopt;
  return connection(n);
}

EventDevice Reader::device(xml_node n) {
  for (xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view name = local_name(c.name());
    if (name == "notKnown") return {EventDevice::Status::not_known, {}};
    if (name == "restricted") return {EventDevice::Status::restricted, {}};
    if (name == "notRequired") return {EventDevice::Status::not_required, {}};
    if (name == "notSpecified") return {EventDevice::Status::not_specified, {}};
    if (name == "deviceIdentifier" || name == "implicitPublic" || name == "explicitPublic" ||
        name == "implicitPrivate" || name == "explicitPrivate" || name == "other") {
      return EventDevice::of(std::string(text(c)));
    }
  }
  const std::string_view t = text(n);
  if (!t.empty()) return EventDevice::of(std::string(t));
  return {EventDevice::Status::not_known, {}};
}

EventDevice Reader::device(xml_node parent, std::string_view name) {
  xml_node n = child(parent, name);
  if (!n) return {EventDevice::Status::not_known, {}};
  return device(n);
}

std::optional<EventDevice> Reader::opt_device(xml_node parent, std::string_view name) {
  xml_node n = child(parent, name);
  if (!n) return std::nullopt;
  return device(n);
}

std::optional<LocalConnectionState> Reader::state(xml_node parent, std::string_view name) {
  xml_node n = child(parent, name);
  if (!n) return std::nullopt;
  auto v = local_connection_state_from(text(n));
  if (!v) bad_value(name, text(n), "a LocalConnectionState (null, initiated, alerting, connected, hold, queued, fail)");
  return v;
}

std::optional<ForwardingType> Reader::forwarding_type(xml_node parent, std::string_view name, bool required) {
  xml_node n = child(parent, name);
  if (!n) {
    if (required) missing(name);
    return std::nullopt;
  }
  auto v = forwarding_type_from(text(n));
  if (!v) bad_value(name, text(n), "a ForwardingType (forwardImmediate, forwardBusy, forwardNoAns, ...)");
  return v;
}

std::optional<SystemStatusValue> Reader::system_status(xml_node parent, std::string_view name, bool required) {
  xml_node n = child(parent, name);
  if (!n) {
    if (required) missing(name);
    return std::nullopt;
  }
  auto v = system_status_from(text(n));
  if (!v) bad_value(name, text(n), "a SystemStatus (normal, initializing, messagesLost, disabled, ...)");
  return v;
}

MonitorFilter Reader::filter(xml_node n) {
  // Call control events live in <callcontrol> (ECMA-323 spells it so; some clients write
  // callControl), forwarding and doNotDisturb in <logicalDeviceFeature>. Other groups and other
  // events are not typed here and are ignored.
  MonitorFilter f;
  for (xml_node group = n.first_child(); group; group = group.next_sibling()) {
    if (group.type() != pugi::node_element) continue;
    const std::string_view g = local_name(group.name());
    const bool call_control = g == "callcontrol" || g == "callControl";
    const bool logical = g == "logicalDeviceFeature";
    if (!call_control && !logical) continue;
    for (xml_node e = group.first_child(); e; e = e.next_sibling()) {
      if (e.type() != pugi::node_element) continue;
      const std::string_view name = local_name(e.name());
      for (std::size_t k = 0; k < kEventKindCount; ++k) {
        const auto kind = static_cast<EventKind>(k);
        const bool is_logical = kind == EventKind::forwarding || kind == EventKind::do_not_disturb;
        if (is_logical != logical || filter_name(kind) != name) continue;
        f.suppress(kind, boolean_text(e, name));
      }
    }
  }
  return f;
}

}  // namespace callbridge::protocols::csta::detail
