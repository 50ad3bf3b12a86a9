// The operational endpoints every callbridged serves: /healthz (liveness), /readyz (readiness)
// and, for a server without the REST API, an unauthenticated /api/v1/diagnostics (JSON). The data comes from callbacks the app provides, so api/ does
// not know about PBX links or stores. Handlers run on the io thread; callbacks must not block.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http_server.hpp"

namespace callbridge::api {

struct HealthProviders {
  // Empty vector = ready; else one human-readable reason per unmet condition.
  std::function<std::vector<std::string>()> not_ready_reasons;
  // A complete JSON object served at GET /api/v1/diagnostics to anyone. Unset: that route is not
  // registered here (callbridged: the REST API serves the admin-only one, api/rest_ops.cpp).
  std::function<std::string()> diagnostics_json;
};

// GET /healthz -> 200 "ok" while the server runs.
// GET /readyz  -> 200 "ready", or 503 problem+json whose detail lists the reasons.
// GET /api/v1/diagnostics -> 200 application/json.
void add_health_routes(HttpServer& server, HealthProviders providers);

}  // namespace callbridge::api
