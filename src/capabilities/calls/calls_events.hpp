// What the calls capability consumes from the PBX side and which client events it owns. The
// drivers' call events are applied to the tenant's CallModels (ports::PbxEventSink::on_call_event,
// core/tenant_runtime); the event hub publishes each change as {"type":"call","call":{...}} to the
// subscribers who may see it, in the shape GET /api/v1/calls shows. A call control command's later
// outcome (the PBX's answer) is published by the tenant's command log as {"type":"command",
// "command":{...}} to the user who issued it (command_json in calls_service). The drivers' parked
// calls (ports::PbxDriver::parking(), PbxEventSink::on_parking_changed) are published as
// {"type":"parking",...} to every subscription of the tenant (docs/parking.md). In cluster mode a
// link's owner lists the link's calls after each resync as {"type":"calls_resynced",...}: every
// node's mirror drops the link's calls it does not list and names them to the clients as `ended`,
// each client only the calls it may see (docs/cluster.md).
// Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::calls {

inline constexpr std::array kConsumes{Consumes::call_events, Consumes::call_models, Consumes::parking_states};
inline constexpr std::array kEmits{core::HubMessage::Kind::call, core::HubMessage::Kind::command,
                                   core::HubMessage::Kind::parking, core::HubMessage::Kind::calls_resynced};

}  // namespace callbridge::capabilities::calls
