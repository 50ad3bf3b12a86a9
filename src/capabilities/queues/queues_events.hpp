// What the queues capability consumes from the PBX side and which client events it owns: the
// drivers' queue states (ports::PbxDriver::queues(), fed by app_queue's QueueStatus and live queue
// events) and their membership commands (PbxDriver::queue_member), whose changes the tenant runtime
// publishes through the event hub as {"type":"queue"} (docs/queues.md). Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::queues {

inline constexpr std::array kConsumes{Consumes::queue_states, Consumes::directories};
inline constexpr std::array kEmits{core::HubMessage::Kind::queue};

}  // namespace callbridge::capabilities::queues
