// REST: me, session (cookie), ws-ticket, users and tokens (admin). See docs/api.md "Identity".
#include <chrono>

#include "api/rest_common.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {

json::object user_json(const ports::User& u) {
  json::array ext;
  for (const auto& d : u.extensions) ext.emplace_back(d);
  return {{"user", u.name}, {"role", u.role}, {"extensions", std::move(ext)}, {"display_name", u.display_name},
          {"team", u.team}};
}

json::object token_json(const ports::TokenRecord& t) {
  json::object o{{"id", t.id}, {"user", t.user}, {"created_at", base::format_rfc3339_ms(t.created_at)},
                 {"revoked", t.revoked}};
  o["expires_at"] = t.expires_at ? json::value(base::format_rfc3339_ms(*t.expires_at)) : json::value(nullptr);
  return o;
}

// A failed sign-in (POST /api/v1/session answered 401) for the audit log: the tenant and user the
// token's id names when it exists (their admins see who is being tried), else the operator's
// records. Looks the id up on a worker; never the token's secret.
void audit_failed_sign_in(const std::shared_ptr<Ctx>& ctx, std::string_view token, std::string remote,
                          std::string reason) {
  if (!ctx->deps.audit) return;
  auto parts = ports::parse_token(token);
  std::string id = parts ? parts->id : std::string();
  auto now = ctx->deps.clock->now();
  auto job = [ctx, id, remote = std::move(remote), reason = std::move(reason), now](bool look_up) {
    ports::AuditRecord r{.tenant = base::TenantId(ports::kUnattributedAuditTenant)};
    if (look_up && !id.empty())
      if (auto t = ctx->deps.identity->get_token(id)) {
        r.tenant = t->tenant;
        r.actor = t->user;
      }
    r.at = now;
    r.source = remote;
    r.action = "session.create";
    r.target = id.empty() ? std::string() : "token:" + id;
    r.outcome = "failed";
    r.details_json = json::serialize(json::object{{"reason", reason}});
    audit(*ctx, std::move(r));
  };
  // The answer does not wait for the record; a full queue records without the lookup.
  if (!ctx->deps.offload) return job(true);
  if (!ctx->deps.offload.pool->try_submit([job] { job(true); })) job(false);
}

std::string cookie(std::string_view value, long max_age, bool secure) {
  std::string c = "cb_session=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(max_age);
  if (secure) c += "; Secure";
  return c;
}

}  // namespace

void add_identity_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/me", anyone(ctx, [](const HttpRequest&, const Principal& p) {
            return reply(200, me_json(p));
          }));

  // The token check goes through the argon2 workers (like every uncached token), the session is
  // stored on a REST worker: the io thread only parses the body.
  s.route("POST", "/api/v1/session", AsyncHttpHandler([ctx](HttpRequest req, Respond respond) {
    if (body_too_big(*ctx, req)) return respond(problem(413, "payload-too-large", "request body too large"));
    auto body = body_object(req);
    if (!body) return respond(body.error());
    auto tok = opt_string(*body, "token", 512);
    if (!tok) return respond(problem(400, "bad-request", tok.error()));
    if (!*tok) return respond(problem(400, "bad-request", "token: required"));
    // `Secure` whenever the request came over TLS, so the cookie never travels in clear.
    const bool secure = req.secure || ctx->deps.secure_cookies;
    auto request = std::make_shared<const HttpRequest>(std::move(req));
    ctx->deps.auth->check_token_async(**tok, request->remote, [ctx, respond, secure, request, token = **tok](PrincipalResult p) {
      if (!p) {
        // 401 only: a 429 or 503 checked nothing (the counters in diagnostics count those).
        if (p.error().status == 401) audit_failed_sign_in(ctx, token, request->remote, p.error().detail);
        auto r = auth_problem(p.error());
        std::erase_if(r.headers, [](const auto& h) { return h.first == "WWW-Authenticate"; });
        return respond(r);
      }
      offload(
          *ctx,
          [ctx, respond, secure, request, p = std::move(*p)] {
            auto value = ctx->deps.auth->create_session(p);
            if (!value) {
              auto r = from_error(value.error());
              audit(*ctx, p, *request, "session.create", "token:" + p.token_id, r);
              return respond(r);
            }
            auto r = reply(200, me_json(p));
            audit(*ctx, p, *request, "session.create", "token:" + p.token_id, r);
            r.headers.emplace_back("Set-Cookie", cookie(*value, ctx->deps.auth->options().session_ttl.count(), secure));
            r.headers.emplace_back("Cache-Control", "no-store");
            respond(std::move(r));
          },
          respond);
    });
  }));

  s.route("DELETE", "/api/v1/session", unauthed_worker(ctx, [ctx](const HttpRequest& req) {
    // Another site must not log the user out either (the cookie is ambient).
    if (auto why = ctx->deps.auth->cookie_origin_refused(req)) return problem(403, "forbidden", *why);
    ctx->deps.auth->end_session(Authenticator::session_cookie(req));
    HttpResponse r;
    r.status = 204;
    r.headers.emplace_back("Set-Cookie", cookie("", 0, req.secure || ctx->deps.secure_cookies));
    return r;
  }));

  s.route("POST", "/api/v1/ws-ticket", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            auto t = ctx->deps.auth->issue_ticket(p);
            auto r = reply(200, json::object{{"ticket", t}, {"expires_in", ctx->deps.auth->options().ticket_ttl.count()}});
            r.headers.emplace_back("Cache-Control", "no-store");
            return r;
          }));

  s.route("GET", "/api/v1/users", admin_only(ctx, [ctx](const HttpRequest&, const Principal& p) {
            auto users = ctx->deps.identity->list_users(p.tenant);
            if (!users) return from_error(users.error());
            json::array a;
            for (const auto& u : *users) a.push_back(user_json(u));
            return reply(200, json::object{{"users", std::move(a)}});
          }, On::worker));

  s.route("POST", "/api/v1/users", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            auto body = body_object(req);
            if (!body) return body.error();
            ports::User u{.tenant = p.tenant};  // never from the body
            auto name = opt_string(*body, "user", 64);
            auto role = opt_string(*body, "role", 16);
            auto dn = opt_string(*body, "display_name", 200);
            auto team = opt_string(*body, "team", 64);
            for (auto* f : {&name, &role, &dn, &team})
              if (!*f) return problem(400, "bad-request", f->error());
            if (!*name) return problem(400, "bad-request", "user: required");
            u.name = **name;
            u.role = role->value_or("user");
            u.display_name = dn->value_or("");
            u.team = team->value_or("");
            if (auto it = body->find("extensions"); it != body->end()) {
              if (!it->value().is_array()) return problem(400, "bad-request", "extensions: expected an array of strings");
              for (const auto& e : it->value().as_array()) {
                if (!e.is_string()) return problem(400, "bad-request", "extensions: expected an array of strings");
                u.extensions.emplace_back(e.as_string());
              }
            }
            auto answer = [&] {
              if (ctx->deps.identity->get_user(u.tenant, u.name))
                return problem(409, "conflict", "user " + u.name + " exists");
              if (auto st = ctx->deps.identity->put_user(u); !st) return from_error(st.error());
              auto r = reply(201, user_json(u));
              r.headers.emplace_back("Location", "/api/v1/users/" + u.name);
              return r;
            }();
            auto details = user_json(u);
            details.erase("user");
            audit(*ctx, p, req, "user.create", "user:" + u.name, answer, std::move(details));
            return answer;
          }, On::worker));

  // DELETE /api/v1/users/{user}; POST /api/v1/users/{user}/tokens
  s.route("DELETE", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (!rest.empty()) return problem(404, "not-found", "no resource at " + req.path);
            auto answer = [&] {
              if (auto st = ctx->deps.identity->remove_user(p.tenant, name); !st) return from_error(st.error());
              ctx->deps.auth->invalidate_cache();
              HttpResponse r;
              r.status = 204;
              return r;
            }();
            audit(*ctx, p, req, "user.remove", "user:" + name, answer);
            return answer;
          }, On::worker));
  s.route("POST", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (rest != "tokens") return problem(404, "not-found", "no resource at " + req.path);
            std::optional<base::Timestamp> expires;
            if (!req.body.empty()) {
              auto body = body_object(req);
              if (!body) return body.error();
              if (auto it = body->find("expires_in"); it != body->end() && !it->value().is_null()) {
                if (!it->value().is_int64() || it->value().as_int64() <= 0 || it->value().as_int64() > 10LL * 365 * 86400)
                  return problem(400, "bad-request", "expires_in: expected seconds (1 .. 10 years)");
                expires = ctx->deps.clock->now() + std::chrono::seconds(it->value().as_int64());
              }
            }
            auto t = ctx->deps.identity->issue_token(p.tenant, name, ctx->deps.clock->now(), expires);
            json::object details{{"user", name}};
            details["expires_at"] = expires ? json::value(base::format_rfc3339_ms(*expires)) : json::value(nullptr);
            if (!t) {
              auto r = from_error(t.error());
              audit(*ctx, p, req, "token.create", "user:" + name, r, std::move(details));
              return r;
            }
            json::object o{{"id", t->id}, {"user", name}, {"token", t->token}};
            o["expires_at"] = details["expires_at"];
            auto r = reply(201, o);
            // Named by its id; the token itself is in this answer only.
            audit(*ctx, p, req, "token.create", "token:" + t->id, r, std::move(details));
            r.headers.emplace_back("Cache-Control", "no-store");
            return r;
          }, On::worker));

  s.route("GET", "/api/v1/tokens", admin_only(ctx, [ctx](const HttpRequest&, const Principal& p) {
            auto ts = ctx->deps.identity->list_tokens(p.tenant);
            if (!ts) return from_error(ts.error());
            json::array a;
            for (const auto& t : *ts) a.push_back(token_json(t));
            return reply(200, json::object{{"tokens", std::move(a)}});
          }, On::worker));
  s.route("DELETE", "/api/v1/tokens/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            auto id = path_segment(req, "/api/v1/tokens/");
            auto answer = [&] {
              if (auto st = ctx->deps.identity->revoke_token(p.tenant, id); !st) return from_error(st.error());
              ctx->deps.auth->invalidate_cache();
              HttpResponse r;
              r.status = 204;
              return r;
            }();
            audit(*ctx, p, req, "token.revoke", "token:" + ports::redact_secrets(id.substr(0, 80)), answer);
            return answer;
          }, On::worker));
}

}  // namespace callbridge::api::rest
