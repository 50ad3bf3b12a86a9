// The webhooks capability's REST resources (docs/api.md "Webhooks"): a tenant's admins list,
// create (the secret is in that answer only), show and delete hooks, read a hook's delivery log and
// send it a test ping. Operators and other roles get 403. Handlers run on REST workers (webhooks.db).
#include "capabilities/webhooks/webhooks_routes.hpp"

#include "api/rest_common.hpp"
#include "capabilities/webhooks/webhooks_service.hpp"

namespace callbridge::capabilities::webhooks {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 1000;

HttpResponse unavailable() { return problem(503, "unavailable", "webhooks are not available (no webhook store)"); }
HttpResponse not_found(const std::string& id) {
  return problem(404, "not-found", "no webhook \"" + id.substr(0, 40) + "\" in this tenant");
}
HttpResponse no_store(HttpResponse r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

void register_webhooks(CapabilityContext& cap) {
  HttpServer& s = cap.server;
  const std::shared_ptr<Ctx>& ctx = cap.rest;

  s.route("GET", "/api/v1/webhooks", admin_only(ctx, [ctx](const HttpRequest&, const Principal& p) {
            if (!ctx->deps.webhooks) return unavailable();
            auto hooks = ctx->deps.webhooks->list(p.tenant);
            if (!hooks) return from_error(hooks.error());
            json::array a;
            for (const auto& h : *hooks) a.push_back(hook_json(h));
            return no_store(reply(200, json::object{{"webhooks", std::move(a)}}));
          }, On::worker));

  s.route("POST", "/api/v1/webhooks", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.webhooks || !ctx->deps.webhook_engine) return unavailable();
            auto body = body_object(req);
            if (!body) return body.error();
            auto hook = new_hook(*body, p.tenant, *ctx->deps.webhook_engine);
            HttpResponse answer;
            std::string target = "webhook";
            if (!hook) {
              answer = problem(400, "bad-request", hook.error());
            } else {
              hook->created_at = ctx->deps.clock->now();
              hook->created_by = p.user;
              target = "webhook:" + hook->id;
              if (auto st = ctx->deps.webhooks->add(*hook); !st) {
                answer = st.error().code() == base::Errc::conflict ? problem(409, "conflict", st.error().message())
                                                                   : from_error(st.error());
              } else {
                auto o = hook_json(*hook);
                o["secret"] = hook->secret;  // shown this once; never again
                answer = no_store(reply(201, o));
                answer.headers.emplace_back("Location", "/api/v1/webhooks/" + hook->id);
              }
            }
            json::object details;
            if (hook) details = {{"url", hook->url}};
            audit(*ctx, p, req, "webhook.create", target, answer, std::move(details));
            return answer;
          }, On::worker));

  s.route("GET", "/api/v1/webhooks/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.webhooks) return unavailable();
            std::string rest;
            const std::string id = path_segment(req, "/api/v1/webhooks/", &rest);
            auto h = ctx->deps.webhooks->get(p.tenant, id);
            if (!h) return from_error(h.error());
            if (!*h) return not_found(id);
            if (rest.empty()) return no_store(reply(200, hook_json(**h)));
            if (rest != "deliveries") return problem(404, "not-found", "no such resource");
            std::size_t limit = kDefaultLimit;
            if (auto l = query_of(req).get("limit")) {
              auto n = query_int(*l);
              if (!n || *n < 1 || static_cast<std::size_t>(*n) > kMaxLimit)
                return problem(400, "bad-request", "limit: 1.." + std::to_string(kMaxLimit));
              limit = static_cast<std::size_t>(*n);
            }
            auto log = ctx->deps.webhooks->deliveries(p.tenant, id, limit);
            if (!log) return from_error(log.error());
            json::array a;
            for (const auto& d : *log) a.push_back(delivery_json(d));
            return no_store(reply(200, json::object{{"deliveries", std::move(a)}}));
          }, On::worker));

  s.route("POST", "/api/v1/webhooks/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.webhooks || !ctx->deps.webhook_engine) return unavailable();
            std::string rest;
            const std::string id = path_segment(req, "/api/v1/webhooks/", &rest);
            if (rest != "ping") return problem(404, "not-found", "no such resource");
            if (!ctx->deps.webhook_engine->ping(p.tenant, id)) return not_found(id);
            return reply(202, json::object{{"queued", true}});
          }, On::worker));

  s.route("DELETE", "/api/v1/webhooks/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.webhooks) return unavailable();
            std::string rest;
            const std::string id = path_segment(req, "/api/v1/webhooks/", &rest);
            HttpResponse answer;
            if (!rest.empty()) {
              answer = problem(404, "not-found", "no such resource");
            } else if (auto r = ctx->deps.webhooks->remove(p.tenant, id); !r) {
              answer = from_error(r.error());
            } else if (!*r) {
              answer = not_found(id);
            } else {
              answer.status = 204;
            }
            audit(*ctx, p, req, "webhook.delete", "webhook:" + id.substr(0, 40), answer);
            return answer;
          }, On::worker));
}

}  // namespace callbridge::capabilities::webhooks
