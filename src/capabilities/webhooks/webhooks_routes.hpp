// The webhooks capability's entry point: registers /api/v1/webhooks (docs/api.md "Webhooks",
// docs/webhooks.md; its OpenAPI fragment is openapi.json here). Called once by the app
// (app/capability_table.cpp) on the io thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::webhooks {

void register_webhooks(CapabilityContext& c);

}  // namespace callbridge::capabilities::webhooks
