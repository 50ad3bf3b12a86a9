// What the webhooks capability consumes and which client events it owns. Its deliveries come from
// the event hub's tap (call, line and journal messages: app wires it to webhooks/delivery); it
// pushes nothing to WebSocket clients. Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::webhooks {

inline constexpr std::array kConsumes{Consumes::call_events, Consumes::line_changes, Consumes::journal_entries};
inline constexpr std::array<core::HubMessage::Kind, 0> kEmits{};

}  // namespace callbridge::capabilities::webhooks
