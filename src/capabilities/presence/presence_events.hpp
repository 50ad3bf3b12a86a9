// What the presence capability consumes from the PBX side and which client events it owns. Line
// states change with call events (a ringing or talking device) and with the PBX's own device,
// extension and presence reports (ports::PbxEventSink::on_lines_changed); the event hub
// (core/event_hub) diffs them per device and publishes {"type":"line","device","state"} to the
// subscribers whose scope sees the device. Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::presence {

inline constexpr std::array kConsumes{Consumes::call_events, Consumes::line_changes, Consumes::call_models};
inline constexpr std::array kEmits{core::HubMessage::Kind::line, core::HubMessage::Kind::status};

}  // namespace callbridge::capabilities::presence
