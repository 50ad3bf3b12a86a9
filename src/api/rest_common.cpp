#include "api/rest_common.hpp"

#include <algorithm>
#include <charconv>

#include "base/time.hpp"
#include "base/percent_encoding.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {
std::string_view title_of(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

}  // namespace

HttpResponse problem(int status, std::string_view type, std::string_view detail) {
  json::object o{{"type", "/problems/" + std::string(type)},
                 {"title", title_of(status)},
                 {"status", status}};
  if (!detail.empty()) o["detail"] = detail;
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(o);
  return r;
}

HttpResponse from_error(const base::Error& e) {
  switch (e.code()) {
    case base::Errc::invalid_argument: return problem(400, "bad-request", e.message());
    case base::Errc::not_found: return problem(404, "not-found", e.message());
    case base::Errc::conflict: return problem(409, "conflict", e.message());
    case base::Errc::unavailable:
    case base::Errc::timeout: return problem(503, "unavailable", e.message());
    default: return problem(500, "internal", e.message());
  }
}

HttpResponse reply(int status, const json::value& v) { return HttpResponse::json(status, json::serialize(v)); }

bool body_too_big(const Ctx& ctx, const HttpRequest& req) { return req.body.size() > ctx.deps.max_body_bytes; }

HttpResponse auth_problem(const AuthFailure& f) {
  const char* type = f.status == 429   ? "too-many-requests"
                     : f.status == 503 ? (f.store_down ? "store-unavailable" : "overloaded")
                     : f.status == 403 ? "forbidden"  // a session cookie from another origin
                                       : "unauthorized";
  auto r = problem(f.status, type, f.detail);
  if (f.status == 429 || f.status == 503) r.headers.emplace_back("Retry-After", std::to_string(std::max(f.retry_after_s, 1)));
  else if (f.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

bool offload(const base::Offload& o, std::function<void()> job, const Respond& respond) {
  if (!o) {
    job();
    return true;
  }
  if (o.pool->try_submit(std::move(job))) return true;
  auto r = problem(503, "overloaded",
                   "the server is busy (" + std::to_string(o.pool->options().max_queue) +
                       " requests waiting for a worker); retry later");
  r.headers.emplace_back("Retry-After", "1");
  respond(std::move(r));
  return false;
}

bool offload(const Ctx& ctx, std::function<void()> job, const Respond& respond) {
  return offload(ctx.deps.offload, std::move(job), respond);
}

void on_io(const base::Offload& o, std::function<void()> fn) {
  if (o) o.to_io(std::move(fn));
  else fn();
}

void on_io(const Ctx& ctx, std::function<void()> fn) { on_io(ctx.deps.offload, std::move(fn)); }

namespace {
HttpResponse too_big(const Ctx& ctx) {
  return problem(413, "payload-too-large",
                 "request body exceeds " + std::to_string(ctx.deps.max_body_bytes) + " bytes");
}

// Who a route serves: the principals of a tenant (every route of a tenant's data), the operator
// (tenant management), or both (who am I).
enum class Audience { tenant, operator_only, anyone };

// Authenticates, checks the audience, then calls next(request, principal) on the io thread.
using Next = std::function<void(std::shared_ptr<const HttpRequest>, Principal, Respond)>;
AsyncHttpHandler authenticated(const std::shared_ptr<Ctx>& ctx, Next next, Audience audience = Audience::tenant) {
  return [ctx, next = std::make_shared<Next>(std::move(next)), audience](HttpRequest req, Respond respond) {
    if (body_too_big(*ctx, req)) return respond(too_big(*ctx));
    auto shared = std::make_shared<const HttpRequest>(std::move(req));
    ctx->deps.auth->resolve_async(*shared, false, [next, shared, respond, audience](PrincipalResult p) {
      if (!p) return respond(auth_problem(p.error()));
      if (audience == Audience::tenant && p->is_operator()) return respond(operator_forbidden());
      if (audience == Audience::operator_only && !p->is_operator())
        return respond(problem(403, "forbidden", "this needs the operator role (tenant admins manage their own tenant only)"));
      (*next)(shared, std::move(*p), respond);
    });
  };
}
}  // namespace

HttpResponse operator_forbidden() {
  return problem(403, "forbidden",
                 "operators manage tenants (/api/v1/tenants); a tenant's calls, journal, contacts, users and "
                 "settings need a token of that tenant");
}

AsyncHttpHandler authed(const std::shared_ptr<Ctx>& ctx, Handler h, On on) {
  auto handler = std::make_shared<Handler>(std::move(h));
  return authenticated(ctx, [ctx, handler, on](std::shared_ptr<const HttpRequest> req, Principal p, Respond respond) {
    if (on == On::io) return respond((*handler)(*req, p));
    offload(
        *ctx, [handler, req, p = std::move(p), respond] { respond((*handler)(*req, p)); }, respond);
  });
}

AsyncHttpHandler authed(const std::shared_ptr<Ctx>& ctx, AsyncHandler h) {
  auto handler = std::make_shared<AsyncHandler>(std::move(h));
  return authenticated(ctx, [handler](std::shared_ptr<const HttpRequest> req, Principal p, Respond respond) {
    (*handler)(*req, p, std::move(respond));
  });
}

AsyncHttpHandler operator_only(const std::shared_ptr<Ctx>& ctx, AsyncHandler h) {
  auto handler = std::make_shared<AsyncHandler>(std::move(h));
  return authenticated(
      ctx,
      [handler](std::shared_ptr<const HttpRequest> req, Principal p, Respond respond) {
        (*handler)(*req, p, std::move(respond));
      },
      Audience::operator_only);
}

AsyncHttpHandler anyone(const std::shared_ptr<Ctx>& ctx, Handler h, On on) {
  auto handler = std::make_shared<Handler>(std::move(h));
  return authenticated(
      ctx,
      [ctx, handler, on](std::shared_ptr<const HttpRequest> req, Principal p, Respond respond) {
        if (on == On::io) return respond((*handler)(*req, p));
        offload(
            *ctx, [handler, req, p = std::move(p), respond] { respond((*handler)(*req, p)); }, respond);
      },
      Audience::anyone);
}

AsyncHttpHandler admin_only(const std::shared_ptr<Ctx>& ctx, Handler h, On on) {
  return authed(
      ctx,
      [h = std::move(h)](const HttpRequest& req, const Principal& p) {
        if (!core::may_administer(p.viewer())) return problem(403, "forbidden", "this needs the admin role");
        return h(req, p);
      },
      on);
}

AsyncHttpHandler unauthed_worker(const std::shared_ptr<Ctx>& ctx, HttpHandler h) {
  auto handler = std::make_shared<HttpHandler>(std::move(h));
  return [ctx, handler](HttpRequest req, Respond respond) {
    if (body_too_big(*ctx, req)) return respond(too_big(*ctx));
    offload(
        *ctx, [handler, req = std::move(req), respond] { respond((*handler)(req)); }, respond);
  };
}

std::expected<json::object, HttpResponse> body_object(const HttpRequest& req) {
  json::parse_options po;
  po.max_depth = 16;
  std::error_code ec;
  json::storage_ptr sp;
  auto v = json::parse(req.body, ec, sp, po);
  if (ec) return std::unexpected(problem(400, "invalid-json", "body is not valid JSON: " + ec.message()));
  if (!v.is_object()) return std::unexpected(problem(400, "bad-request", "body must be a JSON object"));
  return std::move(v.as_object());
}

std::string path_segment(const HttpRequest& req, std::string_view prefix, std::string* rest) {
  std::string_view p = req.path;
  if (!p.starts_with(prefix)) return {};
  p.remove_prefix(prefix.size());
  auto slash = p.find('/');
  if (rest) *rest = slash == std::string_view::npos ? std::string() : std::string(p.substr(slash + 1));
  return base::percent_decode(p.substr(0, slash), base::PlusIs::plus);
}

std::optional<std::string> Query::get(std::string_view k) const {
  for (const auto& [a, b] : kv)
    if (a == k) return b;
  return std::nullopt;
}

std::optional<std::int64_t> query_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<base::Timestamp> query_time(std::string_view s) {
  if (auto t = base::parse_rfc3339(s)) return t;
  if (auto t = base::parse_epoch_seconds(s)) return t;
  return std::nullopt;
}

Query query_of(const HttpRequest& req) { return Query{parse_query(req.query)}; }

std::expected<std::optional<std::string>, std::string> opt_string(const json::object& o, std::string_view key,
                                                                  std::size_t max_len) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>{};
  if (!it->value().is_string()) return std::unexpected(std::string(key) + ": expected a string");
  const auto& s = it->value().as_string();
  if (s.size() > max_len) return std::unexpected(std::string(key) + ": longer than " + std::to_string(max_len));
  return std::optional<std::string>(std::string(s));
}

json::object me_json(const Principal& p) {
  json::array ext;
  for (const auto& d : p.devices) ext.emplace_back(d);
  return json::object{{"user", p.user},
                      {"tenant", p.tenant},
                      {"role", to_string(p.role)},
                      {"extensions", std::move(ext)},
                      {"display_name", p.display_name},
                      {"team", p.team}};
}

void audit(const Ctx& ctx, ports::AuditRecord record) {
  if (ctx.deps.audit) ctx.deps.audit->append(std::move(record));
}

void audit(const Ctx& ctx, const Principal& p, const HttpRequest& req, std::string action, std::string target,
           const HttpResponse& answer, json::object details) {
  if (!ctx.deps.audit) return;
  const bool ok = answer.status >= 200 && answer.status < 300;
  if (!ok) {
    std::error_code ec;
    auto v = json::parse(answer.body, ec);
    const json::value* d = !ec && v.is_object() ? v.as_object().if_contains("detail") : nullptr;
    details["status"] = answer.status;
    details["reason"] = d && d->is_string() ? d->as_string() : json::string();
  }
  ports::AuditRecord r{.tenant = p.tenant};
  r.at = ctx.deps.clock->now();
  r.actor = p.user;
  r.source = req.remote;
  r.action = std::move(action);
  r.target = std::move(target);
  r.outcome = ok ? "ok" : "failed";
  r.details_json = json::serialize(details);
  ctx.deps.audit->append(std::move(r));
}

}  // namespace callbridge::api::rest

namespace callbridge::api {

std::shared_ptr<rest::Ctx> add_rest_routes(HttpServer& server, RestDeps deps) {
  auto ctx = std::make_shared<rest::Ctx>(rest::Ctx{std::move(deps)});
  rest::add_identity_routes(server, ctx);
  rest::add_ops_routes(server, ctx);
  rest::add_settings_routes(server, ctx);
  rest::add_user_settings_routes(server, ctx);
  rest::add_device_routes(server, ctx);
  rest::add_tenant_routes(server, ctx);
  return ctx;
}

}  // namespace callbridge::api
