// Wires the REST API (api/rest_api.hpp and the capabilities of app/capability_table) into a running
// App: opens identity.db in the data dir, builds the Authenticator and the REST workers, registers
// the routes over the App's stores, dialing plans, call models and the tenant runtimes' call control.
// Called once from App::create on the io thread before the server starts.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/ws_event_stream.hpp"
#include "base/error.hpp"
#include "base/worker_pool.hpp"
#include "base/time.hpp"
#include "core/viewer.hpp"
#include "ports/audit_log.hpp"
#include "ports/identity_store.hpp"

namespace callbridge::app {

class App;
struct RestWiring;  // owned by the App (keeps the stores alive as long as the routes)

base::Result<std::shared_ptr<RestWiring>> wire_rest_api(App& app);

// Event stream options backed by the identity store: `team` scope = the line states of every
// extension of the users whose `team` is the subscriber's (read when a client connects).
api::EventStreamOptions event_stream_options(const std::shared_ptr<RestWiring>& w);

// What the CSTA server (app/csta_wiring) takes from the REST API's stores: API tokens checked by
// the same Authenticator (cache, failure limits; `done` on the io thread), a tenant's users (their
// extensions), the audit log and its clock.
struct CstaAuthDeps {
  std::function<void(std::string token, std::string remote,
                     std::function<void(std::expected<core::Viewer, std::string>)> done)>
      check_token;
  std::function<std::vector<ports::User>(const base::TenantId&)> users;
  ports::AuditLog* audit = nullptr;
  const base::Clock* clock = nullptr;
};
CstaAuthDeps csta_auth_deps(const std::shared_ptr<RestWiring>& w);

// The operator's tenant manager (/api/v1/tenants); App::create load()s the stored tenants.
class TenantManager;
TenantManager* tenant_manager(const std::shared_ptr<RestWiring>& w);

}  // namespace callbridge::app
