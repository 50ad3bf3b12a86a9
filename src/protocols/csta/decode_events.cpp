// CSTA XML -> typed messages: the events (ECMA-269 17.2, 22.2) and CSTAErrorCode. Events are read
// leniently: a switch that leaves out an optional part still gets its event through (absent
// devices read as notKnown, absent connections as empty ids); values that are present must be
// valid tokens.
#include "protocols/csta/xml_read.hpp"

namespace callbridge::protocols::csta::detail {

namespace {
template <typename E>
void common(Reader& r, xml_node root, E& out) {
  out.monitor_cross_ref_id = r.str(root, "monitorCrossRefID");
  out.local_connection_info = r.state(root, "localConnectionInfo");
  out.cause = r.str(root, "cause");
}

// transferredConnections / conferenceConnections: connectionListItem (newConnection,
// oldConnection, endpoint = deviceID).
std::vector<ConnectionListItem> connection_list(Reader& r, xml_node list) {
  std::vector<ConnectionListItem> out;
  for (xml_node i = child(list, "connectionListItem"); i; i = next_named(i, "connectionListItem")) {
    ConnectionListItem item;
    item.new_connection = r.opt_connection(i, "newConnection");
    item.old_connection = r.opt_connection(i, "oldConnection");
    if (xml_node e = child(i, "endpoint")) {
      xml_node id = child(e, "deviceID");
      item.endpoint = std::string(text(id ? id : e));
    }
    out.push_back(std::move(item));
  }
  return out;
}
}  // namespace

void read(Reader& r, xml_node root, ServiceInitiatedEvent& out) {
  common(r, root, out);
  out.initiated_connection = r.connection(root, "initiatedConnection", false);
  out.initiating_device = r.device(root, "initiatingDevice");
}

void read(Reader& r, xml_node root, OriginatedEvent& out) {
  common(r, root, out);
  out.originated_connection = r.connection(root, "originatedConnection", false);
  out.calling_device = r.device(root, "callingDevice");
  out.called_device = r.device(root, "calledDevice");
}

void read(Reader& r, xml_node root, DeliveredEvent& out) {
  common(r, root, out);
  out.connection = r.connection(root, "connection", false);
  out.alerting_device = r.device(root, "alertingDevice");
  out.calling_device = r.device(root, "callingDevice");
  out.called_device = r.device(root, "calledDevice");
  out.last_redirection_device = r.opt_device(root, "lastRedirectionDevice");
}

void read(Reader& r, xml_node root, EstablishedEvent& out) {
  common(r, root, out);
  out.established_connection = r.connection(root, "establishedConnection", false);
  out.answering_device = r.device(root, "answeringDevice");
  out.calling_device = r.device(root, "callingDevice");
  out.called_device = r.device(root, "calledDevice");
  out.last_redirection_device = r.opt_device(root, "lastRedirectionDevice");
}

void read(Reader& r, xml_node root, HeldEvent& out) {
  common(r, root, out);
  out.held_connection = r.connection(root, "heldConnection", false);
  out.holding_device = r.device(root, "holdingDevice");
}

void read(Reader& r, xml_node root, RetrievedEvent& out) {
  common(r, root, out);
  out.retrieved_connection = r.connection(root, "retrievedConnection", false);
  out.retrieving_device = r.device(root, "retrievingDevice");
}

void read(Reader& r, xml_node root, ConnectionClearedEvent& out) {
  common(r, root, out);
  out.dropped_connection = r.connection(root, "droppedConnection", false);
  out.releasing_device = r.device(root, "releasingDevice");
}

void read(Reader& r, xml_node root, CallClearedEvent& out) {
  common(r, root, out);
  out.cleared_call = r.connection(root, "clearedCall", false);
}

void read(Reader& r, xml_node root, TransferredEvent& out) {
  common(r, root, out);
  out.primary_old_call = r.connection(root, "primaryOldCall", false);
  out.secondary_old_call = r.opt_connection(root, "secondaryOldCall");
  out.transferring_device = r.device(root, "transferringDevice");
  out.transferred_to_device = r.device(root, "transferredToDevice");
  out.transferred_connections = connection_list(r, child(root, "transferredConnections"));
}

void read(Reader& r, xml_node root, ConferencedEvent& out) {
  common(r, root, out);
  out.primary_old_call = r.connection(root, "primaryOldCall", false);
  out.secondary_old_call = r.opt_connection(root, "secondaryOldCall");
  out.conferencing_device = r.device(root, "conferencingDevice");
  out.added_party = r.device(root, "addedParty");
  out.conference_connections = connection_list(r, child(root, "conferenceConnections"));
}

void read(Reader& r, xml_node root, DivertedEvent& out) {
  common(r, root, out);
  out.connection = r.connection(root, "connection", false);
  out.diverting_device = r.device(root, "divertingDevice");
  out.new_destination = r.device(root, "newDestination");
  out.calling_device = r.opt_device(root, "callingDevice");
  out.called_device = r.opt_device(root, "calledDevice");
  out.last_redirection_device = r.opt_device(root, "lastRedirectionDevice");
}

void read(Reader& r, xml_node root, FailedEvent& out) {
  common(r, root, out);
  out.failed_connection = r.connection(root, "failedConnection", false);
  out.failing_device = r.device(root, "failingDevice");
  out.called_device = r.device(root, "calledDevice");
  out.calling_device = r.opt_device(root, "callingDevice");
  out.last_redirection_device = r.opt_device(root, "lastRedirectionDevice");
}

void read(Reader& r, xml_node root, QueuedEvent& out) {
  common(r, root, out);
  out.queued_connection = r.connection(root, "queuedConnection", false);
  out.queue = r.device(root, "queue");
  out.calling_device = r.device(root, "callingDevice");
  out.called_device = r.device(root, "calledDevice");
  out.last_redirection_device = r.opt_device(root, "lastRedirectionDevice");
  out.number_queued = r.integer(root, "numberQueued");
}

void read(Reader& r, xml_node root, ForwardingEvent& out) {
  out.monitor_cross_ref_id = r.str(root, "monitorCrossRefID");
  out.device = r.device(root, "device");
  out.type = r.forwarding_type(root, "forwardingType", false).value_or(ForwardingType::immediate);
  out.status = r.boolean(root, "forwardStatus", false);
  out.forward_to = r.str(root, "forwardTo");
  out.ring_count = r.integer(root, "ringCount");
}

void read(Reader& r, xml_node root, DoNotDisturbEvent& out) {
  out.monitor_cross_ref_id = r.str(root, "monitorCrossRefID");
  out.device = r.device(root, "device");
  out.on = r.boolean(root, "doNotDisturbOn", false);
}

void read(Reader& r, xml_node root, CstaErrorCode& out) {
  // <CSTAErrorCode><operation>invalidDeviceID</operation></CSTAErrorCode>: the element names the
  // category, its text the value. A category this codec does not know keeps its name as value.
  xml_node e = first_element(root);
  if (!e) return r.missing("operation|stateIncompatibility|systemResourceAvailability|...");
  const std::string_view name = local_name(e.name());
  if (auto category = error_category_from(name)) {
    out.error = ErrorCode{*category, std::string(text(e))};
  } else {
    out.error = ErrorCode{ErrorCategory::unspecified, std::string(name)};
  }
}

}  // namespace callbridge::protocols::csta::detail
