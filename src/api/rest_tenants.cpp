// REST: /api/v1/tenants (operator only). See docs/api.md "Tenants". The work (validation,
// storage, starting and stopping tenant runtimes) is the TenantAdmin's; this file authenticates,
// routes, limits and maps errors.
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
  s.route("POST", "/api/v1/tenants", operator_only(ctx, [admin, unavailable](const HttpRequest& req, const Principal& p, Respond respond) {
            if (!admin) return unavailable(std::move(respond));
            // The id is in the body; the spec reader checks it. Location needs it now.
            auto body = body_object(req);
            if (!body) return respond(body.error());
            auto id = opt_string(*body, "id", 64);
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
  s.route("PUT", "/api/v1/tenants/*", operator_only(ctx, [admin, unavailable](const HttpRequest& req, const Principal& p, Respond respond) {
            if (!admin) return unavailable(std::move(respond));
            auto id = tenant_of(req);
            if (id.empty()) return respond(problem(404, "not-found", "no resource at " + req.path));
            admin->put(id, req.body, false, p.user, answer(std::move(respond), 200));
          }));
  s.route("DELETE", "/api/v1/tenants/*", operator_only(ctx, [admin, unavailable](const HttpRequest& req, const Principal&, Respond respond) {
            if (!admin) return unavailable(std::move(respond));
            auto id = tenant_of(req);
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
