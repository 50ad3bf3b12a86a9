// The forwarding capability's entry point: registers the users' do-not-disturb, call forwarding and
// follow-me resources under /api/v1/me/ (docs/dialplan.md, docs/api.md; its OpenAPI fragment is
// openapi.json here). Called once by the app (app/capability_table.cpp) on the io thread.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::forwarding {

void register_forwarding(CapabilityContext& c);

}  // namespace callbridge::capabilities::forwarding
