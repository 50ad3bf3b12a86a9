// Internal to protocols/csta: reading typed values out of a pugixml DOM by local element name
// (any namespace prefix), recording the first error instead of throwing. Used by decode.cpp,
// decode_events.cpp and xml_read.cpp only: pugixml is seen nowhere else in callbridge.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/csta_types.hpp"
#include "protocols/csta/message_info.hpp"

namespace callbridge::protocols::csta::detail {

using pugi::xml_node;

// "csta:MonitorStart" -> "MonitorStart".
inline std::string_view local_name(const char* name) {
  std::string_view s(name);
  const auto colon = s.find(':');
  return colon == std::string_view::npos ? s : s.substr(colon + 1);
}

inline std::string_view trim(std::string_view s) {
  constexpr std::string_view kWs = " \t\r\n";
  const auto b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kWs) - b + 1);
}

// The first element child of `parent` with local name `name`.
inline xml_node child(xml_node parent, std::string_view name) {
  for (xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
  }
  return {};
}

inline xml_node next_named(xml_node after, std::string_view name) {
  for (xml_node c = after.next_sibling(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
  }
  return {};
}

inline xml_node first_element(xml_node parent) {
  for (xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) return c;
  }
  return {};
}

// An element's text: its first text or CDATA child, trimmed.
inline std::string_view text(xml_node n) { return trim(n.child_value()); }

class Reader {
 public:
  Reader(std::string_view service, std::optional<DecodeError>& error) : service_(service), error_(error) {}

  bool failed() const { return error_.has_value(); }
  void missing(std::string_view element);
  void bad_value(std::string_view element, std::string_view value, std::string_view expected);

  // Text of child `name`; "" when absent (and an error when required).
  std::string str(xml_node parent, std::string_view name, bool required = false);
  std::optional<int> integer(xml_node parent, std::string_view name);
  // xsd:boolean ("true", "false", "1", "0"); `fallback` when absent and not required.
  bool boolean(xml_node parent, std::string_view name, bool required, bool fallback = false);
  bool boolean_text(xml_node n, std::string_view name);
  // ECMA-269 ConnectionID: callID, deviceID (attributes such as typeOfNumber ignored).
  ConnectionId connection(xml_node n);
  ConnectionId connection(xml_node parent, std::string_view name, bool required);
  std::optional<ConnectionId> opt_connection(xml_node parent, std::string_view name);
  // SubjectDeviceID & co: deviceIdentifier (or implicit/explicit public/private, other), or
  // notKnown / restricted / notRequired / notSpecified; bare text is taken as the identifier.
  EventDevice device(xml_node n);
  EventDevice device(xml_node parent, std::string_view name);  // absent: not_known
  std::optional<EventDevice> opt_device(xml_node parent, std::string_view name);
  std::optional<LocalConnectionState> state(xml_node parent, std::string_view name);
  std::optional<ForwardingType> forwarding_type(xml_node parent, std::string_view name, bool required);
  std::optional<SystemStatusValue> system_status(xml_node parent, std::string_view name, bool required);
  MonitorFilter filter(xml_node n);

 private:
  std::string_view service_;
  std::optional<DecodeError>& error_;
};

// One reader per message type (decode.cpp: requests and responses, decode_events.cpp: events
// and CSTAErrorCode): fills `out` from the root element, errors go to the Reader.
#define CALLBRIDGE_CSTA_READ_DECL(T, N, C) void read(Reader& r, xml_node root, T& out);
CALLBRIDGE_CSTA_MESSAGES(CALLBRIDGE_CSTA_READ_DECL)
#undef CALLBRIDGE_CSTA_READ_DECL

}  // namespace callbridge::protocols::csta::detail
