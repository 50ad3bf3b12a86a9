// The CSTA messages callbridge speaks, one struct per XML root element (ECMA-323 names in the
// comments), and `Message`, the variant of all of them. Both directions use the same types: the
// CSTA server decodes requests and encodes responses and events, drivers/csta encodes requests and
// decodes responses and events (codec.hpp). Optional XML elements are std::optional or empty
// strings; unknown optional elements and vendor <extensions> are not represented.
// Plain values; thread-compatible; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocols/csta/csta_types.hpp"

namespace callbridge::protocols::csta {

// ---- ECMA-354 application session (namespace kSessionNamespace) ----------------------------------

// <StartApplicationSession>: applicationInfo/applicationID, the credentials in
// applicationInfo/applicationSpecificInfo (child elements userID|user|loginID and password, as
// deployed CSTA clients send them), requestedProtocolVersions/protocolVersion*,
// requestedSessionDuration (seconds).
struct StartApplicationSession {
  std::string application_id;
  std::string user_id;
  std::string password;
  std::vector<std::string> protocol_versions;  // ECMA-323 namespace URIs, in the client's order
  std::optional<int> requested_session_duration;
  bool operator==(const StartApplicationSession&) const = default;
};
// <StartApplicationSessionPosResponse>: sessionID, actualProtocolVersion, actualSessionDuration.
struct StartApplicationSessionPosResponse {
  std::string session_id;
  std::string actual_protocol_version;
  std::optional<int> actual_session_duration;
  bool operator==(const StartApplicationSessionPosResponse&) const = default;
};
// <StartApplicationSessionNegResponse>: errorCode/definedError (e.g. "invalidApplicationInfo",
// "requestedProtocolVersionNotSupported", "invalidSessionDuration").
struct StartApplicationSessionNegResponse {
  std::string error;
  bool operator==(const StartApplicationSessionNegResponse&) const = default;
};
// <StopApplicationSession>: sessionID, sessionEndReason/definedEndReason ("normal" by default).
struct StopApplicationSession {
  std::string session_id;
  std::string end_reason = "normal";
  bool operator==(const StopApplicationSession&) const = default;
};
struct StopApplicationSessionPosResponse {
  bool operator==(const StopApplicationSessionPosResponse&) const = default;
};
// <ResetApplicationSessionTimer>: sessionID, requestedSessionDuration (the session keep-alive).
struct ResetApplicationSessionTimer {
  std::string session_id;
  std::optional<int> requested_session_duration;
  bool operator==(const ResetApplicationSessionTimer&) const = default;
};
struct ResetApplicationSessionTimerPosResponse {
  std::optional<int> actual_session_duration;
  bool operator==(const ResetApplicationSessionTimerPosResponse&) const = default;
};

// ---- System status (ECMA-269 12.3) ---------------------------------------------------------------

// <SystemStatus>: systemStatus. Sent by the switching function (OpenScape-style session start: the
// server sends it first; the client answers <SystemStatusResponse>).
struct SystemStatus {
  SystemStatusValue status = SystemStatusValue::normal;
  bool operator==(const SystemStatus&) const = default;
};
struct SystemStatusResponse {
  bool operator==(const SystemStatusResponse&) const = default;
};
// <SystemRegister>: requestTypes (systemStatus wanted). <SystemRegisterResponse>: sysStatRegisterID.
// The login of an OpenScape-style session start rides here (callbridge's CSTA server needs one;
// OpenScape Voice itself trusts addresses): userID/user/loginID and password, found at any depth
// (<extensions><privateData><private>..., or directly); written as extensions/privateData/private.
struct SystemRegister {
  std::string user_id;
  std::string password;
  bool operator==(const SystemRegister&) const = default;
};
struct SystemRegisterResponse {
  std::string register_id;
  bool operator==(const SystemRegisterResponse&) const = default;
};
// <RequestSystemStatus> / <RequestSystemStatusResponse>: systemStatus.
struct RequestSystemStatus {
  bool operator==(const RequestSystemStatus&) const = default;
};
struct RequestSystemStatusResponse {
  SystemStatusValue status = SystemStatusValue::normal;
  bool operator==(const RequestSystemStatusResponse&) const = default;
};

// ---- Monitoring and snapshots ---------------------------------------------------------------------

// <MonitorStart>: monitorObject (deviceObject, or callObject = a ConnectionID), requestedMonitorFilter
// (the events to suppress), monitorType ("call" | "device").
struct MonitorStart {
  std::string device_object;                 // empty when call_object is set
  std::optional<ConnectionId> call_object;
  std::optional<MonitorFilter> filter;
  std::string monitor_type;                  // "" (absent), "call", "device"
  bool operator==(const MonitorStart&) const = default;
};
// <MonitorStartResponse>: monitorCrossRefID, actualMonitorFilter.
struct MonitorStartResponse {
  std::string monitor_cross_ref_id;
  std::optional<MonitorFilter> actual_filter;
  bool operator==(const MonitorStartResponse&) const = default;
};
struct MonitorStop {
  std::string monitor_cross_ref_id;
  bool operator==(const MonitorStop&) const = default;
};
struct MonitorStopResponse {
  bool operator==(const MonitorStopResponse&) const = default;
};

// <SnapshotDevice>: snapshotObject (a device).
struct SnapshotDevice {
  std::string device;
  bool operator==(const SnapshotDevice&) const = default;
};
// One call at the device: snapshotDeviceResponseInfo (connectionIdentifier, localCallState).
struct SnapshotDeviceItem {
  ConnectionId connection;
  std::optional<LocalConnectionState> state;
  bool operator==(const SnapshotDeviceItem&) const = default;
};
// <SnapshotDeviceResponse>: crossRefIDorSnapshotData/snapshotData (or serviceCrossRefID when the
// data follows in SnapshotDeviceData events, which this codec does not type).
struct SnapshotDeviceResponse {
  std::vector<SnapshotDeviceItem> items;
  std::string service_cross_ref_id;
  bool operator==(const SnapshotDeviceResponse&) const = default;
};
// <SnapshotCall>: snapshotObject (a ConnectionID: the call and a device on it).
struct SnapshotCall {
  ConnectionId call;
  bool operator==(const SnapshotCall&) const = default;
};
// One party of the call: snapshotCallResponseInfo (deviceOnCall, callIdentifier,
// localConnectionState).
struct SnapshotCallItem {
  EventDevice device;
  ConnectionId connection;
  std::optional<LocalConnectionState> state;
  bool operator==(const SnapshotCallItem&) const = default;
};
struct SnapshotCallResponse {
  std::vector<SnapshotCallItem> items;
  std::string service_cross_ref_id;
  bool operator==(const SnapshotCallResponse&) const = default;
};

// ---- Capability exchange -------------------------------------------------------------------------

// <GetSwitchingFunctionDevices>: requestedDeviceID, requestedDeviceCategory ("station", "group", ...).
struct GetSwitchingFunctionDevices {
  std::string requested_device_id;
  std::string requested_device_category;
  bool operator==(const GetSwitchingFunctionDevices&) const = default;
};
// <GetSwitchingFunctionDevicesResponse>: serviceCrossRefID; the devices follow in
// <SwitchingFunctionDevices> messages from the switching function carrying the same id.
struct GetSwitchingFunctionDevicesResponse {
  std::string service_cross_ref_id;
  bool operator==(const GetSwitchingFunctionDevicesResponse&) const = default;
};
struct SwitchingFunctionDevice {
  std::string device_id;
  std::string category;  // deviceCategory: "station", "group", "networkInterface", ...
  bool operator==(const SwitchingFunctionDevice&) const = default;
};
// <SwitchingFunctionDevices>: serviceCrossRefID, segmentID, lastSegment, deviceList/device*.
// Answered by <SwitchingFunctionDevicesResponse> (empty).
struct SwitchingFunctionDevices {
  std::string service_cross_ref_id;
  std::optional<int> segment_id;
  bool last_segment = true;
  std::vector<SwitchingFunctionDevice> devices;
  bool operator==(const SwitchingFunctionDevices&) const = default;
};
struct SwitchingFunctionDevicesResponse {
  bool operator==(const SwitchingFunctionDevicesResponse&) const = default;
};

// <GetCSTAFeatures> / <GetCSTAFeaturesResponse>: supportedServices and supportedEvents, each a
// list of groups (callControlServ, snapshotServ, ... / callControlEvents, ...) whose children name
// one service or event each ("makeCall" = true).
struct GetCstaFeatures {
  bool operator==(const GetCstaFeatures&) const = default;
};
struct FeatureGroup {
  std::string group;               // "callControlServ", "callControlEvents", ...
  std::vector<std::string> items;  // "answerCall", "delivered", ...
  bool operator==(const FeatureGroup&) const = default;
};
struct GetCstaFeaturesResponse {
  std::vector<FeatureGroup> services;
  std::vector<FeatureGroup> events;
  bool operator==(const GetCstaFeaturesResponse&) const = default;
};

// ---- Call control (ECMA-269 17) ------------------------------------------------------------------

// <MakeCall>: callingDevice, calledDirectoryNumber, autoOriginate ("prompt" | "doNotPrompt").
struct MakeCall {
  std::string calling_device;
  std::string called_directory_number;
  std::string auto_originate;
  bool operator==(const MakeCall&) const = default;
};
// <MakeCallResponse>: callingDevice (the ConnectionID of the originating party).
struct MakeCallResponse {
  ConnectionId calling_device;
  bool operator==(const MakeCallResponse&) const = default;
};
struct AnswerCall {  // callToBeAnswered
  ConnectionId call;
  bool operator==(const AnswerCall&) const = default;
};
struct AnswerCallResponse {
  bool operator==(const AnswerCallResponse&) const = default;
};
struct ClearConnection {  // connectionToBeCleared
  ConnectionId connection;
  bool operator==(const ClearConnection&) const = default;
};
struct ClearConnectionResponse {
  bool operator==(const ClearConnectionResponse&) const = default;
};
struct ClearCall {  // callToBeCleared
  ConnectionId call;
  bool operator==(const ClearCall&) const = default;
};
struct ClearCallResponse {
  bool operator==(const ClearCallResponse&) const = default;
};
struct HoldCall {  // callToBeHeld
  ConnectionId call;
  bool operator==(const HoldCall&) const = default;
};
struct HoldCallResponse {
  bool operator==(const HoldCallResponse&) const = default;
};
struct RetrieveCall {  // callToBeRetrieved
  ConnectionId call;
  bool operator==(const RetrieveCall&) const = default;
};
struct RetrieveCallResponse {
  bool operator==(const RetrieveCallResponse&) const = default;
};
// <ConsultationCall>: existingCall, consultedDevice. Response: initiatedCall.
struct ConsultationCall {
  ConnectionId existing_call;
  std::string consulted_device;
  bool operator==(const ConsultationCall&) const = default;
};
struct ConsultationCallResponse {
  ConnectionId initiated_call;
  bool operator==(const ConsultationCallResponse&) const = default;
};
// <AlternateCall>: heldCall, activeCall.
struct AlternateCall {
  ConnectionId held_call;
  ConnectionId active_call;
  bool operator==(const AlternateCall&) const = default;
};
struct AlternateCallResponse {
  bool operator==(const AlternateCallResponse&) const = default;
};
// <TransferCall>: heldCall, activeCall. Response: transferredCall (optional).
struct TransferCall {
  ConnectionId held_call;
  ConnectionId active_call;
  bool operator==(const TransferCall&) const = default;
};
struct TransferCallResponse {
  std::optional<ConnectionId> transferred_call;
  bool operator==(const TransferCallResponse&) const = default;
};
// <SingleStepTransferCall>: activeCall, transferredTo. Response: transferredCall.
struct SingleStepTransferCall {
  ConnectionId active_call;
  std::string transferred_to;
  bool operator==(const SingleStepTransferCall&) const = default;
};
struct SingleStepTransferCallResponse {
  std::optional<ConnectionId> transferred_call;
  bool operator==(const SingleStepTransferCallResponse&) const = default;
};
// <ConferenceCall>: heldCall, activeCall. Response: conferenceCall.
struct ConferenceCall {
  ConnectionId held_call;
  ConnectionId active_call;
  bool operator==(const ConferenceCall&) const = default;
};
struct ConferenceCallResponse {
  std::optional<ConnectionId> conference_call;
  bool operator==(const ConferenceCallResponse&) const = default;
};
// <DeflectCall>: callToBeDiverted, newDestination.
struct DeflectCall {
  ConnectionId call;
  std::string new_destination;
  bool operator==(const DeflectCall&) const = default;
};
struct DeflectCallResponse {
  bool operator==(const DeflectCallResponse&) const = default;
};

// ---- Logical device features (ECMA-269 22) -------------------------------------------------------

// <SetForwarding>: device, forwardingType, activateForward, forwardDN, ringCount.
struct SetForwarding {
  std::string device;
  ForwardingType type = ForwardingType::immediate;
  bool activate = true;
  std::string forward_dn;
  std::optional<int> ring_count;
  bool operator==(const SetForwarding&) const = default;
};
struct SetForwardingResponse {
  bool operator==(const SetForwardingResponse&) const = default;
};
struct GetForwarding {
  std::string device;
  bool operator==(const GetForwarding&) const = default;
};
// forwardingList/forwardListItem: forwardingType, forwardStatus, forwardDN, ringCount.
struct ForwardListItem {
  ForwardingType type = ForwardingType::immediate;
  bool status = false;
  std::string forward_dn;
  std::optional<int> ring_count;
  bool operator==(const ForwardListItem&) const = default;
};
struct GetForwardingResponse {
  std::vector<ForwardListItem> items;
  bool operator==(const GetForwardingResponse&) const = default;
};
// <SetDoNotDisturb>: device, doNotDisturbOn.
struct SetDoNotDisturb {
  std::string device;
  bool on = false;
  bool operator==(const SetDoNotDisturb&) const = default;
};
struct SetDoNotDisturbResponse {
  bool operator==(const SetDoNotDisturbResponse&) const = default;
};
struct GetDoNotDisturb {
  std::string device;
  bool operator==(const GetDoNotDisturb&) const = default;
};
struct GetDoNotDisturbResponse {
  bool on = false;
  bool operator==(const GetDoNotDisturbResponse&) const = default;
};

// ---- Events (ECMA-269 17.2, 22.2) ----------------------------------------------------------------
// Every event: monitorCrossRefID; call control events: localConnectionInfo and cause (the
// EventCause token, e.g. "newCall", "normalClearing"; see event_cause::).

struct ServiceInitiatedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId initiated_connection;
  EventDevice initiating_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const ServiceInitiatedEvent&) const = default;
};
struct OriginatedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId originated_connection;
  EventDevice calling_device;
  EventDevice called_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const OriginatedEvent&) const = default;
};
struct DeliveredEvent {
  std::string monitor_cross_ref_id;
  ConnectionId connection;
  EventDevice alerting_device;
  EventDevice calling_device;
  EventDevice called_device;
  std::optional<EventDevice> last_redirection_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const DeliveredEvent&) const = default;
};
struct EstablishedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId established_connection;
  EventDevice answering_device;
  EventDevice calling_device;
  EventDevice called_device;
  std::optional<EventDevice> last_redirection_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const EstablishedEvent&) const = default;
};
struct HeldEvent {
  std::string monitor_cross_ref_id;
  ConnectionId held_connection;
  EventDevice holding_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const HeldEvent&) const = default;
};
struct RetrievedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId retrieved_connection;
  EventDevice retrieving_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const RetrievedEvent&) const = default;
};
struct ConnectionClearedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId dropped_connection;
  EventDevice releasing_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const ConnectionClearedEvent&) const = default;
};
struct CallClearedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId cleared_call;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const CallClearedEvent&) const = default;
};
// connectionListItem of Transferred/Conferenced: newConnection, oldConnection, endpoint.
struct ConnectionListItem {
  std::optional<ConnectionId> new_connection;
  std::optional<ConnectionId> old_connection;
  std::string endpoint;  // endpoint/deviceID
  bool operator==(const ConnectionListItem&) const = default;
};
// Root element "TransferedEvent" (ECMA-323 kept CSTA's spelling); "TransferredEvent" is accepted too.
struct TransferredEvent {
  std::string monitor_cross_ref_id;
  ConnectionId primary_old_call;
  std::optional<ConnectionId> secondary_old_call;
  EventDevice transferring_device;
  EventDevice transferred_to_device;
  std::vector<ConnectionListItem> transferred_connections;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const TransferredEvent&) const = default;
};
struct ConferencedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId primary_old_call;
  std::optional<ConnectionId> secondary_old_call;
  EventDevice conferencing_device;
  EventDevice added_party;
  std::vector<ConnectionListItem> conference_connections;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const ConferencedEvent&) const = default;
};
struct DivertedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId connection;
  EventDevice diverting_device;
  EventDevice new_destination;
  std::optional<EventDevice> calling_device;
  std::optional<EventDevice> called_device;
  std::optional<EventDevice> last_redirection_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const DivertedEvent&) const = default;
};
struct FailedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId failed_connection;
  EventDevice failing_device;
  EventDevice called_device;
  std::optional<EventDevice> calling_device;
  std::optional<EventDevice> last_redirection_device;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const FailedEvent&) const = default;
};
struct QueuedEvent {
  std::string monitor_cross_ref_id;
  ConnectionId queued_connection;
  EventDevice queue;
  EventDevice calling_device;
  EventDevice called_device;
  std::optional<EventDevice> last_redirection_device;
  std::optional<int> number_queued;
  std::optional<LocalConnectionState> local_connection_info;
  std::string cause;
  bool operator==(const QueuedEvent&) const = default;
};
// <ForwardingEvent>: device, forwardingType, forwardStatus, forwardTo, ringCount.
struct ForwardingEvent {
  std::string monitor_cross_ref_id;
  EventDevice device;
  ForwardingType type = ForwardingType::immediate;
  bool status = false;
  std::string forward_to;
  std::optional<int> ring_count;
  bool operator==(const ForwardingEvent&) const = default;
};
// <DoNotDisturbEvent>: device, doNotDisturbOn.
struct DoNotDisturbEvent {
  std::string monitor_cross_ref_id;
  EventDevice device;
  bool on = false;
  bool operator==(const DoNotDisturbEvent&) const = default;
};

// ---- Errors and the unknown ----------------------------------------------------------------------

// <CSTAErrorCode>: the negative response to any CSTA request (ECMA-323 clause 9.3).
struct CstaErrorCode {
  ErrorCode error;
  bool operator==(const CstaErrorCode&) const = default;
};
// A well-formed document whose root element is no service this codec knows: its local name, so
// the server can answer with the right CSTAErrorCode (operation / serviceNotSupported).
struct UnknownService {
  std::string name;
  bool operator==(const UnknownService&) const = default;
};

using Message = std::variant<
    StartApplicationSession, StartApplicationSessionPosResponse, StartApplicationSessionNegResponse,
    StopApplicationSession, StopApplicationSessionPosResponse, ResetApplicationSessionTimer,
    ResetApplicationSessionTimerPosResponse,
    SystemStatus, SystemStatusResponse, SystemRegister, SystemRegisterResponse, RequestSystemStatus,
    RequestSystemStatusResponse,
    MonitorStart, MonitorStartResponse, MonitorStop, MonitorStopResponse, SnapshotDevice,
    SnapshotDeviceResponse, SnapshotCall, SnapshotCallResponse,
    GetSwitchingFunctionDevices, GetSwitchingFunctionDevicesResponse, SwitchingFunctionDevices,
    SwitchingFunctionDevicesResponse, GetCstaFeatures, GetCstaFeaturesResponse,
    MakeCall, MakeCallResponse, AnswerCall, AnswerCallResponse, ClearConnection, ClearConnectionResponse,
    ClearCall, ClearCallResponse, HoldCall, HoldCallResponse, RetrieveCall, RetrieveCallResponse,
    ConsultationCall, ConsultationCallResponse, AlternateCall, AlternateCallResponse, TransferCall,
    TransferCallResponse, SingleStepTransferCall, SingleStepTransferCallResponse, ConferenceCall,
    ConferenceCallResponse, DeflectCall, DeflectCallResponse,
    SetForwarding, SetForwardingResponse, GetForwarding, GetForwardingResponse, SetDoNotDisturb,
    SetDoNotDisturbResponse, GetDoNotDisturb, GetDoNotDisturbResponse,
    ServiceInitiatedEvent, OriginatedEvent, DeliveredEvent, EstablishedEvent, HeldEvent, RetrievedEvent,
    ConnectionClearedEvent, CallClearedEvent, TransferredEvent, ConferencedEvent, DivertedEvent,
    FailedEvent, QueuedEvent, ForwardingEvent, DoNotDisturbEvent,
    CstaErrorCode, UnknownService>;

// The XML root element name of a message ("MonitorStart", "DeliveredEvent", "CSTAErrorCode"; an
// UnknownService's own name).
std::string_view root_name(const Message& m);
// What a message is on the wire, for the session logic: a request expects an answer (a response or
// CSTAErrorCode with the same invoke id); events are unsolicited (invoke id 9999).
enum class MessageClass : std::uint8_t { request, response, event, error, unknown };
MessageClass message_class(const Message& m);
// The EventKind of an event message; nullopt for anything else.
std::optional<EventKind> event_kind(const Message& m);

}  // namespace callbridge::protocols::csta
