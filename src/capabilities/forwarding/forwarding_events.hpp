// What the forwarding capability consumes from the PBX side and which client events it owns: the
// drivers' per-line features (ports::PbxDriver::features(): DND, forwarding, follow-me kept by the
// PBX), whose changes the tenant runtime publishes as {"type":"line_features"} to whoever sees the
// line (docs/dialplan.md); the DND itself also shows as the line state "dnd" (presence). Constants;
// any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::forwarding {

inline constexpr std::array kConsumes{Consumes::line_features};
inline constexpr std::array kEmits{core::HubMessage::Kind::features};

}  // namespace callbridge::capabilities::forwarding
