// The calls capability's REST resources. Reads: GET /api/v1/calls and /api/v1/calls/{id}, the
// calls of the tenant's CallModels the caller may see (core/visibility.hpp: may_see(call)), read on
// the io thread (the models' owner). Commands: command_routes over the tenant runtime's call
// control and command log (api::RestDeps::call_control, command_log), with the API's
// authentication, body limit, journal store, workers and audit log (every command is recorded).
#include "capabilities/calls/calls_routes.hpp"

#include "api/rest_common.hpp"
#include "base/device_name.hpp"
#include "capabilities/calls/calls_service.hpp"
#include "base/json_text.hpp"
#include "core/call_trace.hpp"
#include "core/event_hub.hpp"
#include "core/chosen_contacts.hpp"
#include "core/visibility.hpp"
#include "capabilities/calls/command_routes.hpp"

namespace callbridge::capabilities::calls {

using namespace api;
using namespace api::rest;

namespace {

// GET /api/v1/calls/{id}/trace: the explain trace of a live call or one that ended within the
// retention window ([trace]), for the tenant's admins. Another tenant's call, an unknown call and
// an expired trace are all 404.
HttpResponse trace_of(const Ctx& ctx, const Principal& p, const std::string& id) {
  if (!core::may_administer(p.viewer()))
    return problem(403, "forbidden", "call traces are for the tenant's admins");
  const core::CallTraceLog* log = ctx.deps.call_trace ? ctx.deps.call_trace(p.tenant) : nullptr;
  auto r = log ? log->find(id) : std::nullopt;
  if (!r)
    return problem(404, "not-found", "no trace of call " + id.substr(0, 120) +
                                         " (unknown, another tenant's, or older than the retention window)");
  return HttpResponse::json(200, core::trace_json(*r));
}

void add_read_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/calls", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            CallList list(p.viewer(), ctx->deps.remote_info);
            if (ctx->deps.for_each_model)
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) { list.add(m); });
            // Cluster mode: and the calls of the links other nodes own.
            if (ctx->deps.for_each_mirror_call)
              ctx->deps.for_each_mirror_call(
                  p.tenant, [&](std::string_view id, const std::vector<std::string>& devices, std::string_view json) {
                    list.add_mirrored(id, devices, json);
                  });
            return HttpResponse::json(200, list.json());
          }));
  s.route("GET", "/api/v1/calls/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto id = path_segment(req, "/api/v1/calls/", &rest);
            if (rest == "trace" && !id.empty()) return trace_of(*ctx, p, id);
            if (!rest.empty() || id.empty()) return problem(404, "not-found", "no resource at " + req.path);
            const core::Viewer v = p.viewer();
            std::optional<std::string> found;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                if (!found) found = visible_call(v, m, id, ctx->deps.remote_info);
              });
            }
            if (!found && ctx->deps.for_each_mirror_call) {  // a link another node owns
              ctx->deps.for_each_mirror_call(
                  p.tenant, [&](std::string_view cid, const std::vector<std::string>& devices, std::string_view json) {
                    if (!found && cid == id && mirror_visible(v, devices)) found = std::string(json);
                  });
            }
            if (!found) return problem(404, "not-found", "no such call, or not visible to you");
            return HttpResponse::json(200, std::move(*found));
          }));
  // GET /api/v1/parking (docs/parking.md): the calls parked on every PBX connection of the tenant,
  // for every user of the tenant (parking lots are shared: any phone may dial a space).
  s.route("GET", "/api/v1/parking", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            if (p.is_operator()) return operator_forbidden();
            core::CallControlService* svc = ctx->deps.call_control ? ctx->deps.call_control(p.tenant) : nullptr;
            std::string o = "{\"lot\":";
            base::append_json_string(o, svc ? svc->parking_lot() : std::string("default"));
            o += ",\"parked\":[";
            const auto now = ctx->deps.clock->now();
            bool first = true;
            auto list = [&](const model::ParkingState& st) {
              for (const auto& [key, c] : st.calls()) {  // by lot, then space
                if (!first) o += ',';
                first = false;
                o += core::parked_call_json(c, st.pbx(), p.tenant, now, ctx->deps.remote_info);
              }
            };
            if (ctx->deps.for_each_parking_state) ctx->deps.for_each_parking_state(p.tenant, list);
            else if (const model::ParkingState* st = svc ? svc->parking() : nullptr) list(*st);
            o += "]}";
            return HttpResponse::json(200, std::move(o));
          }));
}

// A contact field as the pop shows it: at most `max` bytes, no control characters (the choice is
// kept in tab-separated open-state rows, and shown in the journal as it is).
std::expected<std::string, std::string> contact_field(const boost::json::object& o, const char* key, std::size_t max,
                                                      bool required) {
  auto v = opt_string(o, key, max);
  if (!v) return std::unexpected("contact." + v.error());
  if (!*v || (*v)->empty()) {
    if (required) return std::unexpected(std::string("contact.") + key + ": required");
    return std::string();
  }
  for (unsigned char ch : **v)
    if (ch < 0x20 || ch == 0x7f) return std::unexpected(std::string("contact.") + key + ": control characters are not allowed");
  return **v;
}

// PUT /api/v1/calls/{id}/contact {"contact": {"id", "source", "name", "company"?}, "device"?}: the
// contact the user chose in the screen pop (several matched the caller) for their extension's part
// of the live call; its journal entry gets it when it is written (core::ChosenContacts, also after a
// callbridged restart). {"contact": null} takes the choice back (the pop's "choose another"). The
// call must be one the user is in (with `device`, that extension; else their first in the call):
// anything else is 404 like a call that does not exist.
void add_choice_route(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("PUT", "/api/v1/calls/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto id = path_segment(req, "/api/v1/calls/", &rest);
            if (rest != "contact" || id.empty()) return problem(404, "not-found", "no resource at " + req.path);
            auto body = body_object(req);
            if (!body) return body.error();
            for (const auto& kv : *body)
              if (kv.key() != "contact" && kv.key() != "device")
                return problem(400, "bad-request", "unknown field \"" + std::string(kv.key().substr(0, 40)) +
                                                        "\" (expected contact, device)");
            auto device = opt_string(*body, "device", 64);
            if (!device) return problem(400, "bad-request", device.error());
            if (*device && !base::is_device_name(**device))
              return problem(400, "bad-request", "device: not a device name: expected " + std::string(base::kDeviceNameRule));
            const auto* cv = body->if_contains("contact");
            if (!cv || !(cv->is_object() || cv->is_null()))
              return problem(400, "bad-request", "contact: expected {\"id\", \"source\", \"name\", \"company\"} or null");
            static const boost::json::object kNone;
            const auto& co = cv->is_object() ? cv->as_object() : kNone;
            const bool clear = cv->is_null();
            auto cid = contact_field(co, "id", 200, !clear);
            auto source = contact_field(co, "source", 64, !clear);
            auto name = contact_field(co, "name", 200, !clear);
            auto company = contact_field(co, "company", 200, false);
            for (auto* f : {&cid, &source, &name, &company})
              if (!*f) return problem(400, "bad-request", f->error());
            core::ChosenContacts* chosen = ctx->deps.chosen_contacts ? ctx->deps.chosen_contacts(p.tenant) : nullptr;
            if (!chosen) return problem(503, "unavailable", "no PBX link serves tenant " + p.tenant.str());
            // The user's own extension in the live call (invisible = nonexistent).
            const core::Viewer v = p.viewer();
            std::optional<std::string> party;
            if (ctx->deps.for_each_model) {
              ctx->deps.for_each_model(p.tenant, [&](const model::CallModel& m) {
                const model::Call* c = party ? nullptr : m.find_call(id);
                if (!c || !core::may_see(v, m, *c)) return;
                for (const auto& conn : c->connections) {
                  if (!core::may_act_from(v, conn.device) || (*device && conn.device != **device)) continue;
                  party = conn.device;
                  break;
                }
              });
            }
            if (!party) return problem(404, "not-found", "no such call of yours" + std::string(*device ? " at " + **device : ""));
            if (clear) {
              chosen->erase(id, *party);
              return reply(200, boost::json::object{{"call_id", id}, {"device", *party}, {"contact", nullptr}});
            }
            model::ContactRef ref{.id = *cid, .name = *name, .company = *company, .source = *source};
            chosen->choose(id, *party, ref, ctx->deps.clock->now());
            return reply(200, boost::json::object{{"call_id", id}, {"device", *party},
                                                  {"contact", boost::json::object{{"id", ref.id}, {"source", ref.source},
                                                                                  {"name", ref.name}, {"company", ref.company}}}});
          }));
}

}  // namespace

void register_calls(CapabilityContext& c) {
  const std::shared_ptr<Ctx>& ctx = c.rest;
  add_read_routes(c.server, ctx);
  add_choice_route(c.server, ctx);
  const RestDeps& d = ctx->deps;
  add_command_routes(c.server, CommandRouteDeps{.auth = d.auth,
                                                .service_for = d.call_control,
                                                .remote_for = d.remote_call_control,
                                                .max_body_bytes = d.max_body_bytes,
                                                .journal = d.journal,
                                                .offload = d.offload,
                                                .log_for = d.command_log,
                                                .audit = d.audit,
                                                .clock = d.clock,
                                                .tenant_users = d.identity ? std::function([id = d.identity](const base::TenantId& t) {
                                                  return id->list_users(t);
                                                }) : nullptr,
                                                .user_devices = d.identity ? std::function([id = d.identity](const base::TenantId& t, const std::string& u) {
                                                  return id->get_user_devices(t, u);
                                                }) : nullptr});
}

}  // namespace callbridge::capabilities::calls
