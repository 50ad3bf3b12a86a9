// The forwarding capability's REST resources (docs/dialplan.md, docs/api.md "Do not disturb,
// forwarding, follow-me"): GET/PUT /api/v1/me/dnd, GET/PUT/DELETE /api/v1/me/forwarding and
// /api/v1/me/follow-me. `?user=NAME` acts for another user of the tenant (admins only). Every
// answer is the user's whole call-feature state. The user's extensions all get the same settings;
// the PBX carries them out (ports::PbxFeatures, AstDB + contrib/asterisk/callbridge.conf).
// identity.db and the dialing plan are read on a REST worker, the PBX is written on the io thread.
#include "capabilities/forwarding/forwarding_routes.hpp"

#include <algorithm>

#include "api/rest_common.hpp"
#include "core/any_device.hpp"
#include "core/line_features.hpp"

namespace callbridge::capabilities::forwarding {

namespace json = boost::json;
using namespace api;
using namespace api::rest;
using ports::LineFeatures;

namespace {

constexpr std::size_t kMaxBody = 4 * 1024;

// What the worker found out: whose lines, what changes.
struct Plan {
  std::string user;
  std::vector<std::string> lines;
  std::optional<core::FeatureChange> change;  // nullopt: GET
  std::string action;                         // audit: "dnd.set", "forwarding.set", ...
  json::object details;
};

json::object state_json(const Plan& plan, const ports::PbxFeatures* f) {
  json::object o{{"user", plan.user}};
  json::array lines;
  for (const auto& l : plan.lines) lines.push_back(json::value(l));
  o["lines"] = std::move(lines);
  base::Status ready = f ? f->ready() : base::fail(base::Error::unavailable("no PBX connection in this tenant"));
  o["available"] = static_cast<bool>(ready);
  o["reason"] = ready ? json::value(nullptr) : json::value(ready.error().message());
  const LineFeatures lf = f && !plan.lines.empty() ? f->line(plan.lines.front()) : LineFeatures{};
  auto parsed = json::parse(core::line_features_json(lf)).as_object();
  o["dnd"] = parsed["dnd"];
  o["forwarding"] = parsed["forwarding"];
  auto fm = parsed["follow_me"].as_object();
  fm["enabled"] = lf.follow_me.has_value();
  o["follow_me"] = std::move(fm);
  return o;
}

HttpResponse unavailable(const base::Error& e) { return problem(503, "features-unavailable", e.message()); }

HttpResponse pbx_problem(const base::Error& e) {
  switch (e.code()) {
    case base::Errc::unavailable:
    case base::Errc::timeout: return unavailable(e);
    case base::Errc::invalid_argument: return problem(400, "invalid-destination", e.message());
    case base::Errc::conflict: return problem(409, "pbx-refused", e.message());
    default: return problem(500, "internal", e.message());
  }
}

// Writes plan.change to every line, one after another, then answers the state (io thread).
void carry_out(const std::shared_ptr<Ctx>& ctx, const HttpRequest& req, const Principal& p, Plan plan,
               Respond respond) {
  ports::PbxFeatures* f = ctx->deps.line_features ? ctx->deps.line_features(p.tenant) : nullptr;
  if (!plan.change) return respond(HttpResponse::json(200, json::serialize(state_json(plan, f))));
  auto finish = [ctx, req, p, plan, respond](HttpResponse answer) {
    audit(*ctx, p, req, plan.action, "user:" + plan.user, answer, plan.details);
    respond(std::move(answer));
  };
  if (!f) return finish(unavailable(base::Error::unavailable("no PBX connection in this tenant")));
  if (auto st = f->ready(); !st) return finish(unavailable(st.error()));
  if (plan.lines.empty())
    return finish(problem(409, "no-extension", plan.user + " has no extension; an admin gives them one first"));
  // One line after the other; the first refusal ends it (the lines before keep what they got).
  struct Step {
    std::size_t next = 0;
    std::function<void()> run;
  };
  auto step = std::make_shared<Step>();
  std::weak_ptr<Step> weak = step;
  step->run = [ctx, p, plan, f, finish, weak] {
    auto s = weak.lock();
    if (!s) return;
    if (s->next == plan.lines.size()) {
      auto* now = ctx->deps.line_features ? ctx->deps.line_features(p.tenant) : nullptr;
      return finish(HttpResponse::json(200, json::serialize(state_json(plan, now))));
    }
    const std::string& line = plan.lines[s->next];
    f->set_line(line, core::apply(f->line(line), *plan.change), [s, finish](base::Status st) {
      if (!st) return finish(pbx_problem(st.error()));
      ++s->next;
      s->run();
    });
  };
  step->run();  // the set_line callbacks hold `step` while writes are under way
}

// The user the request is about: `?user=NAME` (admins: anyone of their tenant; others only
// themselves), else the caller.
std::expected<std::string, HttpResponse> target_user(const HttpRequest& req, const Principal& p) {
  auto q = query_of(req);
  for (const auto& [k, v] : q.kv)
    if (k != "user") return std::unexpected(problem(400, "bad-request", "unknown parameter '" + k.substr(0, 40) + "'"));
  auto u = q.get("user");
  if (!u || *u == p.user) return p.user;
  if (!p.is_admin()) return std::unexpected(problem(403, "forbidden", "only admins set another user's forwarding"));
  if (u->empty() || u->size() > 64) return std::unexpected(problem(400, "bad-request", "bad user name"));
  return *u;
}

// The parts a request body may hold, parsed on the io thread before the worker resolves them.
struct Body {
  std::optional<bool> dnd;
  std::optional<std::optional<std::string>> unconditional, busy, no_answer;  // null = off
  std::optional<int> no_answer_seconds;
  std::optional<bool> follow_me;
  std::optional<ports::FollowMeMode> mode;
  std::optional<int> desk_seconds;
};

std::expected<std::optional<std::optional<std::string>>, HttpResponse> dest_field(const json::object& o,
                                                                                   std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<std::optional<std::string>>{};
  if (it->value().is_null()) return std::optional<std::optional<std::string>>(std::optional<std::string>{});
  if (!it->value().is_string() || it->value().as_string().size() > 40)
    return std::unexpected(problem(400, "bad-request", std::string(key) + ": a phone number or extension (at most 40 characters), or null"));
  return std::optional<std::optional<std::string>>(std::string(it->value().as_string()));
}

std::expected<std::optional<int>, HttpResponse> seconds_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<int>{};
  if (!it->value().is_int64() || it->value().as_int64() < LineFeatures::kMinNoAnswerSeconds ||
      it->value().as_int64() > LineFeatures::kMaxNoAnswerSeconds)
    return std::unexpected(problem(400, "bad-request",
                                   std::string(key) + ": whole seconds " + std::to_string(LineFeatures::kMinNoAnswerSeconds) +
                                       ".." + std::to_string(LineFeatures::kMaxNoAnswerSeconds)));
  return std::optional<int>(static_cast<int>(it->value().as_int64()));
}

std::expected<Body, HttpResponse> parse_body(const HttpRequest& req, std::string_view resource) {
  Body b;
  if (req.method == "DELETE") {
    if (!req.body.empty()) return std::unexpected(problem(400, "bad-request", "no body expected"));
    if (resource == "forwarding") b.unconditional = b.busy = b.no_answer = std::optional<std::string>{};
    else b.follow_me = false;
    return b;
  }
  if (req.body.size() > kMaxBody) return std::unexpected(problem(413, "payload-too-large", "at most 4096 bytes"));
  auto o = body_object(req);
  if (!o) return std::unexpected(o.error());
  auto unknown = [&](std::initializer_list<std::string_view> known) -> std::optional<HttpResponse> {
    for (const auto& [k, v] : *o)
      if (std::find(known.begin(), known.end(), std::string_view(k)) == known.end())
        return problem(400, "bad-request", "unknown field '" + std::string(k).substr(0, 40) + "'");
    return std::nullopt;
  };
  if (resource == "dnd") {
    if (auto bad = unknown({"dnd"})) return std::unexpected(*bad);
    auto it = o->find("dnd");
    if (it == o->end() || !it->value().is_bool())
      return std::unexpected(problem(400, "bad-request", "\"dnd\" (true or false) is required"));
    b.dnd = it->value().as_bool();
  } else if (resource == "forwarding") {
    if (auto bad = unknown({"unconditional", "busy", "no_answer", "no_answer_seconds"})) return std::unexpected(*bad);
    auto u = dest_field(*o, "unconditional"), bu = dest_field(*o, "busy"), n = dest_field(*o, "no_answer");
    for (auto* d : {&u, &bu, &n})
      if (!*d) return std::unexpected(d->error());
    b.unconditional = *u, b.busy = *bu, b.no_answer = *n;
    auto secs = seconds_field(*o, "no_answer_seconds");
    if (!secs) return std::unexpected(secs.error());
    b.no_answer_seconds = *secs;
    if (o->empty()) return std::unexpected(problem(400, "bad-request", "name at least one of unconditional, busy, no_answer, no_answer_seconds"));
  } else {
    if (auto bad = unknown({"enabled", "mode", "desk_seconds"})) return std::unexpected(*bad);
    auto it = o->find("enabled");
    if (it == o->end() || !it->value().is_bool())
      return std::unexpected(problem(400, "bad-request", "\"enabled\" (true or false) is required"));
    b.follow_me = it->value().as_bool();
    if (auto m = o->find("mode"); m != o->end()) {
      const json::value& v = m->value();
      for (auto mode : {ports::FollowMeMode::parallel, ports::FollowMeMode::sequential, ports::FollowMeMode::device})
        if (v.is_string() && v.as_string() == ports::to_string(mode)) b.mode = mode;
      if (!b.mode) return std::unexpected(problem(400, "bad-request", "mode: one of parallel, sequential, device"));
    }
    auto secs = seconds_field(*o, "desk_seconds");
    if (!secs) return std::unexpected(secs.error());
    b.desk_seconds = *secs;
  }
  return b;
}

// Worker: the user's lines, the destinations resolved under the tenant's plan and policy, the
// follow-me number from the user's active device.
std::expected<Plan, HttpResponse> plan_of(Ctx& ctx, const Principal& p, const std::string& user,
                                          std::string_view resource, const std::optional<Body>& body) {
  auto u = ctx.deps.identity->get_user(p.tenant, user);
  if (!u) return std::unexpected(from_error(u.error()));
  Plan plan;
  plan.user = user;
  plan.lines = u->extensions;
  if (!body) return plan;
  core::FeatureChange c;
  plan.details = json::object{{"user", user}};
  std::shared_ptr<const core::AnyDeviceSettings> settings = ctx.deps.any_device ? ctx.deps.any_device(p.tenant) : nullptr;
  const core::AnyDevicePolicy policy = settings ? settings->policy : core::AnyDevicePolicy{};
  if (resource == "dnd") {
    c.dnd = body->dnd;
    plan.action = "dnd.set";
    plan.details["dnd"] = *body->dnd;
  } else if (resource == "forwarding") {
    plan.action = "forwarding.set";
    std::vector<std::string> extensions;
    auto users = ctx.deps.identity->list_users(p.tenant);
    if (!users) return std::unexpected(from_error(users.error()));
    for (const auto& x : *users) extensions.insert(extensions.end(), x.extensions.begin(), x.extensions.end());
    auto is_ext = [&](std::string_view s) { return std::find(extensions.begin(), extensions.end(), s) != extensions.end(); };
    auto to_e164 = [&](std::string_view raw) -> std::optional<std::string> {
      if (ctx.deps.to_e164) return ctx.deps.to_e164(p.tenant, raw);
      if (raw.starts_with("+")) return std::string(raw);
      return std::nullopt;
    };
    auto resolve = [&](const std::optional<std::optional<std::string>>& in, std::optional<std::string>& out,
                       std::string_view key) -> std::optional<HttpResponse> {
      if (!in) return std::nullopt;
      if (!*in) {
        out = std::string();
        plan.details[key] = nullptr;
        return std::nullopt;
      }
      auto r = core::resolve_destination(**in, is_ext, to_e164, policy, u->extensions);
      if (!r) {
        plan.details[key] = (**in).substr(0, 40);
        return problem(422, r.error().type, std::string(key) + ": " + r.error().detail);
      }
      out = *r;
      plan.details[key] = *r;
      return std::nullopt;
    };
    if (auto bad = resolve(body->unconditional, c.unconditional, "unconditional")) return std::unexpected(*bad);
    if (auto bad = resolve(body->busy, c.busy, "busy")) return std::unexpected(*bad);
    if (auto bad = resolve(body->no_answer, c.no_answer, "no_answer")) return std::unexpected(*bad);
    c.no_answer_seconds = body->no_answer_seconds;
    if (body->no_answer_seconds) plan.details["no_answer_seconds"] = *body->no_answer_seconds;
  } else {
    plan.action = "followme.set";
    plan.details["enabled"] = *body->follow_me;
    if (*body->follow_me) {
      auto d = ctx.deps.identity->get_user_devices(p.tenant, user);
      if (!d) return std::unexpected(from_error(d.error()));
      auto ext = std::find_if(d->external.begin(), d->external.end(),
                              [&](const ports::ExternalDevice& e) { return e.name == d->active; });
      if (ext == d->external.end())
        return std::unexpected(problem(409, "no-external-device",
                                       "follow-me rings " + user + "'s active device, which is " +
                                           (d->active.empty() ? std::string("the desk phone") : "\"" + d->active + "\"") +
                                           ": choose an external device first (PUT /api/v1/me/devices/active)"));
      if (auto why = policy.refuse(ext->number)) return std::unexpected(problem(422, "destination-not-allowed", *why));
      if (!ports::dialable_destination(ext->number))
        return std::unexpected(problem(422, "invalid-destination", ext->number + " cannot be dialled by the PBX"));
      c.follow_me = ext->number;
      plan.details["device"] = ext->name;
    } else {
      c.follow_me = std::string();
    }
    c.follow_me_mode = body->mode;
    c.desk_seconds = body->desk_seconds;
    if (body->mode) plan.details["mode"] = std::string(ports::to_string(*body->mode));
  }
  plan.change = std::move(c);
  return plan;
}

AsyncHandler resource_handler(const std::shared_ptr<Ctx>& ctx, std::string resource) {
  return [ctx, resource](const HttpRequest& req, const Principal& p, Respond respond) {
    auto user = target_user(req, p);
    if (!user) return respond(user.error());
    std::optional<Body> body;
    if (req.method != "GET") {
      auto b = parse_body(req, resource);
      if (!b) {
        audit(*ctx, p, req, resource == "dnd" ? "dnd.set" : resource == "forwarding" ? "forwarding.set" : "followme.set",
              "user:" + *user, b.error());
        return respond(b.error());
      }
      body = *b;
    } else if (!req.body.empty()) {
      return respond(problem(400, "bad-request", "no body expected"));
    }
    offload(
        *ctx,
        [ctx, req, p, user = *user, resource, body, respond] {
          auto plan = plan_of(*ctx, p, user, resource, body);
          on_io(*ctx, [ctx, req, p, resource, body, plan = std::move(plan), respond, user]() mutable {
            if (!plan) {
              if (body)
                audit(*ctx, p, req, resource == "dnd" ? "dnd.set" : resource == "forwarding" ? "forwarding.set" : "followme.set",
                      "user:" + user, plan.error());
              return respond(plan.error());
            }
            carry_out(ctx, req, p, std::move(*plan), respond);
          });
        },
        respond);
  };
}

}  // namespace

void register_forwarding(CapabilityContext& c) {
  const std::shared_ptr<Ctx>& ctx = c.rest;
  c.server.route("GET", "/api/v1/me/dnd", authed(ctx, resource_handler(ctx, "dnd")));
  c.server.route("PUT", "/api/v1/me/dnd", authed(ctx, resource_handler(ctx, "dnd")));
  for (std::string r : {"forwarding", "follow-me"}) {
    const std::string path = "/api/v1/me/" + r;
    const std::string name = r == "follow-me" ? "followme" : r;
    c.server.route("GET", path, authed(ctx, resource_handler(ctx, name)));
    c.server.route("PUT", path, authed(ctx, resource_handler(ctx, name)));
    c.server.route("DELETE", path, authed(ctx, resource_handler(ctx, name)));
  }
}

}  // namespace callbridge::capabilities::forwarding
