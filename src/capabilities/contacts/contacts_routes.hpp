// The contacts capability's entry point: registers GET/POST /api/v1/contacts, GET/PATCH/DELETE
// /api/v1/contacts/{id} and GET /api/v1/contacts/lookup (docs/api.md "Contacts"; its OpenAPI
// fragment is openapi.json here). Called once by the app (app/capability_table.cpp) on the io
// thread, before the server starts.
#pragma once

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::contacts {

void register_contacts(CapabilityContext& c);

}  // namespace callbridge::capabilities::contacts
