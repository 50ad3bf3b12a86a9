// REST: GET /api/v1/calls and /api/v1/calls/{id} (read only; commands are rest_commands).
// Users see calls with a connection on one of their devices; supervisors/admins the whole tenant.
#include "api/rest_common.hpp"
#include "core/event_hub.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {
bool visible(const model::Call& c, const Principal& p) {
  if (p.sees_whole_tenant()) return true;
  for (const auto& conn : c.connections)
    if (p.owns_device(conn.device)) return true;
  return false;
}
}  // namespace

void add_call_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/calls", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            std::string body = "{\"calls\":[";
            bool first = true;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                for (const auto& [id, c] : m.calls()) {
                  if (!visible(c, p)) continue;
                  if (!first) body += ',';
                  first = false;
                  body += core::call_json(c, p.tenant, m);
                }
              });
            }
            body += "]}";
            return HttpResponse::json(200, std::move(body));
          }));
  s.route("GET", "/api/v1/calls/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto id = path_segment(req, "/api/v1/calls/", &rest);
            if (!rest.empty() || id.empty()) return problem(404, "not-found", "no resource at " + req.path);
            std::optional<std::string> found;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                if (found) return;
                if (const auto* c = m.find_call(id); c && visible(*c, p)) found = core::call_json(*c, p.tenant, m);
              });
            }
            if (!found) return problem(404, "not-found", "no such call, or not visible to you");
            return HttpResponse::json(200, std::move(*found));
          }));
}

}  // namespace callbridge::api::rest
