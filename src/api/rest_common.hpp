// Shared helpers of the REST handlers (internal to src/api/rest_*.cpp): problem+json with stable
// types, authentication + body-limit wrapper, JSON body parsing with limits, query access.
// io thread.
#pragma once

#include <boost/json.hpp>

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/rest_api.hpp"

namespace callbridge::api::rest {

// {"type": "/problems/<type>", "title", "status", "detail"}.
HttpResponse problem(int status, std::string_view type, std::string_view detail);
HttpResponse from_error(const base::Error& e);  // maps Errc to a status and type
HttpResponse reply(int status, const boost::json::value& v);

using Handler = std::function<HttpResponse(const HttpRequest&, const Principal&)>;

struct Ctx {
  RestDeps deps;
};

// Body limit -> 413, authentication -> 401/429, then `h`.
HttpHandler authed(const std::shared_ptr<Ctx>& ctx, Handler h);
// Admin only (403 otherwise).
HttpHandler admin_only(const std::shared_ptr<Ctx>& ctx, Handler h);
// Body limit only (no authentication).
bool body_too_big(const Ctx& ctx, const HttpRequest& req);

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

// Optional string field: absent -> nullopt; wrong type -> error text.
std::expected<std::optional<std::string>, std::string> opt_string(const boost::json::object& o,
                                                                  std::string_view key, std::size_t max_len);

void add_identity_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_call_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_journal_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_contact_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_ops_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);
void add_settings_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx);  // rest_settings.cpp

boost::json::object me_json(const Principal& p);

}  // namespace callbridge::api::rest
