// Internal to protocols/csta: the one list of message types with their XML root element names and
// classes (messages.cpp, decode.cpp and encode.cpp are generated from it, so a type cannot be
// named differently in two places). Not part of the public API.
#pragma once

#include <string_view>
#include <type_traits>

#include "protocols/csta/messages.hpp"

// X(Type, "RootElement", MessageClass)
#define CALLBRIDGE_CSTA_MESSAGES(X)                                              \
  X(StartApplicationSession, "StartApplicationSession", request)                 \
  X(StartApplicationSessionPosResponse, "StartApplicationSessionPosResponse", response) \
  X(StartApplicationSessionNegResponse, "StartApplicationSessionNegResponse", error)   \
  X(StopApplicationSession, "StopApplicationSession", request)                   \
  X(StopApplicationSessionPosResponse, "StopApplicationSessionPosResponse", response)  \
  X(ResetApplicationSessionTimer, "ResetApplicationSessionTimer", request)       \
  X(ResetApplicationSessionTimerPosResponse, "ResetApplicationSessionTimerPosResponse", response) \
  X(SystemStatus, "SystemStatus", request)                                       \
  X(SystemStatusResponse, "SystemStatusResponse", response)                      \
  X(SystemRegister, "SystemRegister", request)                                   \
  X(SystemRegisterResponse, "SystemRegisterResponse", response)                  \
  X(RequestSystemStatus, "RequestSystemStatus", request)                         \
  X(RequestSystemStatusResponse, "RequestSystemStatusResponse", response)        \
  X(MonitorStart, "MonitorStart", request)                                       \
  X(MonitorStartResponse, "MonitorStartResponse", response)                      \
  X(MonitorStop, "MonitorStop", request)                                         \
  X(MonitorStopResponse, "MonitorStopResponse", response)                        \
  X(SnapshotDevice, "SnapshotDevice", request)                                   \
  X(SnapshotDeviceResponse, "SnapshotDeviceResponse", response)                  \
  X(SnapshotCall, "SnapshotCall", request)                                       \
  X(SnapshotCallResponse, "SnapshotCallResponse", response)                      \
  X(GetSwitchingFunctionDevices, "GetSwitchingFunctionDevices", request)         \
  X(GetSwitchingFunctionDevicesResponse, "GetSwitchingFunctionDevicesResponse", response) \
  X(SwitchingFunctionDevices, "SwitchingFunctionDevices", request)               \
  X(SwitchingFunctionDevicesResponse, "SwitchingFunctionDevicesResponse", response) \
  X(GetCstaFeatures, "GetCSTAFeatures", request)                                 \
  X(GetCstaFeaturesResponse, "GetCSTAFeaturesResponse", response)                \
  X(MakeCall, "MakeCall", request)                                               \
  X(MakeCallResponse, "MakeCallResponse", response)                              \
  X(AnswerCall, "AnswerCall", request)                                           \
  X(AnswerCallResponse, "AnswerCallResponse", response)                          \
  X(ClearConnection, "ClearConnection", request)                                 \
  X(ClearConnectionResponse, "ClearConnectionResponse", response)                \
  X(ClearCall, "ClearCall", request)                                             \
  X(ClearCallResponse, "ClearCallResponse", response)                            \
  X(HoldCall, "HoldCall", request)                                               \
  X(HoldCallResponse, "HoldCallResponse", response)                              \
  X(RetrieveCall, "RetrieveCall", request)                                       \
  X(RetrieveCallResponse, "RetrieveCallResponse", response)                      \
  X(ConsultationCall, "ConsultationCall", request)                               \
  X(ConsultationCallResponse, "ConsultationCallResponse", response)              \
  X(AlternateCall, "AlternateCall", request)                                     \
  X(AlternateCallResponse, "AlternateCallResponse", response)                    \
  X(TransferCall, "TransferCall", request)                                       \
  X(TransferCallResponse, "TransferCallResponse", response)                      \
  X(SingleStepTransferCall, "SingleStepTransferCall", request)                   \
  X(SingleStepTransferCallResponse, "SingleStepTransferCallResponse", response)  \
  X(ConferenceCall, "ConferenceCall", request)                                   \
  X(ConferenceCallResponse, "ConferenceCallResponse", response)                  \
  X(DeflectCall, "DeflectCall", request)                                         \
  X(DeflectCallResponse, "DeflectCallResponse", response)                        \
  X(SetForwarding, "SetForwarding", request)                                     \
  X(SetForwardingResponse, "SetForwardingResponse", response)                    \
  X(GetForwarding, "GetForwarding", request)                                     \
  X(GetForwardingResponse, "GetForwardingResponse", response)                    \
  X(SetDoNotDisturb, "SetDoNotDisturb", request)                                 \
  X(SetDoNotDisturbResponse, "SetDoNotDisturbResponse", response)                \
  X(GetDoNotDisturb, "GetDoNotDisturb", request)                                 \
  X(GetDoNotDisturbResponse, "GetDoNotDisturbResponse", response)                \
  X(ServiceInitiatedEvent, "ServiceInitiatedEvent", event)                       \
  X(OriginatedEvent, "OriginatedEvent", event)                                   \
  X(DeliveredEvent, "DeliveredEvent", event)                                     \
  X(EstablishedEvent, "EstablishedEvent", event)                                 \
  X(HeldEvent, "HeldEvent", event)                                               \
  X(RetrievedEvent, "RetrievedEvent", event)                                     \
  X(ConnectionClearedEvent, "ConnectionClearedEvent", event)                     \
  X(CallClearedEvent, "CallClearedEvent", event)                                 \
  X(TransferredEvent, "TransferedEvent", event) /* sic: ECMA-323 spells it so */ \
  X(ConferencedEvent, "ConferencedEvent", event)                                 \
  X(DivertedEvent, "DivertedEvent", event)                                       \
  X(FailedEvent, "FailedEvent", event)                                           \
  X(QueuedEvent, "QueuedEvent", event)                                           \
  X(ForwardingEvent, "ForwardingEvent", event)                                   \
  X(DoNotDisturbEvent, "DoNotDisturbEvent", event)                               \
  X(CstaErrorCode, "CSTAErrorCode", error)

namespace callbridge::protocols::csta::detail {

template <typename T>
struct MessageInfo;

#define CALLBRIDGE_CSTA_INFO(T, N, C)                             \
  template <>                                                     \
  struct MessageInfo<T> {                                         \
    static constexpr std::string_view name = N;                   \
    static constexpr MessageClass cls = MessageClass::C;          \
  };
CALLBRIDGE_CSTA_MESSAGES(CALLBRIDGE_CSTA_INFO)
#undef CALLBRIDGE_CSTA_INFO

// ECMA-354 application session messages: written in kSessionNamespace whatever the edition.
template <typename T>
inline constexpr bool kIsSessionMessage =
    std::is_same_v<T, StartApplicationSession> || std::is_same_v<T, StartApplicationSessionPosResponse> ||
    std::is_same_v<T, StartApplicationSessionNegResponse> || std::is_same_v<T, StopApplicationSession> ||
    std::is_same_v<T, StopApplicationSessionPosResponse> || std::is_same_v<T, ResetApplicationSessionTimer> ||
    std::is_same_v<T, ResetApplicationSessionTimerPosResponse>;

}  // namespace callbridge::protocols::csta::detail
