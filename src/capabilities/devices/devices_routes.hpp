// The devices capability's entry point: registers GET /api/v1/devices and DELETE
// /api/v1/devices/{id} (docs/devices.md; its OpenAPI fragment is openapi.json here). Called once by
// the app (app/capability_table.cpp) on the io thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::devices {

void register_devices(CapabilityContext& c);

}  // namespace callbridge::capabilities::devices
