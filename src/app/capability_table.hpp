// The capabilities callbridged serves, in one explicit table (app/capability_table.cpp), as
// driver_table does for PBX drivers: adding a capability is a folder under src/capabilities/ plus
// a row there (docs/architecture.md "Adding a capability"). Read by the REST wiring and the tests;
// registration runs once on the io thread, before the HTTP server starts.
#pragma once

#include <memory>
#include <span>

#include "api/rest_api.hpp"
#include "capabilities/capability.hpp"

namespace callbridge::app {

std::span<const capabilities::Capability> capability_table();

// The whole REST API: the API's own routes (api::add_rest_routes) and every capability's.
std::shared_ptr<api::rest::Ctx> add_api_routes(api::HttpServer& server, api::RestDeps deps);

}  // namespace callbridge::app
