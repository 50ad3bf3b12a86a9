// Wires the REST API (api/rest_api.hpp and the capabilities of app/capability_table) into a running
// App: opens identity.db in the data dir, builds the Authenticator and the REST workers, registers
// the routes over the App's stores, dialing plans, call models and the tenant runtimes' call control.
// Called once from App::create on the io thread before the server starts.
#pragma once

#include <memory>

#include "api/ws_event_stream.hpp"
#include "base/error.hpp"
#include "base/worker_pool.hpp"

namespace callbridge::app {

class App;
struct RestWiring;  // owned by the App (keeps the stores alive as long as the routes)

base::Result<std::shared_ptr<RestWiring>> wire_rest_api(App& app);

// Event stream options backed by the identity store: `team` scope = the line states of every
// extension of the users whose `team` is the subscriber's (read when a client connects).
api::EventStreamOptions event_stream_options(const std::shared_ptr<RestWiring>& w);


// The operator's tenant manager (/api/v1/tenants); App::create load()s the stored tenants.
class TenantManager;
TenantManager* tenant_manager(const std::shared_ptr<RestWiring>& w);

}  // namespace callbridge::app
