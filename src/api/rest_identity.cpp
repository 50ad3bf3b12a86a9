// REST: me, session (cookie), ws-ticket, users and tokens (admin). See docs/api.md "Identity".
#include <chrono>

#include "api/rest_common.hpp"
#include "core/any_device.hpp"

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

// GET /api/v1/users/{user}/tokens: the user's tokens (never secrets); 404 for an unknown user.
HttpResponse user_tokens(Ctx& ctx, const Principal& p, const std::string& name) {
  if (auto u = ctx.deps.identity->get_user(p.tenant, name); !u) return from_error(u.error());
  auto ts = ctx.deps.identity->list_tokens(p.tenant);
  if (!ts) return from_error(ts.error());
  json::array a;
  for (const auto& t : *ts)
    if (t.user == name) a.push_back(token_json(t));
  return reply(200, json::object{{"tokens", std::move(a)}});
}

// POST /api/v1/users/{user}/sign-in-link (admin): a one-time link that signs `name` in, as the
// demo's printed link does (`/?token=...`), but short-lived: the code in it is valid expires_in
// seconds (default 600, at most 86400) and once. The session it gives is tied to a token made for
// the link (listed with the user's tokens; revoking it ends the session), which expires when the
// longest such session would.
HttpResponse sign_in_link(Ctx& ctx, const Principal& p, const HttpRequest& req, const std::string& name) {
  std::int64_t ttl = 600;
  if (!req.body.empty()) {
    auto body = body_object(req);
    if (!body) return body.error();
    for (const auto& kv : *body)
      if (kv.key() != "expires_in")
        return problem(400, "bad-request", "unknown field \"" + std::string(kv.key().substr(0, 40)) + "\" (expected expires_in)");
    if (auto it = body->find("expires_in"); it != body->end() && !it->value().is_null()) {
      if (!it->value().is_int64() || it->value().as_int64() < 30 || it->value().as_int64() > 86400)
        return problem(400, "bad-request", "expires_in: expected seconds (30 .. 86400)");
      ttl = it->value().as_int64();
    }
  }
  const auto now = ctx.deps.clock->now();
  const auto link_expires = now + std::chrono::seconds(ttl);
  const auto token_expires = link_expires + ctx.deps.auth->options().session_ttl;
  json::object details{{"user", name}, {"expires_at", base::format_rfc3339_ms(link_expires)}};
  auto u = ctx.deps.identity->get_user(p.tenant, name);
  if (!u) {
    auto r = from_error(u.error());
    audit(ctx, p, req, "token.sign_in_link", "user:" + name, r, std::move(details));
    return r;
  }
  auto t = ctx.deps.identity->issue_token(p.tenant, name, now, token_expires);
  if (!t) {
    auto r = from_error(t.error());
    audit(ctx, p, req, "token.sign_in_link", "user:" + name, r, std::move(details));
    return r;
  }
  // The token's plaintext is dropped here: only the link's code leaves the server.
  const std::string code = ctx.deps.auth->issue_sign_in_code(p.tenant, name, t->id, std::chrono::seconds(ttl));
  const std::string path = "/?token=" + code;
  std::string host(req.header("host"));
  json::object o{{"user", name},
                 {"token_id", t->id},
                 {"path", path},
                 {"expires_at", base::format_rfc3339_ms(link_expires)},
                 {"session_expires_at", base::format_rfc3339_ms(token_expires)}};
  // The address the admin reached the server by (the link is for people who reach it the same
  // way); without a usable Host header only the path.
  const bool host_ok = !host.empty() && host.size() <= 255 &&
                       host.find_first_of(" /\\?#@\"'<>") == std::string::npos;
  o["url"] = host_ok ? json::value(std::string(req.secure ? "https://" : "http://") + host + path) : json::value(nullptr);
  auto r = reply(201, o);
  details["token_id"] = t->id;
  audit(ctx, p, req, "token.sign_in_link", "token:" + t->id, r, std::move(details));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
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
    if (Authenticator::is_sign_in_code(**tok)) {
      // A sign-in link (POST /users/{user}/sign-in-link): redeemed once, on a worker.
      offload(
          *ctx,
          [ctx, respond, secure, request, code = **tok] {
            auto p = ctx->deps.auth->redeem_sign_in_code(code, request->remote);
            if (!p) {
              auto r = auth_problem(p.error());
              std::erase_if(r.headers, [](const auto& h) { return h.first == "WWW-Authenticate"; });
              if (p.error().status == 401) {
                ports::AuditRecord rec{.tenant = base::TenantId(ports::kUnattributedAuditTenant)};
                rec.at = ctx->deps.clock->now();
                rec.source = request->remote;
                rec.action = "session.create";
                rec.target = "sign-in-link";
                rec.outcome = "failed";
                rec.details_json = json::serialize(json::object{{"reason", p.error().detail}});
                audit(*ctx, std::move(rec));
              }
              return respond(r);
            }
            auto value = ctx->deps.auth->create_session(*p);
            if (!value) {
              auto r = from_error(value.error());
              audit(*ctx, *p, *request, "session.create", "token:" + p->token_id, r, json::object{{"via", "sign-in-link"}});
              return respond(r);
            }
            auto r = reply(200, me_json(*p));
            audit(*ctx, *p, *request, "session.create", "token:" + p->token_id, r, json::object{{"via", "sign-in-link"}});
            r.headers.emplace_back("Set-Cookie", cookie(*value, ctx->deps.auth->options().session_ttl.count(), secure));
            r.headers.emplace_back("Cache-Control", "no-store");
            respond(std::move(r));
          },
          respond);
      return;
    }
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

  s.route("GET", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (rest == "tokens") return user_tokens(*ctx, p, name);
            if (rest == "devices") return devices_request(*ctx, req, p, name, "");
            if (!rest.empty()) return problem(404, "not-found", "no resource at " + req.path);
            auto u = ctx->deps.identity->get_user(p.tenant, name);
            if (!u) return from_error(u.error());
            return reply(200, user_json(*u));
          }, On::worker));

  // PATCH /api/v1/users/{user}: display name, team, extensions, role (the fields given).
  s.route("PATCH", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (!rest.empty()) return problem(404, "not-found", "no resource at " + req.path);
            auto body = body_object(req);
            if (!body) return body.error();
            json::object changed;  // the audit's details: the fields and their new values
            auto answer = [&]() -> HttpResponse {
              for (const auto& kv : *body)
                if (kv.key() != "display_name" && kv.key() != "team" && kv.key() != "extensions" && kv.key() != "role")
                  return problem(400, "bad-request", "unknown field \"" + std::string(kv.key().substr(0, 40)) +
                                                         "\" (expected display_name, team, extensions, role)");
              auto u = ctx->deps.identity->get_user(p.tenant, name);
              if (!u) return from_error(u.error());
              auto role = opt_string(*body, "role", 16);
              auto dn = opt_string(*body, "display_name", 200);
              auto team = opt_string(*body, "team", 64);
              for (auto* f : {&role, &dn, &team})
                if (!*f) return problem(400, "bad-request", f->error());
              if (*role) {
                if (**role != "user" && **role != "supervisor" && **role != "admin")
                  return problem(400, "bad-request", "role: user, supervisor or admin");
                // An admin who demotes themself could leave the tenant without one.
                if (name == p.user && **role != u->role)
                  return problem(409, "conflict", "you cannot change your own role; ask another admin");
                u->role = **role;
                changed["role"] = u->role;
              }
              if (*dn) changed["display_name"] = u->display_name = **dn;
              if (*team) changed["team"] = u->team = **team;
              if (auto it = body->find("extensions"); it != body->end()) {
                if (!it->value().is_array()) return problem(400, "bad-request", "extensions: expected an array of strings");
                std::vector<std::string> ext;
                for (const auto& e : it->value().as_array()) {
                  if (!e.is_string()) return problem(400, "bad-request", "extensions: expected an array of strings");
                  ext.emplace_back(e.as_string());
                }
                u->extensions = std::move(ext);
                json::array a;
                for (const auto& d : u->extensions) a.emplace_back(d);
                changed["extensions"] = std::move(a);
              }
              if (changed.empty()) return problem(400, "bad-request", "nothing to change: give display_name, team, extensions or role");
              if (auto st = ctx->deps.identity->put_user(*u); !st) return from_error(st.error());
              // Cached principals carry role, extensions and team: they must be read again.
              ctx->deps.auth->invalidate_cache();
              return reply(200, user_json(*u));
            }();
            audit(*ctx, p, req, "user.change", "user:" + name, answer, std::move(changed));
            return answer;
          }, On::worker));

  // DELETE /api/v1/users/{user}; POST /api/v1/users/{user}/tokens
  s.route("DELETE", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (rest.starts_with("devices/")) return devices_request(*ctx, req, p, name, rest.substr(8));
            if (!rest.empty()) return problem(404, "not-found", "no resource at " + req.path);
            auto answer = [&] {
              if (auto st = ctx->deps.identity->remove_user(p.tenant, name); !st) return from_error(st.error());
              ctx->deps.auth->invalidate_cache();
              // Their active device goes with them (a new user of that name starts on the default).
              if (ctx->deps.active_devices) ctx->deps.active_devices->set(p.tenant, name, std::nullopt);
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
            if (rest == "sign-in-link") return sign_in_link(*ctx, p, req, name);
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

  s.route("GET", "/api/v1/tokens", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::optional<std::string> user;
            for (const auto& [k, v] : parse_query(req.query)) {
              if (k != "user") return problem(400, "bad-request", "unknown parameter " + k.substr(0, 40) + " (expected user)");
              if (v.empty() || v.size() > 64) return problem(400, "bad-request", "user: 1-64 characters");
              user = v;
            }
            auto ts = ctx->deps.identity->list_tokens(p.tenant);
            if (!ts) return from_error(ts.error());
            json::array a;
            for (const auto& t : *ts)
              if (!user || t.user == *user) a.push_back(token_json(t));
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
