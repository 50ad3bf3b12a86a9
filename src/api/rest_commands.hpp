// REST call control (docs/api.md "Calls and call control"): POST /api/v1/calls (make call) and
// POST /api/v1/calls/{id}/{answer,hangup,hold,retrieve,consult,alternate,transfer,conference,
// deflect}, and POST /api/v1/journal/{id}/callback (make call from the entry's party to its
// remote). Authenticates with a PrincipalResolver, parses the body, hands the command to the
// tenant's core::CallControlService and maps its outcome to 202 / problem+json.
// The app calls add_command_routes() once; handlers run on the io thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "core/call_control.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::api {

struct CommandRouteDeps {
  PrincipalResolver* auth = nullptr;  // required
  // The call control of a tenant; nullptr when the tenant has no PBX link (503 pbx-unavailable).
  std::function<core::CallControlService*(const std::string& tenant)> service_for;
  std::size_t max_body_bytes = 64 * 1024;
  // POST /api/v1/journal/{id}/callback looks entries up here; nullptr: that route is not served.
  ports::JournalStore* journal = nullptr;
};

void add_command_routes(HttpServer& server, CommandRouteDeps deps);

}  // namespace callbridge::api
