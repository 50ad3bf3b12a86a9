// REST: GET /api/v1/calls and /api/v1/calls/{id} (read only; commands are rest_commands). Which
// calls a caller sees is the visibility policy's (core/visibility.hpp: may_see(call)). The models
// are read on the io thread (their owner). Presence (GET /api/v1/lines) is capabilities/presence.
#include "api/rest_common.hpp"
#include "core/event_hub.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

void add_call_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/calls", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            const core::Viewer v = p.viewer();
            std::string body = "{\"calls\":[";
            bool first = true;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                for (const auto& [id, c] : m.calls()) {
                  if (!core::may_see(v, m, c)) continue;
                  if (!first) body += ',';
                  first = false;
                  body += core::call_json(c, p.tenant, m, ctx->deps.remote_info);
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
            const core::Viewer v = p.viewer();
            std::optional<std::string> found;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                if (found) return;
                if (const auto* c = m.find_call(id); c && core::may_see(v, m, *c)) found = core::call_json(*c, p.tenant, m, ctx->deps.remote_info);
              });
            }
            if (!found) return problem(404, "not-found", "no such call, or not visible to you");
            return HttpResponse::json(200, std::move(*found));
          }));
}

}  // namespace callbridge::api::rest
