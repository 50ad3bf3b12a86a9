// The presence capability's REST resources: GET /api/v1/lines, the devices of the tenant's
// CallModels (cluster mode: and the mirror of the other nodes' links) with their state and the
// owner's display name, as far as the caller may see them
// (own and team lines for users, all for supervisors and admins). identity.db is read on a REST
// worker, the models on the io thread (their owner).
#include "capabilities/presence/presence_routes.hpp"

#include "api/rest_common.hpp"
#include "capabilities/presence/presence_service.hpp"
#include "core/event_hub.hpp"

#include <algorithm>
#include <chrono>
#include <map>

namespace callbridge::capabilities::presence {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

namespace {

// {"type":"user_status"} for `u` to whoever sees one of their lines (as line events), io thread.
void publish_status(const Ctx& ctx, const base::TenantId& tenant, const ports::User& u,
                    const std::optional<ports::UserStatus>& s) {
  if (ctx.deps.publish)
    ctx.deps.publish(tenant, core::HubMessage::Kind::status, u.extensions, "user_status", user_status_event_tail(u, s));
}

// At `until` the status ends by itself: the colleagues hear "available" then, unless the user set
// another status meanwhile (the stored one no longer ends at `until`). Not after a restart of the
// daemon: readers compare `until` with their clock (docs/api.md "Presence").
void schedule_expiry(const std::shared_ptr<Ctx>& ctx, const base::TenantId& tenant, const std::string& user,
                     base::Timestamp until) {
  if (!ctx->deps.post_after) return;
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(until - ctx->deps.clock->now()) + std::chrono::milliseconds(5);
  ctx->deps.post_after(std::max(delay, std::chrono::milliseconds(1)), [ctx, tenant, user, until] {
    offload(
        *ctx,
        [ctx, tenant, user, until] {
          auto s = ctx->deps.identity->get_user_status(tenant, user);
          if (!s || !*s || (*s)->until != until) return;  // changed or cleared since
          auto u = ctx->deps.identity->get_user(tenant, user);
          if (!u) return;
          on_io(*ctx, [ctx, tenant, u = std::move(*u)] { publish_status(*ctx, tenant, u, std::nullopt); });
        },
        Respond([](HttpResponse) {}, HttpResponse{}));  // no request waits for it
  });
}

}  // namespace

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
            if (ctx->deps.for_each_mirror_line)  // cluster mode: the lines of other nodes' links
              ctx->deps.for_each_mirror_line(p.tenant, [&](const std::string& d, model::DeviceState s) { view->add(d, s); });
            json::array out;
            // The PBX's unconditional forwarding of a line (docs/dialplan.md), shown to colleagues.
            const ports::PbxFeatures* features = ctx->deps.line_features ? ctx->deps.line_features(p.tenant) : nullptr;
            for (const auto& l : view->lines()) {
              json::object line;
              line["device"] = l.device;
              line["name"] = l.name;
              line["state"] = std::string(core::line_state_name(l.state));
              if (features)
                if (auto to = features->line(l.device).unconditional) line["forwarded_to"] = *to;
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
          auto statuses = ctx->deps.identity->list_user_statuses(p.tenant);
          if (!statuses) return respond(from_error(statuses.error()));
          auto view = std::make_shared<ColleagueView>(p.viewer(), *users);
          auto by_user = std::make_shared<std::map<std::string, ports::UserStatus>>();
          const auto now = ctx->deps.clock->now();
          for (auto& [user, st] : *statuses)
            if (auto eff = effective_status(st, now)) by_user->emplace(user, std::move(*eff));
          on_io(*ctx, [ctx, p, respond, view, by_user] {
            if (ctx->deps.for_each_model)
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) { view->add(m); });
            if (ctx->deps.for_each_mirror_line)  // cluster mode: the lines of other nodes' links
              ctx->deps.for_each_mirror_line(p.tenant, [&](const std::string& d, model::DeviceState s) { view->add(d, s); });
            json::array out;
            std::vector<std::string> teams;
            for (const auto& c : view->colleagues()) {
              json::array lines, ext;
              for (const auto& l : c.lines) {
                lines.push_back(json::object{{"device", l.device}, {"state", std::string(core::line_state_name(l.state))}});
                ext.emplace_back(l.device);
              }
              if (!c.team.empty() && (teams.empty() || teams.back() != c.team)) teams.push_back(c.team);
              auto st = by_user->find(c.user);
              out.push_back(json::object{
                  {"user", c.user},
                  {"display_name", c.display_name},
                  {"team", c.team},
                  {"role", c.role},
                  {"self", c.user == p.user},
                  {"extensions", std::move(ext)},
                  {"lines", std::move(lines)},
                  {"state", c.state},
                  {"user_status", json::parse(user_status_json(st == by_user->end() ? std::nullopt
                                                                                    : std::optional(st->second)))}});
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

  // The caller's own status (docs/api.md "Presence"): read, set, clear. Stored in identity.db (a
  // worker), published on the io thread to whoever sees one of the user's lines.
  c.server.route("GET", "/api/v1/me/status", authed(ctx, [ctx](const HttpRequest&, const Principal& p, Respond respond) {
    offload(
        *ctx,
        [ctx, p, respond] {
          auto s = ctx->deps.identity->get_user_status(p.tenant, p.user);
          if (!s) return respond(from_error(s.error()));
          respond(HttpResponse::json(200, "{\"user_status\":" +
                                              user_status_json(effective_status(*s, ctx->deps.clock->now())) + "}"));
        },
        respond);
  }));

  c.server.route("PUT", "/api/v1/me/status", authed(ctx, [ctx](const HttpRequest& req, const Principal& p, Respond respond) {
    auto body = body_object(req);
    if (!body) return respond(body.error());
    const auto* st = body->if_contains("status");
    if (!st || !st->is_string()) return respond(problem(400, "bad-request", "status: a string is required"));
    auto note = opt_string(*body, "note", 4 * kMaxStatusNote);
    if (!note) return respond(problem(400, "bad-request", note.error()));
    std::optional<base::Timestamp> until;
    if (const auto* u = body->if_contains("until"); u && !u->is_null()) {
      if (!u->is_string()) return respond(problem(400, "bad-request", "until: an RFC 3339 time or null"));
      until = query_time(std::string(u->get_string()));
      if (!until) return respond(problem(400, "bad-request", "until: not an RFC 3339 time: " + std::string(u->get_string()).substr(0, 40)));
    }
    for (const auto& [k, v] : *body)
      if (k != "status" && k != "note" && k != "until")
        return respond(problem(400, "bad-request", "unknown field " + std::string(k).substr(0, 40)));
    auto status = status_from_request(st->get_string(), note->value_or(""), until, ctx->deps.clock->now());
    if (!status) return respond(problem(400, "bad-request", status.error()));
    offload(
        *ctx,
        [ctx, p, respond, s = std::move(*status)] {
          auto u = ctx->deps.identity->get_user(p.tenant, p.user);
          if (!u) return respond(from_error(u.error()));
          // "available" without a note or end is no status at all: cleared.
          const bool clear = s.status == "available" && s.note.empty() && !s.until;
          auto saved = clear ? ctx->deps.identity->clear_user_status(p.tenant, p.user)
                             : ctx->deps.identity->put_user_status(p.tenant, p.user, s);
          if (!saved) return respond(from_error(saved.error()));
          std::optional<ports::UserStatus> now_is = clear ? std::nullopt : std::optional(s);
          on_io(*ctx, [ctx, p, respond, u = std::move(*u), now_is] {
            publish_status(*ctx, p.tenant, u, now_is);
            if (now_is && now_is->until) schedule_expiry(ctx, p.tenant, p.user, *now_is->until);
            respond(HttpResponse::json(200, "{\"user_status\":" + user_status_json(now_is) + "}"));
          });
        },
        respond);
  }));

  c.server.route("DELETE", "/api/v1/me/status", authed(ctx, [ctx](const HttpRequest&, const Principal& p, Respond respond) {
    offload(
        *ctx,
        [ctx, p, respond] {
          auto u = ctx->deps.identity->get_user(p.tenant, p.user);
          if (!u) return respond(from_error(u.error()));
          if (auto st = ctx->deps.identity->clear_user_status(p.tenant, p.user); !st) return respond(from_error(st.error()));
          on_io(*ctx, [ctx, p, respond, u = std::move(*u)] {
            publish_status(*ctx, p.tenant, u, std::nullopt);
            HttpResponse r;
            r.status = 204;
            respond(r);
          });
        },
        respond);
  }));
}

}  // namespace callbridge::capabilities::presence
