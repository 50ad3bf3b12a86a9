// REST: GET /api/v1/diagnostics and GET /metrics (Prometheus text): a tenant admin gets their
// tenant's, the operator (and the tokenless scrape of a peer in RestDeps::metrics_allow) the whole
// daemon's;
// GET /api/v1/openapi.json, and problem+json 404s for unknown /api/v1 paths (after authentication,
// so unauthenticated clients cannot probe the route table).
#include <algorithm>
#include <map>

#include "api/rest_common.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {

json::object auth_json(const AuthStats& s) {
  return {{"ok", s.ok},
          {"failed", s.failed},
          {"rate_limited", s.rate_limited},
          {"secret_checks", s.secret_checks},
          {"argon2_verifications", s.argon2_verifications},
          {"hashes_upgraded", s.hashes_upgraded},
          {"cache_hits", s.cache_hits},
          {"offloaded", s.offloaded},
          {"coalesced", s.coalesced},
          {"busy", s.busy},
          {"revocation_checks", s.revocation_checks},
          {"rechecked", s.rechecked}};
}

// `tenant`: a tenant admin's view (that tenant only); nullopt: the daemon's (operator).
json::object diagnostics(const Ctx& ctx, const std::optional<base::TenantId>& tenant) {
  json::object o;
  if (ctx.deps.diagnostics_json) {
    std::error_code ec;
    auto v = json::parse(ctx.deps.diagnostics_json(tenant), ec);
    if (!ec && v.is_object()) o = std::move(v.as_object());
  }
  if (!tenant) {  // authentication and the REST workers serve every tenant
    o["auth"] = auth_json(ctx.deps.auth->stats());
    if (ctx.deps.offload) {
      const auto w = ctx.deps.offload.pool->stats();
      o["workers"] = json::object{{"queued", w.queued},     {"running", w.running},   {"max_queued", w.max_queued},
                                  {"completed", w.completed}, {"rejected", w.rejected}};
    }
  }
  if (!o.contains("clients")) o["clients"] = json::array();
  return o;
}

// Whose diagnostics a principal gets: the operator the daemon's, an admin their tenant's.
std::optional<std::optional<base::TenantId>> view_of(const Principal& p) {
  if (p.is_operator()) return std::optional<base::TenantId>();
  if (p.is_admin()) return std::optional<base::TenantId>(p.tenant);
  return std::nullopt;
}

std::string metric_name(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return s;
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// name -> samples ("{labels} value")
using Samples = std::map<std::string, std::vector<std::string>>;

void flatten(const json::value& v, const std::string& name, const std::string& labels, Samples& out) {
  auto add = [&](double d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    out[name].push_back((labels.empty() ? "" : "{" + labels + "}") + " " + buf);
  };
  switch (v.kind()) {
    case json::kind::int64: add(static_cast<double>(v.get_int64())); break;
    case json::kind::uint64: add(static_cast<double>(v.get_uint64())); break;
    case json::kind::double_: add(v.get_double()); break;
    case json::kind::bool_: add(v.get_bool() ? 1 : 0); break;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        flatten(kv.value(), name + "_" + metric_name(std::string(kv.key())), labels, out);
      break;
    case json::kind::array:
      if (name == "callbridge_clients") break;  // one row per connection: not a metric
      for (const auto& e : v.get_array()) {
        if (!e.is_object()) continue;
        const auto& eo = e.get_object();
        const json::value* key = eo.if_contains("name");
        if (!key) key = eo.if_contains("user");
        if (!key) key = eo.if_contains("id");  // tenants[]
        if (!key || !key->is_string()) continue;
        std::string l = labels + (labels.empty() ? "" : ",") + "name=\"" + label_value(key->get_string()) + "\"";
        // Directory sources of one tenant each: the same name ("store") in several tenants stays
        // several series.
        if (const auto* ts = eo.if_contains("tenants"); ts && ts->is_array() && ts->get_array().size() == 1 &&
                                                        ts->get_array()[0].is_string())
          l += ",tenant=\"" + label_value(ts->get_array()[0].get_string()) + "\"";
        flatten(e, name, l, out);
      }
      break;
    default: break;
  }
}

bool allowed_scraper(const Ctx& ctx, const std::string& peer) {
  return std::any_of(ctx.deps.metrics_allow.begin(), ctx.deps.metrics_allow.end(),
                     [&](const base::Cidr& c) { return c.contains(peer); });
}

}  // namespace

void add_ops_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  // Tenant admins (their tenant) and the operator (the daemon).
  s.route("GET", "/api/v1/diagnostics", anyone(ctx, [ctx](const HttpRequest&, const Principal& p) {
            auto view = view_of(p);
            if (!view) return problem(403, "forbidden", "this needs the admin role");
            return reply(200, diagnostics(*ctx, *view));
          }));

  // Diagnostics as Prometheus text, in the same views; the tokenless scrape of an allowed peer
  // gets the daemon's (no principal needed, so none is invented for it).
  auto metrics_text = [ctx](const std::optional<base::TenantId>& tenant) {
    Samples samples;
    flatten(diagnostics(*ctx, tenant), "callbridge", "", samples);
    std::string out;
    for (const auto& [name, lines] : samples) {
      out += "# TYPE " + name + " gauge\n";
      for (const auto& l : lines) out += name + l + "\n";
    }
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = std::move(out);
    return r;
  };
  auto token_metrics = anyone(ctx, [metrics_text](const HttpRequest&, const Principal& p) {
    auto view = view_of(p);
    if (!view) return problem(403, "forbidden", "this needs the admin role");
    return metrics_text(*view);
  });
  // Tokenless only from a configured scraper address (issue 12: any loopback peer used to be let
  // in, which a local reverse proxy or DNS rebinding turns into anyone).
  s.route("GET", "/metrics", AsyncHttpHandler([ctx, metrics_text, token_metrics](HttpRequest req, Respond respond) {
    if (req.header("authorization").empty() && allowed_scraper(*ctx, req.remote))
      return respond(metrics_text(std::nullopt));
    token_metrics(std::move(req), std::move(respond));
  }));

  s.route("GET", "/api/v1/openapi.json", [](const HttpRequest&) {
    auto r = HttpResponse::json(200, std::string(openapi_json()));
    return r;
  });

  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    s.route(m, "/api/v1/*", authed(ctx, [](const HttpRequest& req, const Principal&) {
              return problem(404, "not-found", "no resource at " + req.path);
            }));
  }
}

}  // namespace callbridge::api::rest
