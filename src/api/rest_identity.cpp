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

std::string cookie(std::string_view value, long max_age, bool secure) {
  std::string c = "cb_session=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(max_age);
  if (secure) c += "; Secure";
  return c;
}

}  // namespace

void add_identity_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/me", authed(ctx, [](const HttpRequest&, const Principal& p) {
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
    ctx->deps.auth->check_token_async(**tok, req.remote, [ctx, respond, secure](PrincipalResult p) {
      if (!p) {
        auto r = auth_problem(p.error());
        std::erase_if(r.headers, [](const auto& h) { return h.first == "WWW-Authenticate"; });
        return respond(r);
      }
      offload(
          *ctx,
          [ctx, respond, secure, p = std::move(*p)] {
            auto value = ctx->deps.auth->create_session(p);
            if (!value) return respond(from_error(value.error()));
            auto r = reply(200, me_json(p));
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
            if (ctx->deps.identity->get_user(u.tenant, u.name))
              return problem(409, "conflict", "user " + u.name + " exists");
            if (auto st = ctx->deps.identity->put_user(u); !st) return from_error(st.error());
            auto r = reply(201, user_json(u));
            r.headers.emplace_back("Location", "/api/v1/users/" + u.name);
            return r;
          }, On::worker));

  // DELETE /api/v1/users/{user}; POST /api/v1/users/{user}/tokens
  s.route("DELETE", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (!rest.empty()) return problem(404, "not-found", "no resource at " + req.path);
            if (auto st = ctx->deps.identity->remove_user(p.tenant, name); !st) return from_error(st.error());
            ctx->deps.auth->invalidate_cache();
            HttpResponse r;
            r.status = 204;
            return r;
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
            if (!t) return from_error(t.error());
            json::object o{{"id", t->id}, {"user", name}, {"token", t->token}};
            o["expires_at"] = expires ? json::value(base::format_rfc3339_ms(*expires)) : json::value(nullptr);
            auto r = reply(201, o);
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
            if (auto st = ctx->deps.identity->revoke_token(p.tenant, id); !st) return from_error(st.error());
            ctx->deps.auth->invalidate_cache();
            HttpResponse r;
            r.status = 204;
            return r;
          }, On::worker));
}

}  // namespace callbridge::api::rest
