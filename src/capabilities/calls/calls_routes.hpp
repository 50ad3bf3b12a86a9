// The calls capability's entry point: registers GET /api/v1/calls and /api/v1/calls/{id} (live
// calls) and, through command_routes, call control (POST /api/v1/calls, /api/v1/calls/{id}/<verb>,
// /api/v1/journal/{id}/callback) and GET /api/v1/commands/{id} (docs/api.md "Calls and call
// control"; its OpenAPI fragment is openapi.json here). Called once by the app
// (app/capability_table.cpp) on the io thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::calls {

void register_calls(CapabilityContext& c);

}  // namespace callbridge::capabilities::calls
