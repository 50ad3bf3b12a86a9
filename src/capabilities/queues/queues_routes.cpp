// The queues capability's REST resources (docs/queues.md): GET /api/v1/queues lists the queues the
// caller may see (waiting callers with their remote info, agents with their state); agents are
// logged in (POST .../members), logged out (DELETE .../members/{extension}), paused with a reason
// and unpaused (PATCH .../members/{extension}) through the PBX. Who may change whom:
// core::may_change_agent (a user themself, a supervisor their team, an admin anyone of the tenant).
#include "capabilities/queues/queues_routes.hpp"

#include "api/rest_common.hpp"
#include "capabilities/queues/queues_service.hpp"
#include "core/visibility.hpp"

namespace callbridge::capabilities::queues {

namespace json = boost::json;
using namespace api;
using namespace api::rest;
using Op = ports::QueueMemberRequest::Op;

namespace {

// The queue `name` of the tenant (first PBX that has it, or `pbx`'s), with its PBX's name.
const model::Queue* find_queue(const Ctx& ctx, const base::TenantId& tenant, const std::string& name,
                               const std::string& pbx) {
  const model::Queue* found = nullptr;
  if (!ctx.deps.for_each_queue_state) return nullptr;
  ctx.deps.for_each_queue_state(tenant, [&](const model::QueueState& s) {
    if (found || (!pbx.empty() && s.pbx() != pbx)) return;
    found = s.find(name);
  });
  return found;
}

HttpResponse pbx_problem(const base::Error& e) {
  switch (e.code()) {
    case base::Errc::not_found: return problem(404, "not-a-member", e.message());
    case base::Errc::conflict: return problem(409, "pbx-refused", e.message());
    case base::Errc::invalid_argument: return problem(400, "bad-request", e.message());
    case base::Errc::unavailable:
    case base::Errc::timeout: return problem(503, "pbx-unavailable", e.message());
    default: return problem(500, "internal", e.message());
  }
}

struct Change {
  ports::QueueMemberRequest req;
  std::string pbx;
  std::string action;  // audit
};

// Checks and carries out `c` for `p` (io thread); `team` = the supervisor's team's extensions.
void carry_out(const std::shared_ptr<Ctx>& ctx, const HttpRequest& req, const Principal& p, Change c,
               const std::vector<std::string>& team, const Respond& respond) {
  auto finish = [ctx, req, p, c, respond](HttpResponse answer) {
    audit(*ctx, p, req, c.action, "queue:" + c.req.queue.substr(0, 80) + "/" + c.req.device.substr(0, 40), answer,
          c.req.op == Op::pause ? json::object{{"reason", c.req.reason}} : json::object{});
    respond(std::move(answer));
  };
  const auto* q = find_queue(*ctx, p.tenant, c.req.queue, c.pbx);
  // A queue of another tenant is answered like one that does not exist.
  if (!q) return finish(problem(404, "unknown-queue", "no queue '" + c.req.queue + "' in this tenant"));
  if (!core::may_change_agent(p.viewer(), c.req.device, team))
    return finish(problem(403, "forbidden",
                          p.role == core::Role::supervisor ? "extension " + c.req.device + " is not in your team"
                                                           : "you may change only your own extensions"));
  const auto* member = q->member_by_device(c.req.device);
  if (c.req.op == Op::add && member)
    return finish(problem(409, "already-a-member", c.req.device + " is already logged in to " + c.req.queue));
  if (c.req.op != Op::add && !member)
    return finish(problem(404, "not-a-member", c.req.device + " is not an agent of " + c.req.queue));
  if (!ctx->deps.queue_member) return finish(problem(503, "pbx-unavailable", "no PBX connection"));
  ctx->deps.queue_member(p.tenant, c.req, c.pbx, [finish](base::Status st) {
    if (!st) return finish(pbx_problem(st.error()));
    HttpResponse ok;
    ok.status = 204;
    finish(std::move(ok));
  });
}

// Reads the tenant's users (identity store, on a worker) when they matter — a supervisor's team, the
// display name of the extension's owner for a log in without "name" — then carry_out.
void change(const std::shared_ptr<Ctx>& ctx, const HttpRequest& req, const Principal& p, Change c, Respond respond) {
  const bool own = std::find(p.devices.begin(), p.devices.end(), c.req.device) != p.devices.end();
  const bool needs_team = p.role == core::Role::supervisor && !p.team.empty() && !own;
  const bool needs_name = c.req.op == Op::add && c.req.member_name.empty();
  if ((!needs_team && !needs_name) || !ctx->deps.identity) return carry_out(ctx, req, p, std::move(c), {}, respond);
  offload(
      *ctx,
      [ctx, req, p, c = std::move(c), respond, needs_team]() mutable {
        auto users = ctx->deps.identity->list_users(p.tenant);
        if (!users) return respond(from_error(users.error()));
        std::vector<std::string> team;
        if (needs_team) team = core::team_extensions(p.viewer(), *users);
        if (c.req.op == Op::add && c.req.member_name.empty())
          for (const auto& u : *users)
            if (u.tenant == p.tenant &&
                std::find(u.extensions.begin(), u.extensions.end(), c.req.device) != u.extensions.end()) {
              c.req.member_name = u.display_name.substr(0, 80);
              break;
            }
        on_io(*ctx, [ctx, req, p, c = std::move(c), team = std::move(team), respond]() mutable {
          carry_out(ctx, req, p, std::move(c), team, respond);
        });
      },
      respond);
}

// "/api/v1/queues/{queue}/members[/{extension}]" -> queue, extension; false: another path.
bool member_path(const HttpRequest& req, std::string& queue, std::string& extension, bool with_extension) {
  std::string rest;
  queue = path_segment(req, "/api/v1/queues/", &rest);
  if (!with_extension) return rest == "members";
  if (!rest.starts_with("members/")) return false;
  HttpRequest sub;
  sub.path = "/" + rest;
  std::string tail;
  extension = path_segment(sub, "/members/", &tail);
  return tail.empty() && !extension.empty();
}

std::optional<HttpResponse> check_names(const std::string& queue, const std::string& extension) {
  if (!valid_queue_name(queue)) return problem(400, "bad-request", "bad queue name");
  if (extension.empty() || extension.size() > 32 ||
      !std::all_of(extension.begin(), extension.end(),
                   [](unsigned char ch) { return std::isalnum(ch) || ch == '_' || ch == '.' || ch == '-'; }))
    return problem(400, "bad-request", "bad extension '" + extension.substr(0, 40) + "'");
  return std::nullopt;
}

}  // namespace

void register_queues(CapabilityContext& c) {
  const std::shared_ptr<Ctx>& ctx = c.rest;

  c.server.route("GET", "/api/v1/queues", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
    if (!req.query.empty()) return problem(400, "bad-request", "no parameters expected");
    QueueList list(p.viewer(), ctx->deps.remote_info);
    if (ctx->deps.for_each_queue_state)
      ctx->deps.for_each_queue_state(p.tenant, [&](const model::QueueState& s) { list.add(s); });
    return HttpResponse::json(200, list.json(ctx->deps.clock->now()));
  }));

  // Log in: {"extension": "101"?, "paused": false?, "reason": "..."?, "name": "..."?, "pbx": "..."?}.
  c.server.route("POST", "/api/v1/queues/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p, Respond respond) {
    std::string queue, ext;
    if (!member_path(req, queue, ext, false)) return respond(problem(404, "not-found", "no such resource"));
    auto body = body_object(req);
    if (!body) return respond(body.error());
    for (const auto& [k, v] : *body)
      if (k != "extension" && k != "paused" && k != "reason" && k != "name" && k != "pbx")
        return respond(problem(400, "bad-request", "unknown field '" + std::string(k) + "'"));
    Change ch{.req = {}, .pbx = {}, .action = "queue.login"};
    ch.req.op = Op::add;
    ch.req.queue = queue;
    auto extension = opt_string(*body, "extension", 32);
    auto reason = opt_string(*body, "reason", 1024);
    auto name = opt_string(*body, "name", 80);
    auto pbx = opt_string(*body, "pbx", 80);
    for (auto* e : {&extension, &reason, &name, &pbx})
      if (!*e) return respond(problem(400, "bad-request", e->error()));
    if (*extension) ch.req.device = **extension;
    else if (p.devices.size() == 1) ch.req.device = p.devices.front();
    else return respond(problem(400, "bad-request", "say which extension logs in (\"extension\")"));
    if (auto it = body->find("paused"); it != body->end()) {
      if (!it->value().is_bool()) return respond(problem(400, "bad-request", "\"paused\" must be true or false"));
      ch.req.paused = it->value().as_bool();
    }
    if (*reason) {
      if (!ch.req.paused) return respond(problem(400, "bad-reason", "a reason goes only with \"paused\": true"));
      if (auto why = reason_problem(**reason)) return respond(problem(400, "bad-reason", *why));
      ch.req.reason = **reason;
    }
    if (*name) {
      if (auto why = reason_problem(**name)) return respond(problem(400, "bad-request", "name: " + *why));
      ch.req.member_name = **name;
    } else if (std::find(p.devices.begin(), p.devices.end(), ch.req.device) != p.devices.end() && !p.display_name.empty()) {
      ch.req.member_name = p.display_name;
    }  // else: the display name of the extension's owner (change())
    if (*pbx) ch.pbx = **pbx;
    if (auto bad = check_names(queue, ch.req.device)) return respond(std::move(*bad));
    change(ctx, req, p, std::move(ch), std::move(respond));
  }));

  // Log out.
  c.server.route("DELETE", "/api/v1/queues/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p, Respond respond) {
    std::string queue, ext;
    if (!member_path(req, queue, ext, true)) return respond(problem(404, "not-found", "no such resource"));
    if (!req.body.empty()) return respond(problem(400, "bad-request", "no body expected"));
    if (auto bad = check_names(queue, ext)) return respond(std::move(*bad));
    auto q = query_of(req);
    Change ch{.req = {}, .pbx = q.get("pbx").value_or(""), .action = "queue.logout"};
    ch.req.op = Op::remove;
    ch.req.queue = queue;
    ch.req.device = ext;
    change(ctx, req, p, std::move(ch), std::move(respond));
  }));

  // Pause / unpause: {"paused": true, "reason": "lunch"?} or {"paused": false}.
  c.server.route("PATCH", "/api/v1/queues/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p, Respond respond) {
    std::string queue, ext;
    if (!member_path(req, queue, ext, true)) return respond(problem(404, "not-found", "no such resource"));
    auto body = body_object(req);
    if (!body) return respond(body.error());
    for (const auto& [k, v] : *body)
      if (k != "paused" && k != "reason" && k != "pbx")
        return respond(problem(400, "bad-request", "unknown field '" + std::string(k) + "'"));
    auto it = body->find("paused");
    if (it == body->end() || !it->value().is_bool())
      return respond(problem(400, "bad-request", "\"paused\" (true or false) is required"));
    const bool paused = it->value().as_bool();
    auto reason = opt_string(*body, "reason", 1024);
    if (!reason) return respond(problem(400, "bad-reason", reason.error()));
    auto pbx = opt_string(*body, "pbx", 80);
    if (!pbx) return respond(problem(400, "bad-request", pbx.error()));
    Change ch{.req = {}, .pbx = pbx->value_or(""), .action = paused ? "queue.pause" : "queue.unpause"};
    ch.req.op = paused ? Op::pause : Op::unpause;
    ch.req.queue = queue;
    ch.req.device = ext;
    if (*reason) {
      if (!paused) return respond(problem(400, "bad-reason", "a reason goes only with \"paused\": true"));
      if (auto why = reason_problem(**reason)) return respond(problem(400, "bad-reason", *why));
      ch.req.reason = **reason;
    }
    if (auto bad = check_names(queue, ext)) return respond(std::move(*bad));
    change(ctx, req, p, std::move(ch), std::move(respond));
  }));
}

}  // namespace callbridge::capabilities::queues
