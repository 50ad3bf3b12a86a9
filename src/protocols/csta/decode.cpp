// CSTA XML -> typed messages (codec.hpp): the parse, limits, namespace and edition, the dispatch
// by root element, the value readers, and the readers of requests and responses.
// (Events and CSTAErrorCode: decode_events.cpp.)
#include <algorithm>
#include <array>
#include <charconv>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/xml_read.hpp"

namespace callbridge::protocols::csta {

ErrorCode DecodeError::suggested_error() const {
  // ECMA-269 12.2 / ECMA-323 9.3: a request that cannot be understood is an operation error;
  // a value the request names that is not one of the allowed ones is valueOutOfRange.
  switch (kind) {
    case Kind::bad_value: return {ErrorCategory::operation, std::string(error_value::kValueOutOfRange)};
    case Kind::missing_element:
      return {ErrorCategory::operation, std::string(error_value::kInvalidParameterValue)};
    case Kind::too_large:
    case Kind::not_xml:
    case Kind::too_deep:
    case Kind::bad_namespace: break;
  }
  return {ErrorCategory::operation, std::string(error_value::kGeneric)};
}

namespace detail {

// ---- ECMA-354 application session ----------------------------------------------------------------

namespace {
// The credentials deployed clients put into applicationSpecificInfo (Avaya AES: SessionLoginInfo/
// userName + password; others userID/loginID + password), at any depth (bounded by max_depth).
void find_credentials(xml_node info, std::string& user, std::string& password) {
  xml_node cur = info.first_child();
  while (cur && cur != info) {
    if (cur.type() == pugi::node_element) {
      const std::string_view n = local_name(cur.name());
      if (user.empty() && (n == "userID" || n == "userId" || n == "userName" || n == "username" ||
                           n == "user" || n == "loginID" || n == "login")) {
        user = std::string(text(cur));
      } else if (password.empty() && (n == "password" || n == "passwd")) {
        password = std::string(text(cur));
      }
    }
    if (cur.first_child()) {
      cur = cur.first_child();
      continue;
    }
    while (cur != info && !cur.next_sibling()) cur = cur.parent();
    if (cur != info) cur = cur.next_sibling();
  }
}
}  // namespace

void read(Reader& r, xml_node root, StartApplicationSession& out) {
  xml_node info = child(root, "applicationInfo");
  out.application_id = r.str(info, "applicationID");
  if (xml_node specific = child(info, "applicationSpecificInfo")) {
    find_credentials(specific, out.user_id, out.password);
  }
  if (xml_node versions = child(root, "requestedProtocolVersions")) {
    for (xml_node v = child(versions, "protocolVersion"); v; v = next_named(v, "protocolVersion")) {
      out.protocol_versions.emplace_back(text(v));
    }
  }
  out.requested_session_duration = r.integer(root, "requestedSessionDuration");
}

void read(Reader& r, xml_node root, StartApplicationSessionPosResponse& out) {
  out.session_id = r.str(root, "sessionID");
  out.actual_protocol_version = r.str(root, "actualProtocolVersion");
  out.actual_session_duration = r.integer(root, "actualSessionDuration");
}

void read(Reader& r, xml_node root, StartApplicationSessionNegResponse& out) {
  xml_node code = child(root, "errorCode");
  xml_node defined = child(code, "definedError");
  out.error = std::string(text(defined ? defined : first_element(code)));
}

void read(Reader& r, xml_node root, StopApplicationSession& out) {
  out.session_id = r.str(root, "sessionID");
  if (xml_node reason = child(root, "sessionEndReason")) {
    xml_node e = first_element(reason);  // definedEndReason or appEndReason
    if (e && !text(e).empty()) out.end_reason = std::string(text(e));
  }
}

void read(Reader&, xml_node, StopApplicationSessionPosResponse&) {}

void read(Reader& r, xml_node root, ResetApplicationSessionTimer& out) {
  out.session_id = r.str(root, "sessionID");
  out.requested_session_duration = r.integer(root, "requestedSessionDuration");
}

void read(Reader& r, xml_node root, ResetApplicationSessionTimerPosResponse& out) {
  out.actual_session_duration = r.integer(root, "actualSessionDuration");
}

// ---- System status --------------------------------------------------------------------------------

void read(Reader& r, xml_node root, SystemStatus& out) {
  out.status = r.system_status(root, "systemStatus", true).value_or(SystemStatusValue::normal);
}
void read(Reader&, xml_node, SystemStatusResponse&) {}
void read(Reader&, xml_node root, SystemRegister& out) { find_credentials(root, out.user_id, out.password); }
void read(Reader& r, xml_node root, SystemRegisterResponse& out) { out.register_id = r.str(root, "sysStatRegisterID"); }
void read(Reader&, xml_node, RequestSystemStatus&) {}
void read(Reader& r, xml_node root, RequestSystemStatusResponse& out) {
  out.status = r.system_status(root, "systemStatus", true).value_or(SystemStatusValue::normal);
}

// ---- Monitoring and snapshots -----------------------------------------------------------------------

void read(Reader& r, xml_node root, MonitorStart& out) {
  xml_node object = child(root, "monitorObject");
  if (!object) return r.missing("monitorObject");
  if (xml_node device = child(object, "deviceObject")) {
    out.device_object = std::string(text(device));
    if (out.device_object.empty()) r.missing("deviceObject");
  } else if (xml_node call = child(object, "callObject")) {
    out.call_object = r.connection(call);
  } else {
    r.missing("deviceObject");
  }
  if (xml_node f = child(root, "requestedMonitorFilter")) out.filter = r.filter(f);
  out.monitor_type = r.str(root, "monitorType");
}

void read(Reader& r, xml_node root, MonitorStartResponse& out) {
  out.monitor_cross_ref_id = r.str(root, "monitorCrossRefID");
  if (xml_node f = child(root, "actualMonitorFilter")) out.actual_filter = r.filter(f);
}

void read(Reader& r, xml_node root, MonitorStop& out) {
  out.monitor_cross_ref_id = r.str(root, "monitorCrossRefID", true);
}
void read(Reader&, xml_node, MonitorStopResponse&) {}

void read(Reader& r, xml_node root, SnapshotDevice& out) {
  out.device = r.str(root, "snapshotObject", true);
  if (out.device.empty() && !r.failed()) r.missing("snapshotObject");
}

namespace {
// crossRefIDorSnapshotData: serviceCrossRefID (data follows in events) or snapshotData.
xml_node snapshot_data(xml_node root, std::string& cross_ref, Reader& r) {
  xml_node holder = child(root, "crossRefIDorSnapshotData");
  if (!holder) holder = root;  // some switches put serviceCrossRefID / snapshotData directly
  cross_ref = r.str(holder, "serviceCrossRefID");
  return child(holder, "snapshotData");
}
}  // namespace

void read(Reader& r, xml_node root, SnapshotDeviceResponse& out) {
  xml_node data = snapshot_data(root, out.service_cross_ref_id, r);
  for (xml_node info = child(data, "snapshotDeviceResponseInfo"); info;
       info = next_named(info, "snapshotDeviceResponseInfo")) {
    SnapshotDeviceItem item;
    item.connection = r.connection(info, "connectionIdentifier", false);
    // localCallState: compoundCallState/localConnectionState (first: the local party), or
    // simpleCallState (not typed).
    if (xml_node compound = child(child(info, "localCallState"), "compoundCallState")) {
      item.state = r.state(compound, "localConnectionState");
    }
    out.items.push_back(std::move(item));
  }
}

void read(Reader& r, xml_node root, SnapshotCall& out) {
  xml_node object = child(root, "snapshotObject");
  if (!object) return r.missing("snapshotObject");
  out.call = r.connection(object);
  if (out.call.call_id.empty()) r.missing("callID");
}

void read(Reader& r, xml_node root, SnapshotCallResponse& out) {
  xml_node data = snapshot_data(root, out.service_cross_ref_id, r);
  for (xml_node info = child(data, "snapshotCallResponseInfo"); info;
       info = next_named(info, "snapshotCallResponseInfo")) {
    SnapshotCallItem item;
    item.device = r.device(info, "deviceOnCall");
    item.connection = r.connection(info, "callIdentifier", false);
    item.state = r.state(info, "localConnectionState");
    out.items.push_back(std::move(item));
  }
}

// ---- Capability exchange ----------------------------------------------------------------------------

void read(Reader& r, xml_node root, GetSwitchingFunctionDevices& out) {
  out.requested_device_id = r.str(root, "requestedDeviceID");
  out.requested_device_category = r.str(root, "requestedDeviceCategory");
}

void read(Reader& r, xml_node root, GetSwitchingFunctionDevicesResponse& out) {
  out.service_cross_ref_id = r.str(root, "serviceCrossRefID");
}

void read(Reader& r, xml_node root, SwitchingFunctionDevices& out) {
  out.service_cross_ref_id = r.str(root, "serviceCrossRefID");
  out.segment_id = r.integer(root, "segmentID");
  out.last_segment = r.boolean(root, "lastSegment", false, true);
  xml_node list = child(root, "deviceList");
  for (xml_node d = child(list, "device"); d; d = next_named(d, "device")) {
    out.devices.push_back({r.str(d, "deviceID"), r.str(d, "deviceCategory")});
  }
}

void read(Reader&, xml_node, SwitchingFunctionDevicesResponse&) {}
void read(Reader&, xml_node, GetCstaFeatures&) {}

namespace {
// A group element's children name one service or event each. Present means supported, unless
// its text says "false" (ECMA-323 3rd edition writes booleans, later editions capability
// sequences whose presence is the statement).
std::vector<FeatureGroup> feature_groups(xml_node holder) {
  std::vector<FeatureGroup> out;
  for (xml_node g = holder.first_child(); g; g = g.next_sibling()) {
    // pugixml takes "a:" for a name; its local part is empty and names nothing.
    if (g.type() != pugi::node_element || local_name(g.name()).empty()) continue;
    FeatureGroup group{std::string(local_name(g.name())), {}};
    for (xml_node item = g.first_child(); item; item = item.next_sibling()) {
      if (item.type() != pugi::node_element || local_name(item.name()).empty()) continue;
      const std::string_view t = text(item);
      if (t == "false" || t == "0") continue;
      group.items.emplace_back(local_name(item.name()));
    }
    out.push_back(std::move(group));
  }
  return out;
}
}  // namespace

void read(Reader&, xml_node root, GetCstaFeaturesResponse& out) {
  out.services = feature_groups(child(root, "supportedServices"));
  out.events = feature_groups(child(root, "supportedEvents"));
}

// ---- Call control -----------------------------------------------------------------------------------

void read(Reader& r, xml_node root, MakeCall& out) {
  out.calling_device = r.str(root, "callingDevice", true);
  out.called_directory_number = r.str(root, "calledDirectoryNumber", true);
  out.auto_originate = r.str(root, "autoOriginate");
}
void read(Reader& r, xml_node root, MakeCallResponse& out) {
  out.calling_device = r.connection(root, "callingDevice", false);
}
void read(Reader& r, xml_node root, AnswerCall& out) { out.call = r.connection(root, "callToBeAnswered", true); }
void read(Reader&, xml_node, AnswerCallResponse&) {}
void read(Reader& r, xml_node root, ClearConnection& out) {
  out.connection = r.connection(root, "connectionToBeCleared", true);
}
void read(Reader&, xml_node, ClearConnectionResponse&) {}
void read(Reader& r, xml_node root, ClearCall& out) { out.call = r.connection(root, "callToBeCleared", true); }
void read(Reader&, xml_node, ClearCallResponse&) {}
void read(Reader& r, xml_node root, HoldCall& out) { out.call = r.connection(root, "callToBeHeld", true); }
void read(Reader&, xml_node, HoldCallResponse&) {}
void read(Reader& r, xml_node root, RetrieveCall& out) { out.call = r.connection(root, "callToBeRetrieved", true); }
void read(Reader&, xml_node, RetrieveCallResponse&) {}
void read(Reader& r, xml_node root, ConsultationCall& out) {
  out.existing_call = r.connection(root, "existingCall", true);
  out.consulted_device = r.str(root, "consultedDevice", true);
}
void read(Reader& r, xml_node root, ConsultationCallResponse& out) {
  out.initiated_call = r.connection(root, "initiatedCall", false);
}
void read(Reader& r, xml_node root, AlternateCall& out) {
  out.held_call = r.connection(root, "heldCall", true);
  out.active_call = r.connection(root, "activeCall", true);
}
void read(Reader&, xml_node, AlternateCallResponse&) {}
void read(Reader& r, xml_node root, TransferCall& out) {
  out.held_call = r.connection(root, "heldCall", true);
  out.active_call = r.connection(root, "activeCall", true);
}
void read(Reader& r, xml_node root, TransferCallResponse& out) {
  out.transferred_call = r.opt_connection(root, "transferredCall");
}
void read(Reader& r, xml_node root, SingleStepTransferCall& out) {
  out.active_call = r.connection(root, "activeCall", true);
  out.transferred_to = r.str(root, "transferredTo", true);
}
void read(Reader& r, xml_node root, SingleStepTransferCallResponse& out) {
  out.transferred_call = r.opt_connection(root, "transferredCall");
}
void read(Reader& r, xml_node root, ConferenceCall& out) {
  out.held_call = r.connection(root, "heldCall", true);
  out.active_call = r.connection(root, "activeCall", true);
}
void read(Reader& r, xml_node root, ConferenceCallResponse& out) {
  out.conference_call = r.opt_connection(root, "conferenceCall");
}
void read(Reader& r, xml_node root, DeflectCall& out) {
  out.call = r.connection(root, "callToBeDiverted", true);
  out.new_destination = r.str(root, "newDestination", true);
}
void read(Reader&, xml_node, DeflectCallResponse&) {}

// ---- Logical device features -------------------------------------------------------------------------

void read(Reader& r, xml_node root, SetForwarding& out) {
  out.device = r.str(root, "device", true);
  out.type = r.forwarding_type(root, "forwardingType", true).value_or(ForwardingType::immediate);
  out.activate = r.boolean(root, "activateForward", true);
  out.forward_dn = r.str(root, "forwardDN");
  out.ring_count = r.integer(root, "ringCount");
}
void read(Reader&, xml_node, SetForwardingResponse&) {}
void read(Reader& r, xml_node root, GetForwarding& out) { out.device = r.str(root, "device", true); }
void read(Reader& r, xml_node root, GetForwardingResponse& out) {
  xml_node list = child(root, "forwardingList");
  for (xml_node i = child(list, "forwardListItem"); i; i = next_named(i, "forwardListItem")) {
    ForwardListItem item;
    item.type = r.forwarding_type(i, "forwardingType", true).value_or(ForwardingType::immediate);
    item.status = r.boolean(i, "forwardStatus", false);
    item.forward_dn = r.str(i, "forwardDN");
    item.ring_count = r.integer(i, "ringCount");
    out.items.push_back(std::move(item));
  }
}
void read(Reader& r, xml_node root, SetDoNotDisturb& out) {
  out.device = r.str(root, "device", true);
  out.on = r.boolean(root, "doNotDisturbOn", true);
}
void read(Reader&, xml_node, SetDoNotDisturbResponse&) {}
void read(Reader& r, xml_node root, GetDoNotDisturb& out) { out.device = r.str(root, "device", true); }
void read(Reader& r, xml_node root, GetDoNotDisturbResponse& out) {
  out.on = r.boolean(root, "doNotDisturbOn", false);
}

}  // namespace detail

// ---- decode() ---------------------------------------------------------------------------------------

namespace {

using detail::xml_node;

using DecodeFn = Message (*)(detail::Reader&, xml_node);

template <typename T>
Message decode_as(detail::Reader& r, xml_node root) {
  T v{};
  detail::read(r, root, v);
  return Message(std::move(v));
}

struct Entry {
  std::string_view name;
  DecodeFn fn;
};

constexpr auto kTable = [] {
#define CALLBRIDGE_CSTA_ENTRY(T, N, C) Entry{N, &decode_as<T>},
  // "TransferredEvent": how some clients spell what ECMA-323 calls TransferedEvent.
  std::array table{CALLBRIDGE_CSTA_MESSAGES(CALLBRIDGE_CSTA_ENTRY) Entry{"TransferredEvent", &decode_as<TransferredEvent>}};
#undef CALLBRIDGE_CSTA_ENTRY
  std::sort(table.begin(), table.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return table;
}();

DecodeError error(DecodeError::Kind kind, std::string_view service, std::string message) {
  return DecodeError{kind, std::string(service), std::move(message)};
}

// The namespace URI the root element is in: xmlns or xmlns:<prefix> on the root itself (the
// root has no ancestors to inherit a declaration from).
std::string_view root_namespace(xml_node root) {
  std::string_view name = root.name();
  const auto colon = name.find(':');
  const std::string_view prefix = colon == std::string_view::npos ? std::string_view{} : name.substr(0, colon);
  for (auto a = root.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view an = a.name();
    if (prefix.empty() ? an == "xmlns" : (an.size() == 6 + prefix.size() && an.starts_with("xmlns:") &&
                                          an.substr(6) == prefix)) {
      return detail::trim(a.value());
    }
  }
  return {};
}

bool deeper_than(xml_node root, std::size_t max_depth) {
  std::size_t depth = 1;
  xml_node cur = root;
  for (;;) {
    if (xml_node first = cur.first_child()) {
      cur = first;
      if (++depth > max_depth) return true;
      continue;
    }
    while (cur != root && !cur.next_sibling()) {
      cur = cur.parent();
      --depth;
    }
    if (cur == root) return false;
    cur = cur.next_sibling();
  }
}

}  // namespace

std::expected<Decoded, DecodeError> decode(std::string_view xml, const DecodeLimits& limits) {
  if (xml.size() > limits.max_document_bytes) {
    return std::unexpected(error(DecodeError::Kind::too_large, {},
                                 "CSTA document of " + std::to_string(xml.size()) + " bytes exceeds the limit of " +
                                     std::to_string(limits.max_document_bytes)));
  }
  // One DOM parse, in place over a per-thread scratch copy (no allocation for the buffer once it
  // has grown to the largest document seen). pugixml expands no entities beyond the predefined
  // ones and fetches nothing, so a document cannot make it read or grow beyond its own bytes.
  thread_local std::string scratch;
  scratch.assign(xml.data(), xml.size());
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed =
      doc.load_buffer_inplace(scratch.data(), scratch.size(), pugi::parse_default, pugi::encoding_auto);
  if (!parsed) {
    return std::unexpected(error(DecodeError::Kind::not_xml, {},
                                 std::string("CSTA document is not well-formed XML: ") + parsed.description() +
                                     " at byte " + std::to_string(parsed.offset)));
  }
  xml_node root;
  for (xml_node n = doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() != pugi::node_element) continue;
    if (root) return std::unexpected(error(DecodeError::Kind::not_xml, {}, "CSTA document has more than one root element"));
    root = n;
  }
  if (!root) return std::unexpected(error(DecodeError::Kind::not_xml, {}, "CSTA document has no root element"));
  const std::string_view service = detail::local_name(root.name());
  if (deeper_than(root, limits.max_depth)) {
    return std::unexpected(error(DecodeError::Kind::too_deep, service,
                                 std::string(service) + ": elements nested deeper than " +
                                     std::to_string(limits.max_depth)));
  }

  Decoded out{UnknownService{}, Edition::none};
  const std::string_view ns = root_namespace(root);
  if (!ns.empty()) {
    if (auto ed = edition_from_uri(ns)) {
      out.edition = *ed;
    } else if (ns.find("ecma-323/csta/ed") != std::string_view::npos) {
      return std::unexpected(error(DecodeError::Kind::bad_namespace, service,
                                   std::string(service) + ": namespace \"" + std::string(ns.substr(0, 120)) +
                                       "\" is an ECMA-323 edition other than 3 to 6"));
    }
    // ECMA-354 and vendor namespaces (Avaya writes some services in its own): decoded by name.
  }

  const auto it = std::lower_bound(kTable.begin(), kTable.end(), service,
                                   [](const Entry& e, std::string_view n) { return e.name < n; });
  if (it == kTable.end() || it->name != service) {
    out.message = UnknownService{std::string(service)};
    return out;
  }
  std::optional<DecodeError> failure;
  detail::Reader reader(service, failure);
  out.message = it->fn(reader, root);
  if (failure) return std::unexpected(std::move(*failure));
  return out;
}

}  // namespace callbridge::protocols::csta
