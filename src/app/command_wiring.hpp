// Call control in callbridged: the REST command routes (api/rest_commands) on the App's HTTP
// server, over each tenant's core::CallControlService (its TenantRuntime's, built over the
// tenant's first PBX driver that can control calls, with the tenant's dialing plan). Registered
// once on the io thread before the server starts.
#pragma once

#include <functional>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "base/tenant_id.hpp"
#include "base/worker_pool.hpp"
#include "core/call_control.hpp"
#include "core/event_hub.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::app {

// `service_for(tenant)`: the tenant's call control, null when it has none (503 pbx-unavailable);
// io thread. `hub`: where command outcomes are published ({"type":"command"} to the issuing
// user); null: not. `offload`: where the callback's journal lookup runs (empty: inline).
void wire_command_routes(api::HttpServer& server, api::PrincipalResolver& auth,
                         std::function<core::CallControlService*(const base::TenantId&)> service_for,
                         ports::JournalStore* journal = nullptr, core::EventHub* hub = nullptr,
                         base::Offload offload = {});

}  // namespace callbridge::app
