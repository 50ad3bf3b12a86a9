// The value types CSTA messages are made of (ECMA-269 services, ECMA-323 XML encoding): editions,
// connection ids, devices as events carry them, connection states, forwarding types, the event
// filter of MonitorStart, and CSTAErrorCode. Plain values; thread-compatible; no I/O.
// Used by the codec (protocols/csta) and its users (the CSTA server, drivers/csta).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace callbridge::protocols::csta {

// ECMA-323 edition of a message, from its root element's namespace
// ("http://www.ecma-international.org/standards/ecma-323/csta/ed3" .. "/ed6"). `none`: the message
// carried no namespace, or a vendor's own (accepted; answers are then written without one too).
// The older host "www.ecma.ch", the misspelt "www.ecmainternational.org" some SIP phones send and
// Avaya's "/privN" suffix (".../csta/ed3/priv4") are the same edition. ECMA-354 application session messages report `none` (their protocol version is a field).
enum class Edition : std::uint8_t { none = 0, ed3 = 3, ed4 = 4, ed5 = 5, ed6 = 6 };

// The namespace URI of an edition ("" for none).
std::string_view namespace_uri(Edition edition);
// The edition of an ECMA-323 namespace URI or protocolVersion string; nullopt when it is none of
// editions 3 to 6.
std::optional<Edition> edition_from_uri(std::string_view uri);
// ECMA-354 (application session services) namespace.
inline constexpr std::string_view kSessionNamespace =
    "http://www.ecma-international.org/standards/ecma-354/appl_session";

// ECMA-269 ConnectionID: a call id and the (local) device id of one party in that call. Either part
// may be empty when the sender left it out.
struct ConnectionId {
  std::string call_id;
  std::string device_id;
  bool operator==(const ConnectionId&) const = default;
};

// A device as events and snapshot data carry it (ECMA-323 SubjectDeviceID, CallingDeviceID,
// RedirectionDeviceID, ...): an identifier, or the reason there is none.
struct EventDevice {
  enum class Status : std::uint8_t { known, not_known, restricted, not_required, not_specified };
  Status status = Status::known;
  std::string id;  // when status == known
  static EventDevice of(std::string id) { return {Status::known, std::move(id)}; }
  bool operator==(const EventDevice&) const = default;
};

// ECMA-269 LocalConnectionState (localConnectionInfo in events, snapshot data).
enum class LocalConnectionState : std::uint8_t { null, initiated, alerting, connected, hold, queued, fail };
std::string_view to_string(LocalConnectionState s);
std::optional<LocalConnectionState> local_connection_state_from(std::string_view token);

// ECMA-269 ForwardingType.
enum class ForwardingType : std::uint8_t {
  immediate, busy, no_answer, dnd, busy_internal, busy_external, no_answer_internal, no_answer_external,
  immediate_internal, immediate_external, dnd_internal, dnd_external,
};
std::string_view to_string(ForwardingType t);  // "forwardImmediate", "forwardBusy", ...
std::optional<ForwardingType> forwarding_type_from(std::string_view token);

// ECMA-269 SystemStatus values.
enum class SystemStatusValue : std::uint8_t {
  initializing, enabled, normal, messages_lost, disabled, partially_disabled, overload_imminent,
  overload_reached, overload_relieved,
};
std::string_view to_string(SystemStatusValue v);  // "normal", "messagesLost", ...
std::optional<SystemStatusValue> system_status_from(std::string_view token);

// The events this codec types (and that MonitorStart's filter can suppress).
enum class EventKind : std::uint8_t {
  service_initiated, originated, delivered, established, held, retrieved, connection_cleared,
  call_cleared, transferred, conferenced, diverted, failed, queued, forwarding, do_not_disturb,
};
inline constexpr std::size_t kEventKindCount = 15;
// The filter element name of the event ("delivered", "doNotDisturb").
std::string_view filter_name(EventKind k);

// MonitorStart's requestedMonitorFilter / actualMonitorFilter: the events the client does NOT want
// (ECMA-269 12.2: a filter bit set means the event is filtered out). Filter elements of events not
// in EventKind (digitsDialed, networkReached, agent events, ...) are ignored on decode.
struct MonitorFilter {
  std::uint32_t suppressed = 0;  // bit i = EventKind i
  bool suppresses(EventKind k) const { return suppressed >> static_cast<unsigned>(k) & 1u; }
  void suppress(EventKind k, bool on = true) {
    const auto bit = 1u << static_cast<unsigned>(k);
    suppressed = on ? (suppressed | bit) : (suppressed & ~bit);
  }
  bool operator==(const MonitorFilter&) const = default;
};

// ECMA-269 12.2 / ECMA-323 CSTAErrorCode: a category and the value within it, as the XML token.
// Vendors add values, so the value stays text; the standard ones are the constants below.
enum class ErrorCategory : std::uint8_t {
  operation, security, state_incompatibility, system_resource_availability,
  subscribed_resource_availability, performance_management, private_data, unspecified,
};
std::string_view to_string(ErrorCategory c);  // the element name: "operation", "stateIncompatibility", ...
std::optional<ErrorCategory> error_category_from(std::string_view element);

struct ErrorCode {
  ErrorCategory category = ErrorCategory::unspecified;
  std::string value;  // "invalidDeviceID", "invalidObjectState", "generic", ...
  bool operator==(const ErrorCode&) const = default;
};

// Standard values the server and the driver name: the ECMA-285 4th edition / ECMA-323 5th-6th
// edition tokens (older editions spelled some differently, e.g. invalidCstaDeviceIdentifier; the
// decoder keeps whatever token arrived).
namespace error_value {
inline constexpr std::string_view kGeneric = "generic";
// operation
inline constexpr std::string_view kRequestIncompatibleWithObject = "requestIncompatibleWithObject";
inline constexpr std::string_view kValueOutOfRange = "valueOutOfRange";
inline constexpr std::string_view kObjectNotKnown = "objectNotKnown";
inline constexpr std::string_view kInvalidCallingDeviceID = "invalidCallingDeviceID";
inline constexpr std::string_view kInvalidCalledDeviceID = "invalidCalledDeviceID";
inline constexpr std::string_view kInvalidForwardingDestination = "invalidForwardingDestination";
inline constexpr std::string_view kPrivilegeViolationSpecifiedDevice = "privilegeViolationSpecifiedDevice";
inline constexpr std::string_view kInvalidCallID = "invalidCallID";
inline constexpr std::string_view kInvalidDeviceID = "invalidDeviceID";
inline constexpr std::string_view kInvalidConnectionID = "invalidConnectionID";
inline constexpr std::string_view kInvalidDestination = "invalidDestination";
inline constexpr std::string_view kInvalidFeature = "invalidFeature";
inline constexpr std::string_view kInvalidCrossRefID = "invalidCrossRefID";
inline constexpr std::string_view kInvalidMonitorCrossRefID = "invalidMonitorCrossRefID";
inline constexpr std::string_view kInvalidMonitorObject = "invalidMonitorObject";
inline constexpr std::string_view kInvalidForwardingType = "invalidForwardingType";
inline constexpr std::string_view kInvalidParameterValue = "invalidParameterValue";
inline constexpr std::string_view kInvalidObjectType = "invalidObjectType";
inline constexpr std::string_view kParameterNotSupported = "parameterNotSupported";
inline constexpr std::string_view kServiceNotSupported = "serviceNotSupported";
inline constexpr std::string_view kSecurityViolation = "securityViolation";
// stateIncompatibility
inline constexpr std::string_view kInvalidObjectState = "invalidObjectState";
inline constexpr std::string_view kNoActiveCall = "noActiveCall";
inline constexpr std::string_view kNoHeldCall = "noHeldCall";
inline constexpr std::string_view kNoCallToClear = "noCallToClear";
inline constexpr std::string_view kNoConnectionToClear = "noConnectionToClear";
inline constexpr std::string_view kNoCallToAnswer = "noCallToAnswer";
inline constexpr std::string_view kNoCallToComplete = "noCallToComplete";
// systemResourceAvailability
inline constexpr std::string_view kServiceBusy = "serviceBusy";
inline constexpr std::string_view kResourceBusy = "resourceBusy";
inline constexpr std::string_view kResourceOutOfService = "resourceOutOfService";
inline constexpr std::string_view kNetworkBusy = "networkBusy";
inline constexpr std::string_view kNetworkOutOfService = "networkOutOfService";
inline constexpr std::string_view kOverallMonitorLimitExceeded = "overallMonitorLimitExceeded";
inline constexpr std::string_view kConferenceMemberLimitExceeded = "conferenceMemberLimitExceeded";
// subscribedResourceAvailability
inline constexpr std::string_view kObjectMonitorLimitExceeded = "objectMonitorLimitExceeded";
inline constexpr std::string_view kOutstandingRequestsLimitExceeded = "outstandingRequestsLimitExceeded";
// performanceManagement
inline constexpr std::string_view kPerformanceLimitExceeded = "performanceLimitExceeded";
// security
inline constexpr std::string_view kSequenceNumberViolated = "sequenceNumberViolated";
inline constexpr std::string_view kTimeStampViolated = "timeStampViolated";
}  // namespace error_value

// ECMA-269 event causes the server and driver use most ("newCall", "normalClearing", ...). Events
// carry the cause as its XML token (EventCause has ~80 values and vendors add more).
namespace event_cause {
inline constexpr std::string_view kNewCall = "newCall";
inline constexpr std::string_view kNormal = "normal";
inline constexpr std::string_view kNormalClearing = "normalClearing";
inline constexpr std::string_view kMakeCall = "makeCall";
inline constexpr std::string_view kTransfer = "transfer";
inline constexpr std::string_view kSingleStepTransfer = "singleStepTransfer";
inline constexpr std::string_view kConference = "conference";
inline constexpr std::string_view kConsultation = "consultation";
inline constexpr std::string_view kAlternate = "alternate";
inline constexpr std::string_view kRedirected = "redirected";
inline constexpr std::string_view kCallForward = "callForward";
inline constexpr std::string_view kCallForwardImmediate = "callForwardImmediate";
inline constexpr std::string_view kCallForwardBusy = "callForwardBusy";
inline constexpr std::string_view kCallForwardNoAnswer = "callForwardNoAnswer";
inline constexpr std::string_view kCallPickup = "callPickup";
inline constexpr std::string_view kBusy = "busy";
inline constexpr std::string_view kCallNotAnswered = "callNotAnswered";
inline constexpr std::string_view kCallCancelled = "callCancelled";
inline constexpr std::string_view kDestNotObtainable = "destNotObtainable";
inline constexpr std::string_view kDoNotDisturb = "doNotDisturb";
inline constexpr std::string_view kEnteringDistribution = "enteringDistribution";
inline constexpr std::string_view kKeyOperation = "keyOperation";
inline constexpr std::string_view kNetworkCongestion = "networkCongestion";
inline constexpr std::string_view kTimeout = "timeout";
}  // namespace event_cause

}  // namespace callbridge::protocols::csta
