// The presence capability's entry point: registers GET /api/v1/lines (docs/api.md "Lines"; its
// OpenAPI fragment is openapi.json here). Called once by the app (app/capability_table.cpp) on the
// io thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::presence {

void register_presence(CapabilityContext& c);

}  // namespace callbridge::capabilities::presence
