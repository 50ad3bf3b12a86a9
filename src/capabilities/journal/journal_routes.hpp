// The journal capability's entry point: registers GET /api/v1/journal, GET /api/v1/journal.csv and
// PATCH /api/v1/journal/{id} (docs/api.md "Journal"; its OpenAPI fragment is openapi.json here).
// Called once by the app (app/capability_table.cpp) on the io thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::journal {

void register_journal(CapabilityContext& c);

}  // namespace callbridge::capabilities::journal
