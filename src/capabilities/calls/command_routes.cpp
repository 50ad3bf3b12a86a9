// The calls capability's call control routes (command_routes.hpp): parse, hand to the tenant's
// core::CallControlService, map its outcome to 202 / problem+json, record the command in the
// tenant's core::CommandLog.
#include "capabilities/calls/command_routes.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "api/rest_common.hpp"
#include "base/device_name.hpp"
#include "capabilities/calls/calls_service.hpp"
#include "core/call_commands.hpp"
#include "capabilities/calls/command_audit.hpp"

namespace callbridge::capabilities::calls {

namespace json = boost::json;
using namespace api;
using api::rest::problem;

namespace {

// core::CommandFailure in HTTP terms (docs/api.md problem types); core knows no status codes.
int http_status(core::CommandFailure::Kind k) {
  using K = core::CommandFailure::Kind;
  switch (k) {
    case K::bad_request:
    case K::invalid_number: return 400;
    case K::forbidden: return 403;
    case K::not_found: return 404;
    case K::action_not_allowed:
    case K::conflict:
    case K::no_trunk_capacity: return 409;
    case K::pbx_unavailable: return 503;
    case K::timeout: return 504;
    case K::internal: return 500;
  }
  return 500;
}

std::string_view problem_type(core::CommandFailure::Kind k) {
  using K = core::CommandFailure::Kind;
  switch (k) {
    case K::bad_request: return "bad-request";
    case K::invalid_number: return "invalid-number";
    case K::forbidden: return "forbidden";
    case K::not_found: return "not-found";
    case K::action_not_allowed: return "action-not-allowed";
    case K::conflict: return "conflict";
    case K::pbx_unavailable: return "pbx-unavailable";
    case K::timeout: return "pbx-unavailable";  // the PBX did not answer: same remedy
    case K::no_trunk_capacity: return "no-trunk-capacity";
    case K::internal: return "internal";
  }
  return "internal";
}

// The problem of a refused command. `detail` is shown to users as it is (docs/api.md "Calls and
// call control"): the service's reasons are written for them; what the PBX said (Asterisk's
// "Hangup: No such channel") gets a sentence in front that says what it means for the user.
HttpResponse failure(const core::CommandFailure& f) {
  using K = core::CommandFailure::Kind;
  std::string detail = f.detail;
  if (f.kind == K::conflict)
    detail = "The phone system refused this; the call may have changed meanwhile (PBX: " + f.detail + ").";
  else if (f.kind == K::timeout)
    detail = "The phone system did not answer in time; try again (" + f.detail + ").";
  else if (f.kind == K::internal)
    detail = "Something went wrong on the server; try again (" + f.detail + ").";
  else if (detail.empty())
    detail = "The command was refused.";
  return problem(http_status(f.kind), problem_type(f.kind), detail);
}

// One command on its way: the service's callbacks run either inside the handler (checks, link
// down, a PBX that already answered) — then `early` keeps the outcome for the HTTP answer — or
// later, once the 202 named a command, which they then finish.
struct Tracking {
  Tracking(base::TenantId t, std::shared_ptr<CommandAuditNote> n, CommandAudit a)
      : tenant(t), note(std::move(n)), audit(a) {}
  std::weak_ptr<core::CommandLog> log;  // the tenant's; gone with its runtime
  base::TenantId tenant;
  std::string id;  // set once the 202 created the record
  std::optional<core::CommandOutcome> early;
  // make_call and pickup: the request's acceptance is not the end; the PBX's final word follows
  // (OriginateResponse; for a pickup also whether PickupChan found the call still ringing).
  bool awaits_outcome = false;
  std::shared_ptr<CommandAuditNote> note;  // the audit log's view of the request
  CommandAudit audit;
  bool audited = false;  // the final word is recorded once (awaits_outcome may hear two)

  void later(core::CommandOutcome o, bool final) {
    if (!o || final) {
      if (!audited) audit.settled(*note, o ? core::CommandState::done : core::CommandState::failed,
                                  o ? std::string_view() : std::string_view(o.error().detail),
                                  o ? o->call_id : std::nullopt);
      audited = true;
    }
    auto l = log.lock();
    if (!l) return;
    if (!o) {
      l->finish(tenant, id, core::CommandState::failed, o.error().detail);
    } else if (final) {
      l->finish(tenant, id, core::CommandState::done, "", o->call_id, o->space);
    }
  }
};

// The request-level answer (AMI Response). For make_call and pickup success only means "queued":
// the final word comes later (`finished_cb`).
core::CommandCallback done_cb(const std::shared_ptr<Tracking>& t) {
  return [t](core::CommandOutcome o) {
    if (t->id.empty()) {
      t->early = std::move(o);
      return;
    }
    t->later(std::move(o), !t->awaits_outcome);
  };
}

core::CommandCallback finished_cb(const std::shared_ptr<Tracking>& t) {
  return [t](core::CommandOutcome o) {
    if (t->id.empty()) {  // only a PBX that answers inside the call (fakes); a failure is the answer
      if (!o) t->early = std::move(o);
      return;
    }
    t->later(std::move(o), true);
  };
}

// A parking space or lot as the path and body may name it: res_parking's names are plain.
bool is_parking_name(std::string_view v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
      return false;
  return true;
}

using Note = std::shared_ptr<CommandAuditNote>;

struct Routes {
  CommandRouteDeps deps;
  CommandAudit audit{deps.audit, deps.clock};

  // After the service call: a problem when it failed at once, else 202 naming the new command
  // (Location: /api/v1/commands/{id}). `status` keeps its old meaning: "accepted" when the PBX
  // already confirmed the request, "submitted" while its answer is on the way.
  HttpResponse respond(const Principal& p, const std::shared_ptr<Tracking>& t, std::string action,
                       std::optional<std::string> call_id, std::optional<std::string> request_id) {
    if (t->early && !*t->early) return failure(t->early->error());
    auto log = t->log.lock();  // checked before the command was sent, on this (the io) thread
    if (!log) return problem(503, "pbx-unavailable", "tenant " + p.tenant.str() + " was removed");
    const bool confirmed = t->early.has_value();
    // A confirmed command is finished unless it waits for the PBX's final word (make_call, pickup).
    const auto state = confirmed && !t->awaits_outcome ? core::CommandState::done : core::CommandState::accepted;
    const auto& rec = log->add(p.tenant, p.user, std::move(action), state, call_id, request_id);
    t->id = rec.id;
    t->note->details["command_id"] = rec.id;
    if (request_id) t->note->details["request_id"] = *request_id;
    if (state == core::CommandState::done) {  // recorded after the answer (add_command_routes)
      t->note->settled_at_once = state;
      t->audited = true;
    }
    json::object o;
    o["call_id"] = call_id ? json::value(*call_id) : json::value(nullptr);
    if (request_id) o["request_id"] = *request_id;
    o["status"] = confirmed ? "accepted" : "submitted";
    o["command_id"] = rec.id;
    o["command"] = json::parse(command_json(rec));
    auto r = rest::reply(202, o);
    r.headers.emplace_back("Location", "/api/v1/commands/" + rec.id);
    return r;
  }

  std::shared_ptr<Tracking> track(const Principal& p, bool awaits_outcome, const Note& note) {
    auto t = std::make_shared<Tracking>(p.tenant, note, audit);
    t->log = log_for(p.tenant);
    t->awaits_outcome = awaits_outcome;
    return t;
  }

  // The tenant's commands: this node's call control, else (cluster mode) the owner node's through
  // the relay; null when neither (503 pbx-unavailable).
  std::shared_ptr<core::CallCommands> commands_for(const base::TenantId& t) const {
    if (core::CallControlService* svc = deps.service_for ? deps.service_for(t) : nullptr)
      return core::local_call_commands(*svc);
    return deps.remote_for ? deps.remote_for(t) : nullptr;
  }

  // Body limit -> 413, empty body = {}, then the tenant's call control (io thread). `f` answers a
  // bad request at once, else starts the command, whose first step answers (io thread).
  template <typename F>
  void guarded(const HttpRequest& req, const Principal& p, const Respond& respond, F&& f) {
    json::object body;
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto b = rest::body_object(req);
      if (!b) return respond(b.error());
      body = std::move(*b);
    }
    auto cmds = commands_for(p.tenant);
    if (!cmds || !log_for(p.tenant))
      return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
    if (auto bad = f(p, body, *cmds)) respond(std::move(*bad));
  }

  // Answers the request once the command's first step is over (core::Submitted).
  core::Submitted answer_with(const Principal& p, const std::shared_ptr<Tracking>& t, std::string action,
                              std::optional<std::string> call_id, Respond respond, bool returns_call = false,
                              bool returns_request = false) {
    return [this, p, t, action = std::move(action), call_id = std::move(call_id), respond, returns_call,
            returns_request](std::string returned) {
      std::optional<std::string> call = call_id, rid;
      if (returns_call) call = returned.empty() ? std::nullopt : std::optional<std::string>(returned);
      if (returns_request) rid = returned;
      respond(this->respond(p, t, action, call, rid));
    };
  }

  std::shared_ptr<core::CommandLog> log_for(const base::TenantId& t) const {
    return deps.log_for ? deps.log_for(t) : nullptr;
  }

  void start_make_call(const Principal& p, core::CallCommands& cmds, core::CommandCaller caller, const std::string& to,
                       std::optional<std::string> from, const Note& note, Respond respond) {
    auto t = track(p, true, note);
    cmds.make_call(caller, to, std::move(from), done_cb(t), finished_cb(t),
                   answer_with(p, t, "make_call", std::nullopt, std::move(respond), false, true));
  }

  using Bad = std::optional<HttpResponse>;

  void make_call(const HttpRequest& req, const Principal& principal, const Note& note, Respond respond) {
    // The note already has what was asked (note_body).
    guarded(req, principal, respond, [&](const Principal& p, const json::object& body, core::CallCommands& cmds) -> Bad {
      auto to = rest::opt_string(body, "to", 256);
      if (!to) return problem(400, "bad-request", to.error());
      if (!*to) return problem(400, "bad-request", "\"to\" is required");
      auto from = rest::opt_string(body, "from", 64);
      if (!from) return problem(400, "bad-request", from.error());
      if (*from && !base::is_device_name(**from))
        return problem(400, "bad-request", "from: not a device name: expected " + std::string(base::kDeviceNameRule));
      start_make_call(p, cmds, p.viewer(), **to, *from, note, respond);
      return std::nullopt;
    });
  }

  // POST /api/v1/journal/{id}/callback: the entry must be visible to the caller (core/visibility:
  // find_journal_entry, callback_caller): supervisors and admins may call back from any party.
  // 0 when the path names no entry (404 before authentication).
  static std::int64_t callback_id(const HttpRequest& req) {
    std::string rest;
    std::string seg = rest::path_segment(req, "/api/v1/journal/", &rest);
    const bool numeric = !seg.empty() && seg.size() <= 18 &&
                         seg.find_first_not_of("0123456789") == std::string::npos;
    if (rest != "callback" || !numeric) return 0;
    return std::stoll(seg);
  }

  // The journal lookup blocks (SQLite): on the workers when there are some; the call is placed
  // on the io thread.
  void callback(const HttpRequest& req, const Principal& p, std::int64_t id, const Note& note, Respond respond,
                const std::shared_ptr<Routes>& self) {
    auto lookup = [self, p, id, note, respond] {
      auto found = core::find_journal_entry(*self->deps.journal, p.viewer(), id);
      if (!found) return respond(rest::from_error(found.error()));
      if (!*found) return respond(problem(404, "not-found", "no journal entry " + std::to_string(id)));
      auto place = [self, p, id, note, respond, e = std::move((*found)->entry)] {
        auto cmds = self->commands_for(p.tenant);
        if (!cmds || !self->log_for(p.tenant))
          return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
        if (!e.remote || e.remote->empty())
          return respond(problem(409, "no-callback-number", "the remote number of journal entry " +
                                                                std::to_string(id) + " was withheld"));
        // From the entry's party: the caller's own line, or (supervisors, admins) as that line.
        auto caller = core::callback_caller(p.viewer(), e);
        if (!caller) return respond(problem(404, "not-found", "no journal entry " + std::to_string(id)));
        note->details["to"] = *e.remote;  // the entry's party calls its remote
        note->details["from"] = e.party;
        self->start_make_call(p, *cmds, *caller, *e.remote, e.party, note, respond);
      };
      rest::on_io(self->deps.offload, std::move(place));
    };
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {  // the body must still be JSON
      if (auto b = rest::body_object(req); !b) return respond(b.error());
    }
    if (!commands_for(p.tenant))
      return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
    rest::offload(deps.offload, std::move(lookup), respond);
  }

  // 404 for a path that names no command (before authentication).
  static bool is_command(const HttpRequest& req) {
    std::string verb;
    std::string id = rest::path_segment(req, "/api/v1/calls/", &verb);
    return !id.empty() && (core::parse_call_command(verb).has_value() || verb == "move");
  }

  // POST /api/v1/calls/{id}/move {"device": NAME}: NAME is the user's extension that has the call
  // (back to the desk phone) or one of their external devices (looked up in the identity store on
  // the workers); then the tenant's commands' move_call on the io thread (this node's call control,
  // or in cluster mode the owner node's through the relay). Done once the new device talks to the
  // remote.
  void move(const HttpRequest& req, const Principal& p, const Note& note, Respond respond,
            const std::shared_ptr<Routes>& self) {
    std::string verb;
    std::string id = rest::path_segment(req, "/api/v1/calls/", &verb);
    json::object body;
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto b = rest::body_object(req);
      if (!b) return respond(b.error());
      body = std::move(*b);
    }
    for (const auto& kv : body)
      if (kv.key() != "device")
        return respond(problem(400, "bad-request", "unknown field \"" + std::string(kv.key().substr(0, 40)) +
                                                       "\" (move takes \"device\")"));
    auto device = rest::opt_string(body, "device", 64);
    if (!device) return respond(problem(400, "bad-request", device.error()));
    if (!*device)
      return respond(problem(400, "bad-request", "device: required (the device to move the call to: one of your "
                                                 "external devices, e.g. \"mobile\", or your extension for the desk phone)"));
    if (!base::is_device_name(**device))
      return respond(problem(400, "bad-request", "device: not a device name: expected " + std::string(base::kDeviceNameRule)));
    if (!commands_for(p.tenant) || !log_for(p.tenant))
      return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
    auto start = [self, p, id, note, respond](core::MoveTarget target) {
      auto cmds = self->commands_for(p.tenant);
      if (!cmds || !self->log_for(p.tenant))
        return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
      if (!target.number.empty()) note->details["number"] = target.number;
      auto t = self->track(p, true, note);
      cmds->move_call(p.viewer(), id, target, done_cb(t), finished_cb(t),
                      self->answer_with(p, t, "move", id, respond));
    };
    const std::string name = **device;
    if (std::find(p.devices.begin(), p.devices.end(), name) != p.devices.end())
      return start(core::MoveTarget{name, ""});  // one of the user's extensions: nothing to look up
    if (!deps.user_devices)
      return respond(problem(404, "device-not-found", "no device \"" + name + "\" (your extensions: " +
                                                          (p.devices.empty() ? std::string("none") : p.devices.front()) + ")"));
    auto lookup = [self, p, name, respond, start] {
      auto d = self->deps.user_devices(p.tenant, p.user);
      if (!d) return respond(rest::from_error(d.error()));
      for (const auto& e : d->external) {
        if (e.name != name) continue;
        return rest::on_io(self->deps.offload, [start, target = core::MoveTarget{e.name, e.number, e.private_device}] {
          start(target);
        });
      }
      std::string names;
      for (const auto& e : p.devices) names += (names.empty() ? "" : ", ") + e;
      for (const auto& e : d->external) names += (names.empty() ? "" : ", ") + e.name;
      respond(problem(404, "device-not-found", "no device \"" + name + "\" (your devices: " +
                                                   (names.empty() ? std::string("none") : names) + ")"));
    };
    rest::offload(deps.offload, std::move(lookup), respond);
  }

  void command(const HttpRequest& req, const Principal& principal, const Note& note, Respond respond) {
    std::string verb;
    std::string id = rest::path_segment(req, "/api/v1/calls/", &verb);
    auto cmd = core::parse_call_command(verb);
    guarded(req, principal, respond, [&](const Principal& p, const json::object& body, core::CallCommands& cmds) -> Bad {
      auto device = rest::opt_string(body, "device", 64);
      if (!device) return problem(400, "bad-request", device.error());
      if (*device && !base::is_device_name(**device))
        return problem(400, "bad-request", "device: not a device name: expected " + std::string(base::kDeviceNameRule));
      auto to = rest::opt_string(body, "to", 256);
      if (!to) return problem(400, "bad-request", to.error());
      auto t = track(p, false, note);
      cmds.execute(p.viewer(), *cmd, id, *device, *to, done_cb(t), {},
                   answer_with(p, t, std::string(core::to_string(*cmd)), id, respond));
      return std::nullopt;
    });
  }

  // POST /api/v1/calls/{id}/park: as the other commands, but done only once the PBX named the
  // parking space (the record's "space").
  void park(const HttpRequest& req, const Principal& principal, const Note& note, Respond respond) {
    std::string verb;
    std::string id = rest::path_segment(req, "/api/v1/calls/", &verb);
    guarded(req, principal, respond, [&](const Principal& p, const json::object& body, core::CallCommands& cmds) -> Bad {
      auto device = rest::opt_string(body, "device", 64);
      if (!device) return problem(400, "bad-request", device.error());
      if (*device && !base::is_device_name(**device))
        return problem(400, "bad-request", "device: not a device name: expected " + std::string(base::kDeviceNameRule));
      if (body.contains("to")) return problem(400, "bad-request", "park takes no \"to\": the PBX picks the space");
      auto t = track(p, true, note);
      cmds.execute(p.viewer(), core::CallCommand::park, id, *device, std::nullopt, done_cb(t), finished_cb(t),
                   answer_with(p, t, "park", id, respond));
      return std::nullopt;
    });
  }

  // POST /api/v1/parking/{space}/pickup {"device"?, "lot"?}: the caller's phone takes the call
  // parked there (core::CallControlService::unpark).
  void unpark(const HttpRequest& req, const Principal& principal, const Note& note, Respond respond) {
    std::string verb;
    std::string space = rest::path_segment(req, "/api/v1/parking/", &verb);
    guarded(req, principal, respond, [&](const Principal& p, const json::object& body, core::CallCommands& cmds) -> Bad {
      auto device = rest::opt_string(body, "device", 64);
      if (!device) return problem(400, "bad-request", device.error());
      if (*device && !base::is_device_name(**device))
        return problem(400, "bad-request", "device: not a device name: expected " + std::string(base::kDeviceNameRule));
      auto lot = rest::opt_string(body, "lot", 64);
      if (!lot) return problem(400, "bad-request", lot.error());
      if (*lot && !is_parking_name(**lot))
        return problem(400, "bad-request", "lot: not a parking lot name (1-64 of letters, digits, '-', '_')");
      auto t = track(p, true, note);
      cmds.unpark(p.viewer(), space, *lot, *device, done_cb(t), finished_cb(t),
                  answer_with(p, t, "unpark", std::nullopt, respond, true));
      return std::nullopt;
    });
  }

  // POST /api/v1/calls/{id}/pickup: the lines the caller sees (team mates' need the tenant's users,
  // read on the workers), then the pickup on the io thread.
  // POST /api/v1/lines/{device}/pickup (`by_line`): the call ringing there.
  void pickup(const HttpRequest& req, const Principal& p, const Note& note, Respond respond,
              const std::shared_ptr<Routes>& self, bool by_line = false) {
    std::string verb;
    std::string id = rest::path_segment(req, by_line ? "/api/v1/lines/" : "/api/v1/calls/", &verb);
    json::object body;
    if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto b = rest::body_object(req);
      if (!b) return respond(b.error());
      body = std::move(*b);
    }
    auto device = rest::opt_string(body, "device", 64);
    if (!device) return respond(problem(400, "bad-request", device.error()));
    if (*device && !base::is_device_name(**device))
      return respond(problem(400, "bad-request", "device: not a device name: expected " + std::string(base::kDeviceNameRule)));
    if (!commands_for(p.tenant) || !log_for(p.tenant))
      return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
    auto lookup = [self, p, id, device = *device, note, respond, by_line] {
      std::vector<ports::User> users;
      if (self->deps.tenant_users) {
        auto u = self->deps.tenant_users(p.tenant);
        if (!u) return respond(rest::from_error(u.error()));
        users = std::move(*u);
      }
      auto scope = std::make_shared<core::LineScope>(core::line_scope(p.viewer(), users));
      rest::on_io(self->deps.offload, [self, p, id, device, note, respond, scope, by_line] {
        auto cmds = self->commands_for(p.tenant);
        if (!cmds || !self->log_for(p.tenant))
          return respond(problem(503, "pbx-unavailable", "no PBX link serves tenant " + p.tenant.str()));
        // Done once the picker talks to the caller; failed with "Nothing to pick up: ..." when
        // the call stopped ringing before the picker's phone answered (core::CallControlService).
        auto t = self->track(p, true, note);
        if (by_line)  // the 202 names the call the service found ringing at the line
          cmds->pickup_line(p.viewer(), id, device, *scope, done_cb(t), finished_cb(t),
                            self->answer_with(p, t, "pickup", std::nullopt, respond, true));
        else
          cmds->pickup(p.viewer(), id, device, *scope, done_cb(t), finished_cb(t),
                       self->answer_with(p, t, "pickup", id, respond));
      });
    };
    rest::offload(deps.offload, std::move(lookup), respond);
  }

  // GET /api/v1/commands/{id}: the issuing user's (or, for admins, any of the tenant's) commands;
  // everything else is 404, like an expired record.
  HttpResponse get_command(const HttpRequest& req, const Principal& principal) {
    const Principal* p = &principal;
    std::string rest;
    std::string id = rest::path_segment(req, "/api/v1/commands/", &rest);
    auto log = log_for(p->tenant);
    const core::CommandRecord* r = !log || id.empty() || id.size() > 64 || !rest.empty() ? nullptr
                                                                                         : log->find(p->tenant, id);
    if (!r || !core::may_see_command(p->viewer(), r->tenant, r->user))
      return problem(404, "not-found", "no command " + id.substr(0, 64) + " (unknown, expired or not yours)");
    HttpResponse out;
    out.status = 200;
    out.content_type = "application/json";
    out.body = command_json(*r);
    return out;
  }
};

// What a command request is for the audit log: the action and its target from the path, and
// what the body asks (to, from, device) as received, whether or not the checks accept it.
void note_body(const HttpRequest& req, CommandAuditNote& n) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return;
  auto b = rest::body_object(req);  // the route answers a bad body; the note just stays without it
  if (!b) return;
  for (const char* k : {"to", "from", "device", "lot"})
    if (const auto* v = b->if_contains(k); v && v->is_string() && v->get_string().size() <= 256) n.details[k] = *v;
}

void describe_make_call(const HttpRequest& req, CommandAuditNote& n) {
  n.action = "call.make_call";
  note_body(req, n);
  // The number as received: how the dialing plan reads it is the PBX side's business.
  if (const auto* to = n.details.if_contains("to")) n.target = "number:" + std::string(to->get_string());
}

void describe_command(const HttpRequest& req, CommandAuditNote& n) {
  std::string verb;
  std::string id = rest::path_segment(req, "/api/v1/calls/", &verb);
  auto cmd = core::parse_call_command(verb);  // checked before authentication (is_command)
  n.action = "call." + std::string(cmd ? core::to_string(*cmd) : verb == "move" ? std::string_view("move") : std::string_view("unknown"));
  n.target = "call:" + id;
  note_body(req, n);
}

// POST /api/v1/parking/{space}/pickup.
bool is_unpark(const HttpRequest& req) {
  std::string verb;
  std::string space = rest::path_segment(req, "/api/v1/parking/", &verb);
  return verb == "pickup" && is_parking_name(space);
}

void describe_unpark(const HttpRequest& req, CommandAuditNote& n) {
  std::string verb;
  n.action = "call.unpark";
  n.target = "parking:" + rest::path_segment(req, "/api/v1/parking/", &verb);
  note_body(req, n);
}

// POST /api/v1/lines/{device}/pickup: a path that names a line and the verb pickup.
bool is_line_pickup(const HttpRequest& req) {
  std::string verb;
  std::string dev = rest::path_segment(req, "/api/v1/lines/", &verb);
  return verb == "pickup" && base::is_device_name(dev);
}

void describe_line_pickup(const HttpRequest& req, CommandAuditNote& n) {
  std::string verb;
  n.action = "call.pickup";
  n.target = "line:" + rest::path_segment(req, "/api/v1/lines/", &verb);
  note_body(req, n);
}

void describe_callback(const HttpRequest& req, CommandAuditNote& n) {
  const auto id = Routes::callback_id(req);
  n.action = "call.callback";
  n.target = "journal:" + std::to_string(id);
  n.details["journal_entry"] = id;
}

}  // namespace

void add_command_routes(HttpServer& server, CommandRouteDeps deps) {
  auto routes = std::make_shared<Routes>(Routes{std::move(deps)});
  // `pre` may answer before authentication (404 for paths that name nothing); then `fn` runs on
  // the io thread with the principal (authentication itself may take a worker). With `describe`
  // (the commands; not reads) every answer after authentication is recorded in the audit log,
  // an operator's refusal included: a principal issued a command.
  using Handle = std::function<void(const HttpRequest&, const Principal&, const Note&, Respond)>;
  using Describe = void (*)(const HttpRequest&, CommandAuditNote&);
  auto authed = [routes](std::function<bool(const HttpRequest&)> pre, Handle fn, Describe describe) {
    return AsyncHttpHandler([routes, pre = std::move(pre), fn = std::move(fn), describe](HttpRequest req,
                                                                                          Respond respond) {
      if (pre && !pre(req)) return respond(problem(404, "not-found", "no resource at " + req.path));
      if (req.body.size() > routes->deps.max_body_bytes)
        return respond(problem(413, "payload-too-large", "request body exceeds " +
                                                             std::to_string(routes->deps.max_body_bytes) + " bytes"));
      auto shared = std::make_shared<const HttpRequest>(std::move(req));
      routes->deps.auth->resolve_async(*shared, false, [routes, shared, fn, describe, respond](PrincipalResult p) {
        if (!p) return respond(rest::auth_problem(p.error()));
        auto note = std::make_shared<CommandAuditNote>(CommandAuditNote{.tenant = p->tenant});
        Respond answer = respond;
        if (describe) {
          note->actor = p->user;
          note->token_id = p->token_id;
          note->source = shared->remote;
          describe(*shared, *note);
          // A new slot whose answer is recorded, then passed on (also the fallback of a request
          // dropped unanswered, so the record and the client agree).
          answer = Respond(
              [routes, note, respond](HttpResponse r) {
                routes->audit.answered(*note, r);
                if (note->settled_at_once) routes->audit.settled(*note, *note->settled_at_once, "", std::nullopt);
                respond(std::move(r));
              },
              problem(500, "internal", "the command was dropped unanswered"));
        }
        if (p->is_operator()) return answer(rest::operator_forbidden());  // no tenant's calls
        fn(*shared, *p, note, std::move(answer));
      });
    });
  };
  server.route("POST", "/api/v1/calls",
               authed({}, [routes](const HttpRequest& req, const Principal& p, const Note& n, Respond r) {
                 routes->make_call(req, p, n, std::move(r));
               }, describe_make_call));
  server.route("POST", "/api/v1/calls/*",
               authed(Routes::is_command, [routes](const HttpRequest& req, const Principal& p, const Note& n, Respond r) {
                 std::string verb;
                 rest::path_segment(req, "/api/v1/calls/", &verb);
                 if (verb == "pickup") return routes->pickup(req, p, n, std::move(r), routes);
                 if (verb == "park") return routes->park(req, p, n, std::move(r));
                 if (verb == "move") return routes->move(req, p, n, std::move(r), routes);
                 routes->command(req, p, n, std::move(r));
               }, describe_command));
  server.route("POST", "/api/v1/lines/*",
               authed(is_line_pickup, [routes](const HttpRequest& req, const Principal& p, const Note& n, Respond r) {
                 routes->pickup(req, p, n, std::move(r), routes, true);
               }, describe_line_pickup));
  server.route("POST", "/api/v1/parking/*",
               authed(is_unpark, [routes](const HttpRequest& req, const Principal& p, const Note& n, Respond r) {
                 routes->unpark(req, p, n, std::move(r));
               }, describe_unpark));
  server.route("GET", "/api/v1/commands/*",
               authed({}, [routes](const HttpRequest& req, const Principal& p, const Note&, Respond r) {
                 r(routes->get_command(req, p));
               }, nullptr));
  if (routes->deps.journal)
    server.route("POST", "/api/v1/journal/*",
                 authed([](const HttpRequest& req) { return Routes::callback_id(req) > 0; },
                        [routes](const HttpRequest& req, const Principal& p, const Note& n, Respond r) {
                          routes->callback(req, p, Routes::callback_id(req), n, std::move(r), routes);
                        }, describe_callback));
}

}  // namespace callbridge::capabilities::calls
