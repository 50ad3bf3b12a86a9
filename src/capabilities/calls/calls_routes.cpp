// The calls capability's REST resources. Reads: GET /api/v1/calls and /api/v1/calls/{id}, the
// calls of the tenant's CallModels the caller may see (core/visibility.hpp: may_see(call)), read on
// the io thread (the models' owner). Commands: command_routes over the tenant runtime's call
// control and command log (api::RestDeps::call_control, command_log), with the API's
// authentication, body limit, journal store, workers and audit log (every command is recorded).
#include "capabilities/calls/calls_routes.hpp"

#include "api/rest_common.hpp"
#include "capabilities/calls/calls_service.hpp"
#include "capabilities/calls/command_routes.hpp"

namespace callbridge::capabilities::calls {

using namespace api;
using namespace api::rest;

namespace {

void add_read_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/calls", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            CallList list(p.viewer(), ctx->deps.remote_info);
            if (ctx->deps.for_each_model)
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) { list.add(m); });
            return HttpResponse::json(200, list.json());
          }));
  s.route("GET", "/api/v1/calls/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto id = path_segment(req, "/api/v1/calls/", &rest);
            if (!rest.empty() || id.empty()) return problem(404, "not-found", "no resource at " + req.path);
            const core::Viewer v = p.viewer();
            std::optional<std::string> found;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                if (!found) found = visible_call(v, m, id, ctx->deps.remote_info);
              });
            }
            if (!found) return problem(404, "not-found", "no such call, or not visible to you");
            return HttpResponse::json(200, std::move(*found));
          }));
}

}  // namespace

void register_calls(CapabilityContext& c) {
  const std::shared_ptr<Ctx>& ctx = c.rest;
  add_read_routes(c.server, ctx);
  const RestDeps& d = ctx->deps;
  add_command_routes(c.server, CommandRouteDeps{.auth = d.auth,
                                                .service_for = d.call_control,
                                                .max_body_bytes = d.max_body_bytes,
                                                .journal = d.journal,
                                                .offload = d.offload,
                                                .log_for = d.command_log,
                                                .audit = d.audit,
                                                .clock = d.clock,
                                                .tenant_users = d.identity ? std::function([id = d.identity](const base::TenantId& t) {
                                                  return id->list_users(t);
                                                }) : nullptr});
}

}  // namespace callbridge::capabilities::calls
