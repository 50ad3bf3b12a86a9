// What the devices capability consumes from the PBX side and which client events it owns: the
// drivers' device registries (ports::PbxDriver::devices(), fed by the PBX's endpoint and contact
// reports), whose changes the tenant runtime publishes through the event hub as
// {"type":"device"} to the tenant's admins (docs/devices.md). Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::devices {

inline constexpr std::array kConsumes{Consumes::device_registries};
inline constexpr std::array kEmits{core::HubMessage::Kind::device};

}  // namespace callbridge::capabilities::devices
