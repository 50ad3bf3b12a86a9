// Typed messages -> CSTA XML (codec.hpp). Written directly into the output string, element order
// as in the ECMA-323 schema; no DOM, one pass, no allocation beyond the output's growth.
#include <charconv>
#include <type_traits>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/message_info.hpp"

namespace callbridge::protocols::csta {

namespace {

// An XML name made of the characters CSTA service names use; anything else is not written.
bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

class Writer {
 public:
  Writer(std::string& out, Edition edition) : out_(out), edition_(edition) {}

  Edition edition() const { return edition_; }

  void open(std::string_view name) {
    out_ += '<';
    out_ += name;
    out_ += '>';
  }
  void close(std::string_view name) {
    out_ += "</";
    out_ += name;
    out_ += '>';
  }
  void empty(std::string_view name) {
    out_ += '<';
    out_ += name;
    out_ += "/>";
  }
  // Character data: the five XML specials escaped; control characters XML 1.0 cannot carry
  // (below 0x20 except tab, LF, CR) become '?'.
  void escaped(std::string_view s) {
    for (const char ch : s) {
      switch (ch) {
        case '&': out_ += "&amp;"; break;
        case '<': out_ += "&lt;"; break;
        case '>': out_ += "&gt;"; break;
        case '"': out_ += "&quot;"; break;
        default: {
          const auto c = static_cast<unsigned char>(ch);
          out_ += (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ? '?' : ch;
        }
      }
    }
  }
  void text(std::string_view name, std::string_view value) {
    open(name);
    escaped(value);
    close(name);
  }
  void opt_text(std::string_view name, std::string_view value) {
    if (!value.empty()) text(name, value);
  }
  void integer(std::string_view name, int v) {
    char buf[16];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    text(name, std::string_view(buf, static_cast<std::size_t>(end - buf)));
  }
  void opt_integer(std::string_view name, const std::optional<int>& v) {
    if (v) integer(name, *v);
  }
  void boolean(std::string_view name, bool v) { text(name, v ? "true" : "false"); }
  void connection(std::string_view name, const ConnectionId& c) {
    open(name);
    opt_text("callID", c.call_id);
    opt_text("deviceID", c.device_id);
    close(name);
  }
  void opt_connection(std::string_view name, const std::optional<ConnectionId>& c) {
    if (c) connection(name, *c);
  }
  void device(std::string_view name, const EventDevice& d) {
    open(name);
    switch (d.status) {
      case EventDevice::Status::known: text("deviceIdentifier", d.id); break;
      case EventDevice::Status::not_known: empty("notKnown"); break;
      case EventDevice::Status::restricted: empty("restricted"); break;
      case EventDevice::Status::not_required: empty("notRequired"); break;
      case EventDevice::Status::not_specified: empty("notSpecified"); break;
    }
    close(name);
  }
  void opt_device(std::string_view name, const std::optional<EventDevice>& d) {
    if (d) device(name, *d);
  }
  void state(std::string_view name, const std::optional<LocalConnectionState>& s) {
    if (s) text(name, to_string(*s));
  }
  // Events end with localConnectionInfo and cause (ECMA-323 order).
  template <typename E>
  void tail(const E& e) {
    state("localConnectionInfo", e.local_connection_info);
    opt_text("cause", e.cause);
  }
  void filter(std::string_view name, const MonitorFilter& f) {
    open(name);
    bool call_open = false;
    for (std::size_t k = 0; k < kEventKindCount; ++k) {
      const auto kind = static_cast<EventKind>(k);
      if (kind == EventKind::forwarding || !f.suppresses(kind)) continue;
      if (!call_open) open("callcontrol");
      call_open = true;
      boolean(filter_name(kind), true);
    }
    if (call_open) close("callcontrol");
    if (f.suppresses(EventKind::forwarding) || f.suppresses(EventKind::do_not_disturb)) {
      open("logicalDeviceFeature");
      if (f.suppresses(EventKind::do_not_disturb)) boolean("doNotDisturb", true);
      if (f.suppresses(EventKind::forwarding)) boolean("forwarding", true);
      close("logicalDeviceFeature");
    }
    close(name);
  }
  void features(std::string_view name, const std::vector<FeatureGroup>& groups) {
    open(name);
    for (const auto& g : groups) {
      if (!plain_name(g.group)) continue;  // not an element name: leaving it out keeps the XML valid
      open(g.group);
      for (const auto& item : g.items) {
        if (!plain_name(item)) continue;
        // 3rd edition: a boolean per service; later editions: presence (a capability sequence).
        if (edition_ == Edition::none || edition_ == Edition::ed3) {
          boolean(item, true);
        } else {
          empty(item);
        }
      }
      close(g.group);
    }
    close(name);
  }

 private:
  std::string& out_;
  Edition edition_;
};

// ---- ECMA-354 ----
void write(Writer& w, const StartApplicationSession& m) {
  w.open("applicationInfo");
  w.text("applicationID", m.application_id);
  if (!m.user_id.empty() || !m.password.empty()) {
    w.open("applicationSpecificInfo");
    w.opt_text("userID", m.user_id);
    w.opt_text("password", m.password);
    w.close("applicationSpecificInfo");
  }
  w.close("applicationInfo");
  w.open("requestedProtocolVersions");
  for (const auto& v : m.protocol_versions) w.text("protocolVersion", v);
  w.close("requestedProtocolVersions");
  w.opt_integer("requestedSessionDuration", m.requested_session_duration);
}
void write(Writer& w, const StartApplicationSessionPosResponse& m) {
  w.text("sessionID", m.session_id);
  w.text("actualProtocolVersion", m.actual_protocol_version);
  w.opt_integer("actualSessionDuration", m.actual_session_duration);
}
void write(Writer& w, const StartApplicationSessionNegResponse& m) {
  w.open("errorCode");
  w.text("definedError", m.error);
  w.close("errorCode");
}
void write(Writer& w, const StopApplicationSession& m) {
  w.text("sessionID", m.session_id);
  w.open("sessionEndReason");
  w.text("definedEndReason", m.end_reason);
  w.close("sessionEndReason");
}
void write(Writer&, const StopApplicationSessionPosResponse&) {}
void write(Writer& w, const ResetApplicationSessionTimer& m) {
  w.text("sessionID", m.session_id);
  w.opt_integer("requestedSessionDuration", m.requested_session_duration);
}
void write(Writer& w, const ResetApplicationSessionTimerPosResponse& m) {
  w.opt_integer("actualSessionDuration", m.actual_session_duration);
}

// ---- System status ----
void write(Writer& w, const SystemStatus& m) { w.text("systemStatus", to_string(m.status)); }
void write(Writer&, const SystemStatusResponse&) {}
void write(Writer& w, const SystemRegister& m) {
  w.open("requestTypes");
  w.boolean("systemStatus", true);
  w.close("requestTypes");
  if (!m.user_id.empty() || !m.password.empty()) {
    w.open("extensions");
    w.open("privateData");
    w.open("private");
    w.opt_text("userID", m.user_id);
    w.opt_text("password", m.password);
    w.close("private");
    w.close("privateData");
    w.close("extensions");
  }
}
void write(Writer& w, const SystemRegisterResponse& m) { w.text("sysStatRegisterID", m.register_id); }
void write(Writer&, const RequestSystemStatus&) {}
void write(Writer& w, const RequestSystemStatusResponse& m) { w.text("systemStatus", to_string(m.status)); }

// ---- Monitoring and snapshots ----
void write(Writer& w, const MonitorStart& m) {
  w.open("monitorObject");
  if (m.call_object) {
    w.connection("callObject", *m.call_object);
  } else {
    w.text("deviceObject", m.device_object);
  }
  w.close("monitorObject");
  if (m.filter) w.filter("requestedMonitorFilter", *m.filter);
  w.opt_text("monitorType", m.monitor_type);
}
void write(Writer& w, const MonitorStartResponse& m) {
  w.text("monitorCrossRefID", m.monitor_cross_ref_id);
  if (m.actual_filter) w.filter("actualMonitorFilter", *m.actual_filter);
}
void write(Writer& w, const MonitorStop& m) { w.text("monitorCrossRefID", m.monitor_cross_ref_id); }
void write(Writer&, const MonitorStopResponse&) {}
void write(Writer& w, const SnapshotDevice& m) { w.text("snapshotObject", m.device); }
void write(Writer& w, const SnapshotDeviceResponse& m) {
  w.open("crossRefIDorSnapshotData");
  if (!m.service_cross_ref_id.empty()) {
    w.text("serviceCrossRefID", m.service_cross_ref_id);
  } else {
    w.open("snapshotData");
    for (const auto& item : m.items) {
      w.open("snapshotDeviceResponseInfo");
      w.connection("connectionIdentifier", item.connection);
      w.open("localCallState");
      w.open("compoundCallState");
      w.state("localConnectionState", item.state);
      w.close("compoundCallState");
      w.close("localCallState");
      w.close("snapshotDeviceResponseInfo");
    }
    w.close("snapshotData");
  }
  w.close("crossRefIDorSnapshotData");
}
void write(Writer& w, const SnapshotCall& m) { w.connection("snapshotObject", m.call); }
void write(Writer& w, const SnapshotCallResponse& m) {
  w.open("crossRefIDorSnapshotData");
  if (!m.service_cross_ref_id.empty()) {
    w.text("serviceCrossRefID", m.service_cross_ref_id);
  } else {
    w.open("snapshotData");
    for (const auto& item : m.items) {
      w.open("snapshotCallResponseInfo");
      w.device("deviceOnCall", item.device);
      w.connection("callIdentifier", item.connection);
      w.state("localConnectionState", item.state);
      w.close("snapshotCallResponseInfo");
    }
    w.close("snapshotData");
  }
  w.close("crossRefIDorSnapshotData");
}

// ---- Capability exchange ----
void write(Writer& w, const GetSwitchingFunctionDevices& m) {
  w.opt_text("requestedDeviceID", m.requested_device_id);
  w.opt_text("requestedDeviceCategory", m.requested_device_category);
}
void write(Writer& w, const GetSwitchingFunctionDevicesResponse& m) {
  w.opt_text("serviceCrossRefID", m.service_cross_ref_id);
}
void write(Writer& w, const SwitchingFunctionDevices& m) {
  w.opt_text("serviceCrossRefID", m.service_cross_ref_id);
  w.opt_integer("segmentID", m.segment_id);
  w.boolean("lastSegment", m.last_segment);
  w.open("deviceList");
  for (const auto& d : m.devices) {
    w.open("device");
    w.text("deviceID", d.device_id);
    w.opt_text("deviceCategory", d.category);
    w.close("device");
  }
  w.close("deviceList");
}
void write(Writer&, const SwitchingFunctionDevicesResponse&) {}
void write(Writer&, const GetCstaFeatures&) {}
void write(Writer& w, const GetCstaFeaturesResponse& m) {
  w.features("supportedServices", m.services);
  w.features("supportedEvents", m.events);
}

// ---- Call control ----
void write(Writer& w, const MakeCall& m) {
  w.text("callingDevice", m.calling_device);
  w.text("calledDirectoryNumber", m.called_directory_number);
  w.opt_text("autoOriginate", m.auto_originate);
}
void write(Writer& w, const MakeCallResponse& m) { w.connection("callingDevice", m.calling_device); }
void write(Writer& w, const AnswerCall& m) { w.connection("callToBeAnswered", m.call); }
void write(Writer&, const AnswerCallResponse&) {}
void write(Writer& w, const ClearConnection& m) { w.connection("connectionToBeCleared", m.connection); }
void write(Writer&, const ClearConnectionResponse&) {}
void write(Writer& w, const ClearCall& m) { w.connection("callToBeCleared", m.call); }
void write(Writer&, const ClearCallResponse&) {}
void write(Writer& w, const HoldCall& m) { w.connection("callToBeHeld", m.call); }
void write(Writer&, const HoldCallResponse&) {}
void write(Writer& w, const RetrieveCall& m) { w.connection("callToBeRetrieved", m.call); }
void write(Writer&, const RetrieveCallResponse&) {}
void write(Writer& w, const ConsultationCall& m) {
  w.connection("existingCall", m.existing_call);
  w.text("consultedDevice", m.consulted_device);
}
void write(Writer& w, const ConsultationCallResponse& m) { w.connection("initiatedCall", m.initiated_call); }
void write(Writer& w, const AlternateCall& m) {
  w.connection("heldCall", m.held_call);
  w.connection("activeCall", m.active_call);
}
void write(Writer&, const AlternateCallResponse&) {}
void write(Writer& w, const TransferCall& m) {
  w.connection("heldCall", m.held_call);
  w.connection("activeCall", m.active_call);
}
void write(Writer& w, const TransferCallResponse& m) { w.opt_connection("transferredCall", m.transferred_call); }
void write(Writer& w, const SingleStepTransferCall& m) {
  w.connection("activeCall", m.active_call);
  w.text("transferredTo", m.transferred_to);
}
void write(Writer& w, const SingleStepTransferCallResponse& m) {
  w.opt_connection("transferredCall", m.transferred_call);
}
void write(Writer& w, const ConferenceCall& m) {
  w.connection("heldCall", m.held_call);
  w.connection("activeCall", m.active_call);
}
void write(Writer& w, const ConferenceCallResponse& m) { w.opt_connection("conferenceCall", m.conference_call); }
void write(Writer& w, const DeflectCall& m) {
  w.connection("callToBeDiverted", m.call);
  w.text("newDestination", m.new_destination);
}
void write(Writer&, const DeflectCallResponse&) {}

// ---- Logical device features ----
void write(Writer& w, const SetForwarding& m) {
  w.text("device", m.device);
  w.text("forwardingType", to_string(m.type));
  w.boolean("activateForward", m.activate);
  w.opt_text("forwardDN", m.forward_dn);
  w.opt_integer("ringCount", m.ring_count);
}
void write(Writer&, const SetForwardingResponse&) {}
void write(Writer& w, const GetForwarding& m) { w.text("device", m.device); }
void write(Writer& w, const GetForwardingResponse& m) {
  w.open("forwardingList");
  for (const auto& i : m.items) {
    w.open("forwardListItem");
    w.text("forwardingType", to_string(i.type));
    w.boolean("forwardStatus", i.status);
    w.opt_text("forwardDN", i.forward_dn);
    w.opt_integer("ringCount", i.ring_count);
    w.close("forwardListItem");
  }
  w.close("forwardingList");
}
void write(Writer& w, const SetDoNotDisturb& m) {
  w.text("device", m.device);
  w.boolean("doNotDisturbOn", m.on);
}
void write(Writer&, const SetDoNotDisturbResponse&) {}
void write(Writer& w, const GetDoNotDisturb& m) { w.text("device", m.device); }
void write(Writer& w, const GetDoNotDisturbResponse& m) { w.boolean("doNotDisturbOn", m.on); }

// ---- Events ----
void write(Writer& w, const ServiceInitiatedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("initiatedConnection", e.initiated_connection);
  w.device("initiatingDevice", e.initiating_device);
  w.tail(e);
}
void write(Writer& w, const OriginatedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("originatedConnection", e.originated_connection);
  w.device("callingDevice", e.calling_device);
  w.device("calledDevice", e.called_device);
  w.tail(e);
}
void write(Writer& w, const DeliveredEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("connection", e.connection);
  w.device("alertingDevice", e.alerting_device);
  w.device("callingDevice", e.calling_device);
  w.device("calledDevice", e.called_device);
  w.opt_device("lastRedirectionDevice", e.last_redirection_device);
  w.tail(e);
}
void write(Writer& w, const EstablishedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("establishedConnection", e.established_connection);
  w.device("answeringDevice", e.answering_device);
  w.device("callingDevice", e.calling_device);
  w.device("calledDevice", e.called_device);
  w.opt_device("lastRedirectionDevice", e.last_redirection_device);
  w.tail(e);
}
void write(Writer& w, const HeldEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("heldConnection", e.held_connection);
  w.device("holdingDevice", e.holding_device);
  w.tail(e);
}
void write(Writer& w, const RetrievedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("retrievedConnection", e.retrieved_connection);
  w.device("retrievingDevice", e.retrieving_device);
  w.tail(e);
}
void write(Writer& w, const ConnectionClearedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("droppedConnection", e.dropped_connection);
  w.device("releasingDevice", e.releasing_device);
  w.tail(e);
}
void write(Writer& w, const CallClearedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("clearedCall", e.cleared_call);
  w.tail(e);
}
void connection_list(Writer& w, std::string_view name, const std::vector<ConnectionListItem>& items) {
  if (items.empty()) return;
  w.open(name);
  for (const auto& i : items) {
    w.open("connectionListItem");
    w.opt_connection("newConnection", i.new_connection);
    w.opt_connection("oldConnection", i.old_connection);
    if (!i.endpoint.empty()) {
      w.open("endpoint");
      w.text("deviceID", i.endpoint);
      w.close("endpoint");
    }
    w.close("connectionListItem");
  }
  w.close(name);
}
void write(Writer& w, const TransferredEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("primaryOldCall", e.primary_old_call);
  w.opt_connection("secondaryOldCall", e.secondary_old_call);
  w.device("transferringDevice", e.transferring_device);
  w.device("transferredToDevice", e.transferred_to_device);
  connection_list(w, "transferredConnections", e.transferred_connections);
  w.tail(e);
}
void write(Writer& w, const ConferencedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("primaryOldCall", e.primary_old_call);
  w.opt_connection("secondaryOldCall", e.secondary_old_call);
  w.device("conferencingDevice", e.conferencing_device);
  w.device("addedParty", e.added_party);
  connection_list(w, "conferenceConnections", e.conference_connections);
  w.tail(e);
}
void write(Writer& w, const DivertedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("connection", e.connection);
  w.device("divertingDevice", e.diverting_device);
  w.device("newDestination", e.new_destination);
  w.opt_device("callingDevice", e.calling_device);
  w.opt_device("calledDevice", e.called_device);
  w.opt_device("lastRedirectionDevice", e.last_redirection_device);
  w.tail(e);
}
void write(Writer& w, const FailedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("failedConnection", e.failed_connection);
  w.device("failingDevice", e.failing_device);
  w.device("calledDevice", e.called_device);
  w.opt_device("callingDevice", e.calling_device);
  w.opt_device("lastRedirectionDevice", e.last_redirection_device);
  w.tail(e);
}
void write(Writer& w, const QueuedEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.connection("queuedConnection", e.queued_connection);
  w.device("queue", e.queue);
  w.device("callingDevice", e.calling_device);
  w.device("calledDevice", e.called_device);
  w.opt_device("lastRedirectionDevice", e.last_redirection_device);
  w.opt_integer("numberQueued", e.number_queued);
  w.tail(e);
}
void write(Writer& w, const ForwardingEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.device("device", e.device);
  w.text("forwardingType", to_string(e.type));
  w.boolean("forwardStatus", e.status);
  w.opt_text("forwardTo", e.forward_to);
  w.opt_integer("ringCount", e.ring_count);
}
void write(Writer& w, const DoNotDisturbEvent& e) {
  w.text("monitorCrossRefID", e.monitor_cross_ref_id);
  w.device("device", e.device);
  w.boolean("doNotDisturbOn", e.on);
}

// ---- Errors ----
void write(Writer& w, const CstaErrorCode& m) {
  const std::string_view category = to_string(m.error.category);
  if (m.error.value.empty()) {
    w.empty(category);
  } else {
    w.text(category, m.error.value);
  }
}

}  // namespace

void encode(const Message& m, Edition edition, std::string& out) {
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        std::string_view name;
        std::string_view ns = namespace_uri(edition);
        if constexpr (std::is_same_v<T, UnknownService>) {
          name = plain_name(v.name) ? std::string_view(v.name) : std::string_view("UnknownService");
        } else {
          name = detail::MessageInfo<T>::name;
          if constexpr (detail::kIsSessionMessage<T>) ns = kSessionNamespace;
        }
        out += '<';
        out += name;
        if (!ns.empty()) {
          out += " xmlns=\"";
          out += ns;
          out += '"';
        }
        if constexpr (std::is_same_v<T, UnknownService>) {
          out += "/>";
        } else {
          out += '>';
          Writer w(out, edition);
          write(w, v);
          out += "</";
          out += name;
          out += '>';
        }
      },
      m);
}

}  // namespace callbridge::protocols::csta
