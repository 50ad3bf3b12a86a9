// The audit capability's entry point: registers GET /api/v1/audit (docs/api.md "Audit"; its OpenAPI
// fragment is openapi.json here). Called once by the app (app/capability_table.cpp) on the io
// thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::audit {

void register_audit(CapabilityContext& c);

}  // namespace callbridge::capabilities::audit
