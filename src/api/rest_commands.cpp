#include "api/rest_commands.hpp"

#include <memory>
#include <optional>

#include "api/rest_common.hpp"

namespace callbridge::api {

namespace json = boost::json;
using rest::problem;

namespace {

HttpResponse failure(const core::CommandFailure& f) {
  return problem(f.http_status(), f.problem_type(), f.detail);
}

// The service may answer at once (checks, link down) or later (after the PBX's response). The
// HTTP handler is synchronous, so a command whose PBX answer is still pending is reported as
// 202 "status": "submitted" (sent to the PBX); "accepted" when the PBX already confirmed it. A
// later refusal by the PBX shows as no change in the event stream (see docs/call-control.md).
HttpResponse respond(const std::shared_ptr<std::optional<core::CommandOutcome>>& out,
                     std::optional<std::string> call_id, std::optional<std::string> request_id) {
  if (*out && !**out) return failure((**out).error());
  json::object o;
  o["call_id"] = call_id ? json::value(*call_id) : json::value(nullptr);
  if (request_id) o["request_id"] = *request_id;
  o["status"] = *out ? "accepted" : "submitted";
  return rest::reply(202, o);
}

core::CommandCaller caller_of(const Principal& p) { return {p.tenant, p.devices}; }

struct Routes {
  CommandRouteDeps deps;

  // Body limit -> 413, authentication -> 401/429, empty body = {}.
  template <typename F>
  HttpResponse guarded(const HttpRequest& req, F&& f) {
    if (req.body.size() > deps.max_body_bytes)
      return problem(413, "payload-too-large", "request body exceeds " + std::to_string(deps.max_body_bytes) + " bytes");
    auto p = deps.auth->resolve(req, false);
    if (!p) {
      auto r = problem(p.error().status, p.error().status == 429 ? "too-many-requests" : "unauthorized",
                       p.error().detail);
      if (p.error().status == 429) r.headers.emplace_back("Retry-After", std::to_string(p.error().retry_after_s));
      else r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    json::object body;
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto b = rest::body_object(req);
      if (!b) return b.error();
      body = std::move(*b);
    }
    core::CallControlService* svc = deps.service_for ? deps.service_for(p->tenant) : nullptr;
    if (!svc) return problem(503, "pbx-unavailable", "no PBX link serves tenant " + p->tenant);
    return f(*p, body, *svc);
  }

  HttpResponse make_call(const HttpRequest& req) {
    return guarded(req, [&](const Principal& p, const json::object& body, core::CallControlService& svc) {
      auto to = rest::opt_string(body, "to", 256);
      if (!to) return problem(400, "bad-request", to.error());
      if (!*to) return problem(400, "bad-request", "\"to\" is required");
      auto from = rest::opt_string(body, "from", 64);
      if (!from) return problem(400, "bad-request", from.error());
      auto out = std::make_shared<std::optional<core::CommandOutcome>>();
      std::string rid = svc.make_call(caller_of(p), **to, *from, [out](core::CommandOutcome o) { *out = std::move(o); });
      return respond(out, std::nullopt, rid);
    });
  }

  // POST /api/v1/journal/{id}/callback: the entry must be in the caller's tenant and (for users)
  // on one of the caller's devices; supervisors/admins may call back from any party's device.
  HttpResponse callback(const HttpRequest& req) {
    std::string rest;
    std::string seg = rest::path_segment(req, "/api/v1/journal/", &rest);
    std::int64_t id = 0;
    const bool numeric = !seg.empty() && seg.size() <= 18 &&
                         seg.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) id = std::stoll(seg);
    if (rest != "callback" || !numeric || id < 1) return problem(404, "not-found", "no resource at " + req.path);
    return guarded(req, [&](const Principal& p, const json::object&, core::CallControlService& svc) {
      std::optional<ports::StoredEntry> found;
      ports::JournalQuery q;
      q.tenant = p.tenant;
      q.before_id = id + 1;
      q.limit = 1;
      auto probe = [&](std::optional<std::string> party) -> base::Status {
        q.party = std::move(party);
        auto r = deps.journal->query(q);
        if (!r) return base::fail(r.error());
        if (!r->empty() && r->front().id == id) found = r->front();
        return {};
      };
      if (p.sees_whole_tenant()) {
        if (auto st = probe(std::nullopt); !st) return rest::from_error(st.error());
      } else {
        for (const auto& d : p.devices) {
          if (auto st = probe(d); !st) return rest::from_error(st.error());
          if (found) break;
        }
      }
      if (!found) return problem(404, "not-found", "no journal entry " + std::to_string(id));
      const auto& e = found->entry;
      if (!e.remote || e.remote->empty())
        return problem(409, "no-callback-number", "the remote number of journal entry " + std::to_string(id) +
                                                      " was withheld");
      core::CommandCaller caller = caller_of(p);
      if (p.sees_whole_tenant() && !p.owns_device(e.party)) caller.devices = {e.party};
      auto out = std::make_shared<std::optional<core::CommandOutcome>>();
      std::string rid = svc.make_call(caller, *e.remote, e.party, [out](core::CommandOutcome o) { *out = std::move(o); });
      return respond(out, std::nullopt, rid);
    });
  }

  HttpResponse command(const HttpRequest& req) {
    std::string verb;
    std::string id = rest::path_segment(req, "/api/v1/calls/", &verb);
    auto cmd = core::parse_call_command(verb);
    if (id.empty() || !cmd) return problem(404, "not-found", "no resource at " + req.path);
    return guarded(req, [&](const Principal& p, const json::object& body, core::CallControlService& svc) {
      auto device = rest::opt_string(body, "device", 64);
      if (!device) return problem(400, "bad-request", device.error());
      auto to = rest::opt_string(body, "to", 256);
      if (!to) return problem(400, "bad-request", to.error());
      auto out = std::make_shared<std::optional<core::CommandOutcome>>();
      svc.execute(caller_of(p), *cmd, id, *device, *to, [out](core::CommandOutcome o) { *out = std::move(o); });
      return respond(out, id, std::nullopt);
    });
  }
};

}  // namespace

void add_command_routes(HttpServer& server, CommandRouteDeps deps) {
  auto routes = std::make_shared<Routes>(Routes{std::move(deps)});
  server.route("POST", "/api/v1/calls", [routes](const HttpRequest& req) { return routes->make_call(req); });
  server.route("POST", "/api/v1/calls/*", [routes](const HttpRequest& req) { return routes->command(req); });
  if (routes->deps.journal)
    server.route("POST", "/api/v1/journal/*", [routes](const HttpRequest& req) { return routes->callback(req); });
}

}  // namespace callbridge::api
