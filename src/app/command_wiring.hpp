// Call control in callbridged: the REST command routes (api/rest_commands) on the App's HTTP
// server, over each tenant's core::TenantRuntime: its CallControlService (built over the tenant's
// first PBX driver that can control calls, with the tenant's dialing plan) and its CommandLog.
// Registered once on the io thread before the server starts; command_publisher() is what each
// runtime's log tells of a command's change.
#pragma once

#include <functional>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "base/tenant_id.hpp"
#include "base/worker_pool.hpp"
#include "core/command_log.hpp"
#include "core/event_hub.hpp"
#include "core/tenant_runtime.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::app {

// `runtime_for(tenant)`: the tenant's runtime, null when the tenant does not exist (503
// pbx-unavailable; also without call control); io thread. `offload`: where the callback's journal
// lookup runs (empty: inline).
void wire_command_routes(api::HttpServer& server, api::PrincipalResolver& auth,
                         std::function<core::TenantRuntime*(const base::TenantId&)> runtime_for,
                         ports::JournalStore* journal = nullptr, base::Offload offload = {});

// For core::TenantServices::on_command: a command's change as {"type":"command"} on the issuing
// user's event stream (docs/api.md "Command outcomes"). `hub` must outlive the runtimes.
std::function<void(const core::CommandRecord&)> command_publisher(core::EventHub& hub);

}  // namespace callbridge::app
