// The calls capability's call control over REST (docs/api.md "Calls and call control"): POST
// /api/v1/calls (make call) and POST /api/v1/calls/{id}/{answer,hangup,hold,retrieve,consult,
// alternate,transfer,conference,deflect,pickup,park,move}, POST /api/v1/lines/{device}/pickup (the call ringing
// there), and POST /api/v1/journal/{id}/callback (make call from the
// entry's party to its remote). Authenticates with a PrincipalResolver, parses the body, hands the
// command to the tenant's core::CallControlService and maps its outcome to 202 / problem+json.
// Every 202 names a command in the tenant's core::CommandLog (its TenantRuntime's, reached through
// `log_for`) whose later outcome (the PBX's Response / OriginateResponse) is readable at
// GET /api/v1/commands/{id}; the log's listener publishes it to the issuing user's event stream.
// Every command request that authenticated is recorded in the principal's tenant's audit log
// (command_audit.hpp): accepted or rejected, then done or failed.
// register_calls (calls_routes) calls add_command_routes() once with the API's dependencies; tests
// may call it with their own resolver. Authentication may take a worker (uncached token), the
// commands run on the io thread, the callback's journal lookup on `offload.pool`.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "base/worker_pool.hpp"
#include "core/call_commands.hpp"
#include "core/call_control.hpp"
#include "core/command_log.hpp"
#include "ports/audit_log.hpp"
#include "ports/identity_store.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::capabilities::calls {

struct CommandRouteDeps {
  api::PrincipalResolver* auth = nullptr;  // required
  // The call control of a tenant; nullptr when the tenant has no PBX link (503 pbx-unavailable).
  std::function<core::CallControlService*(const base::TenantId& tenant)> service_for{};
  // Cluster mode (docs/cluster.md "Commands on any node"): when `service_for` has none (the
  // tenant's PBX link is owned by another node), its commands go there through this; null or
  // nullptr: 503 pbx-unavailable.
  std::function<std::shared_ptr<core::CallCommands>(const base::TenantId& tenant)> remote_for{};
  std::size_t max_body_bytes = 64 * 1024;
  // POST /api/v1/journal/{id}/callback looks entries up here; nullptr: that route is not served.
  ports::JournalStore* journal = nullptr;
  // The callback's journal lookup runs on offload.pool, the call is placed back on the io thread
  // (empty: inline).
  base::Offload offload{};
  // The tenant's command log (core::TenantRuntime::shared_commands(); required): the routes add
  // and finish records there and hold it weakly while the PBX answers. Null: the tenant has none
  // (commands 503 like a tenant without call control; GET /api/v1/commands/{id} 404).
  std::function<std::shared_ptr<core::CommandLog>(const base::TenantId& tenant)> log_for{};
  // Every command a principal issues (not reads of GET /api/v1/commands) is recorded here
  // (command_audit.hpp): its answer, and the PBX's final word. Null: nothing is recorded.
  ports::AuditLog* audit = nullptr;
  const base::Clock* clock = nullptr;  // the records' time; required with `audit`
  // Pickup: the tenant's users, to know whose lines a user sees (team mates'; core::line_scope).
  // Runs on offload.pool. Null: users pick up only what rings at lines they see without it
  // (supervisors and admins: the whole tenant).
  std::function<base::Result<std::vector<ports::User>>(const base::TenantId& tenant)> tenant_users{};
  // Move: the user's external devices, to find the one named in the body (AnyDevice). Runs on
  // offload.pool. Null: calls move only back to the user's extensions.
  std::function<base::Result<ports::UserDevices>(const base::TenantId& tenant, const std::string& user)> user_devices{};
};

void add_command_routes(api::HttpServer& server, CommandRouteDeps deps);

}  // namespace callbridge::capabilities::calls
