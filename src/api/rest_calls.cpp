// REST: GET /api/v1/calls and /api/v1/calls/{id} (read only; commands are rest_commands).
// GET /api/v1/lines (presence): the devices of the tenant's CallModels with their state and the
// owner's display name. Which calls and lines a caller sees is the visibility policy's
// (core/visibility.hpp: may_see(call), line_scope()).
// The models are read on the io thread (their owner); identity.db on a REST worker.
#include "api/rest_common.hpp"
#include "core/event_hub.hpp"

#include <map>

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
  // The owners come from identity.db (a worker), the lines from the call models (the io thread).
  s.route("GET", "/api/v1/lines", authed(ctx, [ctx](const HttpRequest&, const Principal& p, Respond respond) {
            // device -> the display name of its user (the first user listing it)
            using Names = std::map<std::string, std::string>;
            offload(
                *ctx,
                [ctx, p, respond] {
                  auto users = ctx->deps.identity->list_users(p.tenant);
                  if (!users) return respond(from_error(users.error()));
                  auto names = std::make_shared<Names>();
                  for (const auto& u : *users)
                    for (const auto& d : u.extensions) names->try_emplace(d, u.display_name);
                  auto scope = std::make_shared<const core::LineScope>(core::line_scope(p.viewer(), *users));
                  on_io(*ctx, [ctx, p, respond, names, scope] {
                    std::map<std::string, model::DeviceState> lines;  // sorted by device
                    if (ctx->deps.for_each_model) {
                      ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                        for (const auto& d : m.devices()) lines.try_emplace(d, m.device_state(d));
                      });
                    }
                    json::array out;
                    for (const auto& [d, st] : lines) {
                      if (!scope->sees(d)) continue;
                      auto n = names->find(d);
                      json::object line;
                      line["device"] = d;
                      line["name"] = n != names->end() ? n->second : std::string();
                      line["state"] = std::string(core::line_state_name(st));
                      out.push_back(std::move(line));
                    }
                    json::object body;
                    body["lines"] = std::move(out);
                    respond(reply(200, body));
                  });
                },
                respond);
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
