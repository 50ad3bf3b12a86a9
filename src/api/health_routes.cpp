#include "api/health_routes.hpp"

#include <memory>

namespace callbridge::api {

void add_health_routes(HttpServer& server, HealthProviders providers) {
  auto p = std::make_shared<HealthProviders>(std::move(providers));
  server.route("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  server.route("GET", "/readyz", [p](const HttpRequest&) {
    auto reasons = p->not_ready_reasons ? p->not_ready_reasons() : std::vector<std::string>{};
    if (reasons.empty()) return HttpResponse::text(200, "ready");
    std::string detail;
    for (const auto& r : reasons) detail += (detail.empty() ? "" : "; ") + r;
    auto res = HttpResponse::problem(503, "Service Unavailable", detail);
    res.headers.emplace_back("Retry-After", "5");
    return res;
  });
  if (p->diagnostics_json)
    server.route("GET", "/api/v1/diagnostics",
                 [p](const HttpRequest&) { return HttpResponse::json(200, p->diagnostics_json()); });
}

}  // namespace callbridge::api
