// Call control in callbridged: what the calls capability (capabilities/calls) reaches through
// api::RestDeps, each tenant's core::TenantRuntime's CallControlService (built over the tenant's
// first PBX driver that can control calls, with the tenant's dialing plan) and its CommandLog; and
// command_publisher(), what each runtime's log tells of a command's change. wire_call_control() is
// called once by the REST wiring (app/rest_wiring) on the io thread before the server starts; the
// functions it sets run on the io thread.
#pragma once

#include <functional>

#include "api/rest_api.hpp"
#include "base/tenant_id.hpp"
#include "core/command_log.hpp"
#include "core/event_hub.hpp"
#include "core/tenant_runtime.hpp"

namespace callbridge::app {

// Sets `deps.call_control` and `deps.command_log` over `runtime_for(tenant)`: the tenant's
// runtime, null when the tenant does not exist (then 503 pbx-unavailable; also without call
// control).
void wire_call_control(api::RestDeps& deps, std::function<core::TenantRuntime*(const base::TenantId&)> runtime_for);

// For core::TenantServices::on_command: a command's change as {"type":"command"} on the issuing
// user's event stream (docs/api.md "Command outcomes"). `hub` must outlive the runtimes.
std::function<void(const core::CommandRecord&)> command_publisher(core::EventHub& hub);

}  // namespace callbridge::app
