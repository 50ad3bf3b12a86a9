// REST: /api/v1/tenants (operator only). See docs/api.md "Tenants". The work (validation,
// storage, starting and stopping tenant runtimes) is the TenantAdmin's; this file authenticates,
// routes, limits, maps errors and records every create, change and remove in the audit log
// (docs/security.md "Audit log": the operator's records, tenant "_operator", naming the tenant).
#include "api/rest_common.hpp"
#include "api/tenant_admin.hpp"

namespace callbridge::api::rest {

namespace {

using Answer = std::function<void(base::Result<std::string>)>;

// The TenantAdmin's answer as a response with `status` (problem+json for errors).
Answer answer(Respond respond, int status, std::string location = {}) {
  return [respond = std::move(respond), status, location = std::move(location)](base::Result<std::string> r) {
    if (!r) return respond(from_error(r.error()));
    auto resp = HttpResponse::json(status, *r);
    if (!location.empty()) resp.headers.emplace_back("Location", location);
    respond(std::move(resp));
  };
}

// What the audit log keeps of a tenant spec: its top-level keys (which sections were sent), never
// a value (a spec holds PBX secrets, LDAP passwords, HTTP headers). At most 32.
boost::json::array spec_keys(const HttpRequest& req) {
  boost::json::array keys;
  auto body = body_object(req);
  if (!body) return keys;
  for (const auto& kv : *body) {
    if (keys.size() == 32) break;
    keys.emplace_back(kv.key());
  }
  return keys;
}

// A refusal's detail without the value it quotes: the spec readers name the key and what they got
// ("pbx[0].secret: expected a string, got 12345"), and what they got may be a secret.
std::string reason_without_value(std::string_view detail) {
  if (auto got = detail.find(", got "); got != std::string_view::npos) return std::string(detail.substr(0, got));
  return std::string(detail);
}

// Wraps `respond` so that its answer is recorded: `action` ("tenant.create", "tenant.change",
// "tenant.remove") on "tenant:<id>", in the operator's records (p.tenant: operators belong to
// "_operator"), with details.tenant = id; a refusal with its status and reason.
Respond audited(const std::shared_ptr<Ctx>& ctx, const Principal& p, const HttpRequest& req, std::string action,
                std::string id, boost::json::object details, Respond respond) {
  details["tenant"] = id;
  return Respond(
      [ctx, tenant = p.tenant, actor = p.user, source = req.remote, action = std::move(action), id = std::move(id),
       details = std::move(details), respond](HttpResponse r) mutable {
        const bool ok = r.status >= 200 && r.status < 300;
        if (!ok) {
          std::error_code ec;
          auto v = boost::json::parse(r.body, ec);
          const boost::json::value* d = !ec && v.is_object() ? v.as_object().if_contains("detail") : nullptr;
          details["status"] = r.status;
          details["reason"] = d && d->is_string() ? reason_without_value(d->as_string()) : std::string();
        }
        ports::AuditRecord rec{.at = ctx->deps.clock->now(), .tenant = tenant};
        rec.actor = actor;
        rec.source = source;
        rec.action = action;
        rec.target = "tenant:" + id;
        rec.outcome = ok ? "ok" : "failed";
        rec.details_json = boost::json::serialize(details);
        audit(*ctx, std::move(rec));
        respond(std::move(r));
      },
      problem(500, "internal", "the tenant change was dropped unanswered"));
}

// The id of /api/v1/tenants/{id}; "" when the path has more segments.
std::string tenant_of(const HttpRequest& req) {
  std::string rest;
  auto id = path_segment(req, "/api/v1/tenants/", &rest);
  return rest.empty() ? id : std::string();
}

}  // namespace

void add_tenant_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  TenantAdmin* admin = ctx->deps.tenants;
  auto unavailable = [](Respond respond) {
    respond(problem(503, "unavailable", "tenant management is not available in this process"));
  };
  s.route("GET", "/api/v1/tenants", operator_only(ctx, [admin, unavailable](const HttpRequest&, const Principal&, Respond respond) {
            if (!admin) return unavailable(std::move(respond));
            admin->list(answer(std::move(respond), 200));
          }));
  s.route("POST", "/api/v1/tenants", operator_only(ctx, [ctx, admin, unavailable](const HttpRequest& req, const Principal& p, Respond respond) {
            // The id is in the body; the spec reader checks it. Location needs it now.
            auto body = body_object(req);
            std::expected<std::optional<std::string>, std::string> id = std::optional<std::string>();
            if (body) id = opt_string(*body, "id", 64);
            respond = audited(ctx, p, req, "tenant.create", id && *id ? **id : std::string(),
                              {{"keys", spec_keys(req)}}, std::move(respond));
            if (!admin) return unavailable(std::move(respond));
            if (!body) return respond(body.error());
            if (!id) return respond(problem(400, "bad-request", id.error()));
            if (!*id) return respond(problem(400, "bad-request", "id: required (a tenant id: letters, digits, '-' and '_')"));
            std::string location = "/api/v1/tenants/" + **id;
            admin->put(**id, req.body, true, p.user, answer(std::move(respond), 201, location));
          }));
  s.route("GET", "/api/v1/tenants/*", operator_only(ctx, [admin, unavailable](const HttpRequest& req, const Principal&, Respond respond) {
            if (!admin) return unavailable(std::move(respond));
            auto id = tenant_of(req);
            if (id.empty()) return respond(problem(404, "not-found", "no resource at " + req.path));
            admin->get(id, answer(std::move(respond), 200));
          }));
  s.route("PUT", "/api/v1/tenants/*", operator_only(ctx, [ctx, admin, unavailable](const HttpRequest& req, const Principal& p, Respond respond) {
            auto id = tenant_of(req);
            respond = audited(ctx, p, req, "tenant.change", id, {{"keys", spec_keys(req)}}, std::move(respond));
            if (!admin) return unavailable(std::move(respond));
            if (id.empty()) return respond(problem(404, "not-found", "no resource at " + req.path));
            admin->put(id, req.body, false, p.user, answer(std::move(respond), 200));
          }));
  s.route("DELETE", "/api/v1/tenants/*", operator_only(ctx, [ctx, admin, unavailable](const HttpRequest& req, const Principal& p, Respond respond) {
            auto id = tenant_of(req);
            respond = audited(ctx, p, req, "tenant.remove", id, {}, std::move(respond));
            if (!admin) return unavailable(std::move(respond));
            if (id.empty()) return respond(problem(404, "not-found", "no resource at " + req.path));
            admin->remove(id, [respond](base::Status st) {
              if (!st) return respond(from_error(st.error()));
              HttpResponse r;
              r.status = 204;
              respond(std::move(r));
            });
          }));
}

}  // namespace callbridge::api::rest
