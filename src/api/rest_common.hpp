// Shared helpers of the REST handlers (src/api/rest_*.cpp and every capability's routes,
// src/capabilities/<name>/<name>_routes.cpp): problem+json with stable types, authentication + body-limit wrappers that also choose the handler's thread (the io thread
// for handlers that read the call models, a worker for handlers that block on SQLite or a
// directory), JSON body parsing with limits, query access. The wrappers are called on the io thread.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/rest_api.hpp"
#include "core/visibility.hpp"

namespace callbridge::api::rest {

// {"type": "/problems/<type>", "title", "status", "detail"}.
HttpResponse problem(int status, std::string_view type, std::string_view detail);
HttpResponse from_error(const base::Error& e);  // maps Errc to a status and type
HttpResponse reply(int status, const boost::json::value& v);

using Handler = std::function<HttpResponse(const HttpRequest&, const Principal&)>;
// Answers when it likes (e.g. blocking part on a worker, then the models on the io thread).
using AsyncHandler = std::function<void(const HttpRequest&, const Principal&, Respond)>;

struct Ctx {
  RestDeps deps;
};

// Where a handler runs. `io`: it reads the call models or other io-thread state and must be quick.
// `worker`: it blocks (SQLite, directory lookups, argon2) and touches nothing of the io thread.
enum class On { io, worker };

// Body limit -> 413, authentication (off the io thread when the token is not cached) -> 401/429/
// 503, then `h` on `on`.
AsyncHttpHandler authed(const std::shared_ptr<Ctx>& ctx, Handler h, On on = On::io);
AsyncHttpHandler authed(const std::shared_ptr<Ctx>& ctx, AsyncHandler h);  // h on the io thread
// Admin only (403 otherwise).
AsyncHttpHandler admin_only(const std::shared_ptr<Ctx>& ctx, Handler h, On on = On::io);
// authed() and the two above answer an operator 403: a tenant's calls, journal, contacts, users
// and settings are not the operator's. These take operators only (tenant management) ...
AsyncHttpHandler operator_only(const std::shared_ptr<Ctx>& ctx, AsyncHandler h);
// ... and any authenticated principal, operators included (GET /api/v1/me, GET /api/v1/audit).
AsyncHttpHandler anyone(const std::shared_ptr<Ctx>& ctx, Handler h, On on = On::io);
// The 403 an operator gets on a tenant route.
HttpResponse operator_forbidden();
// No authentication: `h` on a worker (body limit checked first).
AsyncHttpHandler unauthed_worker(const std::shared_ptr<Ctx>& ctx, HttpHandler h);
// Body limit only (no authentication).
bool body_too_big(const Ctx& ctx, const HttpRequest& req);

// Runs `job` on the workers (inline when there are none). false: the queue is full and `respond`
// got a 503 overloaded problem (Retry-After: 1).
bool offload(const base::Offload& o, std::function<void()> job, const Respond& respond);
bool offload(const Ctx& ctx, std::function<void()> job, const Respond& respond);
// Runs `fn` on the io thread (inline when there are no workers).
void on_io(const base::Offload& o, std::function<void()> fn);
void on_io(const Ctx& ctx, std::function<void()> fn);
// 401/429/503 problem for a failed authentication.
HttpResponse auth_problem(const AuthFailure& f);

// Parses the body as a JSON object (400 invalid-json / bad-request otherwise).
std::expected<boost::json::object, HttpResponse> body_object(const HttpRequest& req);

// The path after `prefix` (e.g. "/api/v1/calls/") up to the next '/', percent-decoded; `rest`
// gets whatever follows that '/' ("" if none).
std::string path_segment(const HttpRequest& req, std::string_view prefix, std::string* rest = nullptr);

struct Query {
  std::vector<std::pair<std::string, std::string>> kv;
  std::optional<std::string> get(std::string_view k) const;
};
Query query_of(const HttpRequest& req);
// Query values: a whole decimal integer; a time as RFC 3339 or epoch seconds. nullopt otherwise.
std::optional<std::int64_t> query_int(std::string_view s);
std::optional<base::Timestamp> query_time(std::string_view s);

// Optional string field: absent -> nullopt; wrong type -> error text.
std::expected<std::optional<std::string>, std::string> opt_string(const boost::json::object& o,
                                                                  std::string_view key, std::size_t max_len);

void add_identity_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_ops_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_settings_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);  // rest_settings.cpp
void add_user_settings_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);  // rest_user_settings.cpp
void add_tenant_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);    // rest_tenants.cpp
void add_device_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);    // rest_devices.cpp
// A request under /api/v1/me/devices or /api/v1/users/{user}/devices for `user` of p.tenant (the
// caller checked who may ask): `rest` is "" (the collection), "active" or a device name. Worker.
HttpResponse devices_request(Ctx& ctx, const HttpRequest& req, const Principal& p, const std::string& user,
                             const std::string& rest);

boost::json::object me_json(const Principal& p);

// The audit log (docs/api.md "Audit"; nothing without one). A record of what `p` did through `req`:
// outcome "ok" for a 2xx `answer`, else "failed" with the problem's detail as details.reason.
// `details` must never hold a secret (a token is named by its id). Any thread; never blocks.
void audit(const Ctx& ctx, const Principal& p, const HttpRequest& req, std::string action, std::string target,
           const HttpResponse& answer, boost::json::object details = {});
// A record with every field given (sign-ins, where the principal is not known yet).
void audit(const Ctx& ctx, ports::AuditRecord record);

}  // namespace callbridge::api::rest
