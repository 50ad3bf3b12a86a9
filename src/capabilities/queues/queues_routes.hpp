// The queues capability's entry point: registers GET /api/v1/queues and the agents' membership
// routes under /api/v1/queues/{queue}/members (docs/queues.md; its OpenAPI fragment is
// openapi.json here). Called once by the app (app/capability_table.cpp) on the io thread.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::queues {

void register_queues(CapabilityContext& c);

}  // namespace callbridge::capabilities::queues
