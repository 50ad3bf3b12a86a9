// The presence capability's REST resources: GET /api/v1/lines, the devices of the tenant's
// CallModels with their state and the owner's display name, as far as the caller may see them
// (own and team lines for users, all for supervisors and admins). identity.db is read on a REST
// worker, the models on the io thread (their owner).
#include "capabilities/presence/presence_routes.hpp"

#include "api/rest_common.hpp"
#include "capabilities/presence/presence_service.hpp"
#include "core/event_hub.hpp"

namespace callbridge::capabilities::presence {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

void register_presence(CapabilityContext& c) {
  const std::shared_ptr<Ctx>& ctx = c.rest;
  c.server.route("GET", "/api/v1/lines", authed(ctx, [ctx](const HttpRequest&, const Principal& p, Respond respond) {
    offload(
        *ctx,
        [ctx, p, respond] {
          auto users = ctx->deps.identity->list_users(p.tenant);
          if (!users) return respond(from_error(users.error()));
          auto view = std::make_shared<LineView>(p.viewer(), *users);
          on_io(*ctx, [ctx, p, respond, view] {
            if (ctx->deps.for_each_model)
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) { view->add(m); });
            json::array out;
            for (const auto& l : view->lines()) {
              json::object line;
              line["device"] = l.device;
              line["name"] = l.name;
              line["state"] = std::string(core::line_state_name(l.state));
              out.push_back(std::move(line));
            }
            json::object body;
            body["lines"] = std::move(out);
            respond(reply(200, body));
          });
        },
        respond);
  }));

  // GET /api/v1/presence: the colleagues the caller may see, with display name, team and line
  // states (docs/api.md "Presence"); line events keep it current (device -> colleague).
  c.server.route("GET", "/api/v1/presence", authed(ctx, [ctx](const HttpRequest& req, const Principal& p, Respond respond) {
    if (!req.query.empty()) {
      // Search and grouping are the client's: the answer is small (a tenant's users).
      return respond(problem(400, "bad-request", "no parameters expected"));
    }
    offload(
        *ctx,
        [ctx, p, respond] {
          auto users = ctx->deps.identity->list_users(p.tenant);
          if (!users) return respond(from_error(users.error()));
          auto view = std::make_shared<ColleagueView>(p.viewer(), *users);
          on_io(*ctx, [ctx, p, respond, view] {
            if (ctx->deps.for_each_model)
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) { view->add(m); });
            json::array out;
            std::vector<std::string> teams;
            for (const auto& c : view->colleagues()) {
              json::array lines, ext;
              for (const auto& l : c.lines) {
                lines.push_back(json::object{{"device", l.device}, {"state", std::string(core::line_state_name(l.state))}});
                ext.emplace_back(l.device);
              }
              if (!c.team.empty() && (teams.empty() || teams.back() != c.team)) teams.push_back(c.team);
              out.push_back(json::object{{"user", c.user},
                                         {"display_name", c.display_name},
                                         {"team", c.team},
                                         {"role", c.role},
                                         {"self", c.user == p.user},
                                         {"extensions", std::move(ext)},
                                         {"lines", std::move(lines)},
                                         {"state", c.state}});
            }
            json::array team_list;
            for (auto& t : teams) team_list.emplace_back(t);
            json::object body;
            body["colleagues"] = std::move(out);
            body["teams"] = std::move(team_list);
            respond(reply(200, body));
          });
        },
        respond);
  }));
}

}  // namespace callbridge::capabilities::presence
