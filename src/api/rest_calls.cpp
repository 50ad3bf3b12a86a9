// REST: GET /api/v1/calls and /api/v1/calls/{id} (read only; commands are rest_commands).
// Users see calls with a connection on one of their devices; supervisors/admins the whole tenant.
// GET /api/v1/lines (presence): the devices of the tenant's CallModels with their state and the
// owner's display name; users see their own and their team's lines, supervisors/admins all.
// The models are read on the io thread (their owner); identity.db on a REST worker.
#include "api/rest_common.hpp"
#include "core/event_hub.hpp"

#include <map>

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
                  body += core::call_json(c, p.tenant, m, ctx->deps.remote_info);
                }
              });
            }
            body += "]}";
            return HttpResponse::json(200, std::move(body));
          }));
  // The owners come from identity.db (a worker), the lines from the call models (the io thread).
  s.route("GET", "/api/v1/lines", authed(ctx, [ctx](const HttpRequest&, const Principal& p, Respond respond) {
            struct Owner {
              std::string name, team;
            };
            using Owners = std::map<std::string, Owner>;  // device -> its user (first user listing it)
            offload(
                *ctx,
                [ctx, p, respond] {
                  auto users = ctx->deps.identity->list_users(p.tenant);
                  if (!users) return respond(from_error(users.error()));
                  auto owners = std::make_shared<Owners>();
                  for (const auto& u : *users)
                    for (const auto& d : u.extensions) owners->try_emplace(d, Owner{u.display_name, u.team});
                  on_io(*ctx, [ctx, p, respond, owners] {
                    std::map<std::string, model::DeviceState> lines;  // sorted by device
                    if (ctx->deps.for_each_model) {
                      ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                        for (const auto& d : m.devices()) lines.try_emplace(d, m.device_state(d));
                      });
                    }
                    json::array out;
                    for (const auto& [d, st] : lines) {
                      auto o = owners->find(d);
                      const bool team = o != owners->end() && !p.team.empty() && o->second.team == p.team;
                      if (!p.sees_whole_tenant() && !p.owns_device(d) && !team) continue;
                      json::object line;
                      line["device"] = d;
                      line["name"] = o != owners->end() ? o->second.name : std::string();
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
            std::optional<std::string> found;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                if (found) return;
                if (const auto* c = m.find_call(id); c && visible(*c, p)) found = core::call_json(*c, p.tenant, m, ctx->deps.remote_info);
              });
            }
            if (!found) return problem(404, "not-found", "no such call, or not visible to you");
            return HttpResponse::json(200, std::move(*found));
          }));
}

}  // namespace callbridge::api::rest
