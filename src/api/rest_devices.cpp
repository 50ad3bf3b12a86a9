// REST: AnyDevice, each user's devices and active device (docs/api.md "Devices", docs/call-control.md
// "AnyDevice"): GET/PUT/DELETE under /api/v1/me/devices for oneself, under
// /api/v1/users/{user}/devices for the tenant's admins. Stored in identity.db (ports::IdentityStore);
// an external device's number must pass the tenant's [tenant.X.any_device] policy after the tenant's
// dialing plan made it E.164. Every change updates the daemon's core::ActiveDevices (call control
// reads it at each make call), goes to the audit log and to the user's event streams
// ({"type": "user_devices"}). Handlers run on the REST workers; the event is published on the io thread.
#include <algorithm>


#include "api/rest_common.hpp"
#include "core/any_device.hpp"
#include "core/line_features.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxDevicesBody = 4 * 1024;

std::shared_ptr<const core::AnyDeviceSettings> settings_of(const Ctx& ctx, const base::TenantId& tenant) {
  std::shared_ptr<const core::AnyDeviceSettings> s;
  if (ctx.deps.any_device) s = ctx.deps.any_device(tenant);
  if (!s) s = std::make_shared<const core::AnyDeviceSettings>();
  return s;
}

// The GET body: every device of the user (extensions first, then the external ones by name), the
// one in use and whether the user chose it.
json::object state_json(const ports::User& u, const ports::UserDevices& d, const core::AnyDeviceSettings& s) {
  json::array devices;
  const bool chose_desk = std::find(u.extensions.begin(), u.extensions.end(), d.active) != u.extensions.end();
  const bool chose_external = std::any_of(d.external.begin(), d.external.end(),
                                          [&](const ports::ExternalDevice& e) { return e.name == d.active; });
  const bool chosen = chose_desk || chose_external;
  std::string active = chosen ? d.active : (u.extensions.empty() ? std::string() : u.extensions.front());
  for (const auto& e : u.extensions) {
    json::object o{{"name", e}, {"kind", "desk"}, {"number", e}};
    // The tenant's default map ([tenant.X.call_control] any_device): calls from this extension ring
    // that number first while the user has not chosen a device.
    if (auto it = s.tenant_default.find(e); it != s.tenant_default.end() && !chosen) o["rings_first"] = it->second;
    devices.push_back(std::move(o));
  }
  for (const auto& e : d.external) {
    json::object o{{"name", e.name}, {"kind", "external"}, {"number", e.number}, {"private", e.private_device},
                   {"created_at", base::format_rfc3339_ms(e.created_at)}};
    auto why = s.policy.refuse(e.number);
    o["allowed"] = !why;
    if (why) o["reason"] = *why;
    devices.push_back(std::move(o));
  }
  json::object out{{"user", u.name}, {"active", active.empty() ? json::value(nullptr) : json::value(active)},
                   {"chosen", chosen}, {"devices", std::move(devices)}, {"max_external", s.policy.max_devices}};
  out["updated_at"] = chosen && d.active_since ? json::value(base::format_rfc3339_ms(*d.active_since)) : json::value(nullptr);
  out["updated_by"] = chosen ? json::value(d.active_set_by) : json::value(nullptr);
  return out;
}

struct Loaded {
  ports::User user;
  ports::UserDevices devices;
  std::optional<core::ActiveDevice> active{};  // reload_and_follow(): what call control reads now
};

std::expected<Loaded, HttpResponse> load(Ctx& ctx, const base::TenantId& tenant, const std::string& name) {
  auto u = ctx.deps.identity->get_user(tenant, name);
  if (!u) return std::unexpected(from_error(u.error()));
  auto d = ctx.deps.identity->get_user_devices(tenant, name);
  if (!d) return std::unexpected(from_error(d.error()));
  return Loaded{std::move(*u), std::move(*d), std::nullopt};
}

// Follow-me rings the active external device (docs/dialplan.md): the user's lines that have it on
// follow the new choice — another external device gets the calls, a desk phone (or a number the
// policy no longer allows) turns it off (io thread).
void follow_active_device(Ctx& ctx, const base::TenantId& tenant, const std::string& user,
                          const std::vector<std::string>& lines, const std::optional<core::ActiveDevice>& active,
                          const core::AnyDevicePolicy& policy) {
  if (!ctx.deps.line_features) return;
  on_io(ctx, [lf = ctx.deps.line_features, tenant, user, lines, number = core::follow_me_number(active, policy)] {
    if (ports::PbxFeatures* f = lf(tenant))
      core::follow_active_device(*f, lines, number, "tenant " + tenant.str() + ", " + user + "'s new active device");
  });
}

// The user's devices as the store has them now, and the active device call control reads from
// them: set in the registry (core::ActiveDevices), followed by the follow-me of the user's lines
// where this node has the tenant's PBX features. Worker thread.
base::Result<Loaded> reload_and_follow(Ctx& ctx, const base::TenantId& tenant, const std::string& user) {
  auto u = ctx.deps.identity->get_user(tenant, user);
  if (!u) return base::fail(u.error());
  auto devices = ctx.deps.identity->get_user_devices(tenant, user);
  if (!devices) return base::fail(devices.error());
  auto now = Loaded{std::move(*u), std::move(*devices), std::nullopt};
  const auto& d = now.devices;
  auto& active = now.active;
  auto ext = std::find_if(d.external.begin(), d.external.end(), [&](const auto& e) { return e.name == d.active; });
  active = ext != d.external.end() ? core::active_device_of(ext->name, ext->number, ext->private_device, now.user.extensions)
                                   : core::active_device_of(d.active, "", true, now.user.extensions);
  if (ctx.deps.active_devices) ctx.deps.active_devices->set(tenant, user, active);
  follow_active_device(ctx, tenant, user, now.user.extensions, active, settings_of(ctx, tenant)->policy);
  return now;
}

// After a stored change: the registry call control reads, then the user's streams (io thread).
HttpResponse changed(Ctx& ctx, const base::TenantId& tenant, const std::string& user, std::string_view change,
                     int status) {
  auto now = reload_and_follow(ctx, tenant, user);
  if (!now) return from_error(now.error());
  auto body = state_json(now->user, now->devices, *settings_of(ctx, tenant));
  if (ctx.deps.publish_to_user) {
    // The user's name too: the tenant's anydevice.changed webhooks get the message (docs/webhooks.md).
    std::string tail = ",\"user\":" + json::serialize(json::value(user)) + ",\"change\":\"" + std::string(change) +
                       "\",\"devices\":" + json::serialize(body) + "}";
    on_io(ctx, [publish = ctx.deps.publish_to_user, tenant, user, tail = std::move(tail)] {
      publish(tenant, user, "user_devices", tail);
    });
  }
  return reply(status, body);
}

std::string names_of(const Loaded& l) {
  std::string out;
  for (const auto& e : l.user.extensions) out += (out.empty() ? "" : ", ") + e;
  for (const auto& e : l.devices.external) out += (out.empty() ? "" : ", ") + e.name;
  return out.empty() ? "none" : out;
}

// PUT .../devices/active {"device": "mobile"} (null: back to the tenant's default).
HttpResponse put_active(Ctx& ctx, const base::TenantId& tenant, const std::string& user, const HttpRequest& req,
                        const Principal& p, json::object& details) {
  auto body = body_object(req);
  if (!body) return body.error();
  for (const auto& kv : *body)
    if (kv.key() != "device")
      return problem(400, "bad-request", "unknown field \"" + std::string(kv.key().substr(0, 40)) + "\" (expected device)");
  auto it = body->find("device");
  if (it == body->end()) return problem(400, "bad-request", "device: required (a device name, or null for the default)");
  std::string device;
  if (!it->value().is_null()) {
    if (!it->value().is_string() || it->value().as_string().empty() || it->value().as_string().size() > 64)
      return problem(400, "bad-request", "device: expected a device name (1-64 characters) or null");
    device = it->value().as_string();
  }
  details["device"] = device.empty() ? json::value(nullptr) : json::value(device);
  auto l = load(ctx, tenant, user);
  if (!l) return l.error();
  if (!device.empty()) {
    const bool desk = std::find(l->user.extensions.begin(), l->user.extensions.end(), device) != l->user.extensions.end();
    auto ext = std::find_if(l->devices.external.begin(), l->devices.external.end(),
                            [&](const ports::ExternalDevice& e) { return e.name == device; });
    if (!desk && ext == l->devices.external.end())
      return problem(404, "device-not-found",
                     "no device \"" + device.substr(0, 64) + "\" (" + user + "'s devices: " + names_of(*l) + ")");
    if (!desk) {
      details["number"] = ext->number;
      if (auto why = settings_of(ctx, tenant)->policy.refuse(ext->number))
        return problem(422, "device-not-allowed", "device \"" + device + "\" cannot be used: " + *why);
    }
  }
  if (auto st = ctx.deps.identity->set_active_device(tenant, user, device, ctx.deps.clock->now(), p.user); !st)
    return from_error(st.error());
  return changed(ctx, tenant, user, "active", 200);
}

// PUT .../devices/{name} {"number": "0170 1234567", "private": false}: adds the external device or
// gives it a new number and/or flag. "private" (the user's own phone, or the company's) is kept
// when absent on an existing device, true for a new one; "number" may be absent on an existing one.
HttpResponse put_device(Ctx& ctx, const base::TenantId& tenant, const std::string& user, const std::string& name,
                        const HttpRequest& req, json::object& details) {
  if (!core::valid_external_device_name(name))
    return problem(400, "invalid-device-name",
                   "\"" + name.substr(0, 40) + "\" is not a device name: expected " +
                       std::string(core::kExternalDeviceNameRule));
  auto body = body_object(req);
  if (!body) return body.error();
  for (const auto& kv : *body)
    if (kv.key() != "number" && kv.key() != "private")
      return problem(400, "bad-request",
                     "unknown field \"" + std::string(kv.key().substr(0, 40)) + "\" (expected number, private)");
  auto number = opt_string(*body, "number", 64);
  if (!number) return problem(400, "bad-request", "number: " + number.error());
  std::optional<bool> is_private;
  if (auto it = body->find("private"); it != body->end()) {
    if (!it->value().is_bool())
      return problem(400, "bad-request", "private: expected true (the user's own phone) or false (the company's)");
    is_private = it->value().as_bool();
  }
  auto l = load(ctx, tenant, user);
  if (!l) return l.error();
  if (std::find(l->user.extensions.begin(), l->user.extensions.end(), name) != l->user.extensions.end())
    return problem(400, "invalid-device-name",
                   "\"" + name + "\" is one of " + user + "'s extensions; give the external device another name");
  auto existing = std::find_if(l->devices.external.begin(), l->devices.external.end(),
                               [&](const ports::ExternalDevice& e) { return e.name == name; });
  const bool exists = existing != l->devices.external.end();
  if ((!*number || (*number)->empty()) && !exists)
    return problem(400, "bad-request", "number: required (the device's phone number)");
  if (!*number || (*number)->empty()) *number = existing->number;  // only the flag changes
  details["number_given"] = **number;
  const bool private_device = is_private.value_or(exists ? existing->private_device : true);
  details["private"] = private_device;
  std::optional<std::string> e164 = ctx.deps.to_e164 ? ctx.deps.to_e164(tenant, **number) : std::nullopt;
  if (!e164)
    return problem(422, "invalid-number",
                   "\"" + (*number)->substr(0, 64) +
                       "\" is not an external phone number under the tenant's dialing plan (an extension is a desk "
                       "device, not an external one)");
  details["number"] = *e164;
  const auto settings = settings_of(ctx, tenant);
  if (auto why = settings->policy.refuse(*e164)) return problem(422, "device-not-allowed", *why);
  if (auto st = ctx.deps.identity->put_external_device(tenant, user,
                                                       {name, *e164, ctx.deps.clock->now(), private_device},
                                                       settings->policy.max_devices);
      !st) {
    if (st.error().code() == base::Errc::conflict)
      return problem(409, "too-many-devices",
                     user + " has " + std::to_string(l->devices.external.size()) + " external devices, at most " +
                         std::to_string(settings->policy.max_devices) + " are allowed; remove one first");
    return from_error(st.error());
  }
  const char* change = !exists                        ? "added"
                       : existing->number != *e164     ? "renumbered"
                       : existing->private_device != private_device ? "reclassified"
                                                                    : "renumbered";
  return changed(ctx, tenant, user, change, exists ? 200 : 201);
}

HttpResponse delete_device(Ctx& ctx, const base::TenantId& tenant, const std::string& user, const std::string& name) {
  auto l = load(ctx, tenant, user);
  if (!l) return l.error();
  if (std::find(l->user.extensions.begin(), l->user.extensions.end(), name) != l->user.extensions.end())
    return problem(409, "conflict", "\"" + name + "\" is an extension of " + user + "; an admin changes extensions (PATCH /api/v1/users/" + user + ")");
  if (auto st = ctx.deps.identity->remove_external_device(tenant, user, name); !st) {
    if (st.error().code() == base::Errc::not_found)
      return problem(404, "device-not-found",
                     "no device \"" + name.substr(0, 64) + "\" (" + user + "'s devices: " + names_of(*l) + ")");
    return from_error(st.error());
  }
  return changed(ctx, tenant, user, "removed", 200);
}

HttpResponse unavailable_devices() {
  return problem(503, "unavailable", "devices are not served by this server (no AnyDevice registry)");
}

}  // namespace

base::Result<std::optional<core::ActiveDevice>> reload_active_device(Ctx& ctx, const base::TenantId& tenant,
                                                                     const std::string& user) {
  auto now = reload_and_follow(ctx, tenant, user);
  if (!now) return base::fail(now.error());
  return now->active;
}

HttpResponse devices_request(Ctx& ctx, const HttpRequest& req, const Principal& p, const std::string& user,
                             const std::string& rest) {
  if (!ctx.deps.active_devices) return unavailable_devices();
  // rest: "" (the collection), "active", or a device name.
  if (req.method == "GET") {
    if (!rest.empty()) return problem(404, "not-found", "no resource at " + req.path);
    auto l = load(ctx, p.tenant, user);
    if (!l) return l.error();
    return reply(200, state_json(l->user, l->devices, *settings_of(ctx, p.tenant)));
  }
  if (req.body.size() > kMaxDevicesBody)
    return problem(413, "payload-too-large", "devices: at most " + std::to_string(kMaxDevicesBody) + " bytes");
  if (rest.empty() || rest.find('/') != std::string::npos) return problem(404, "not-found", "no resource at " + req.path);
  json::object details{{"user", user}};
  HttpResponse answer;
  std::string action;
  if (req.method == "PUT" && rest == "active") {
    action = "anydevice.select";
    answer = put_active(ctx, p.tenant, user, req, p, details);
  } else if (req.method == "PUT") {
    action = "anydevice.put";
    details["device"] = rest;
    answer = put_device(ctx, p.tenant, user, rest, req, details);
  } else if (req.method == "DELETE" && rest != "active") {
    action = "anydevice.remove";
    details["device"] = rest;
    answer = delete_device(ctx, p.tenant, user, rest);
  } else {
    return problem(405, "method-not-allowed", req.method + " " + req.path + ": not allowed");
  }
  audit(ctx, p, req, action, "user:" + user, answer, std::move(details));
  return answer;
}

void add_device_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  auto own = [ctx](const HttpRequest& req, const Principal& p) {
    std::string rest;
    if (req.path != "/api/v1/me/devices") {
      std::string extra;
      rest = path_segment(req, "/api/v1/me/devices/", &extra);
      if (!extra.empty() || req.path.ends_with("/")) rest += "/" + extra;  // no resource below a device
    }
    return devices_request(*ctx, req, p, p.user, rest);
  };
  s.route("GET", "/api/v1/me/devices", authed(ctx, own, On::worker));
  s.route("PUT", "/api/v1/me/devices/*", authed(ctx, own, On::worker));
  s.route("DELETE", "/api/v1/me/devices/*", authed(ctx, own, On::worker));
  // PUT /api/v1/users/{user}/devices/...: GET and DELETE come through rest_identity's /api/v1/users/*.
  s.route("PUT", "/api/v1/users/*", admin_only(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string rest;
            auto name = path_segment(req, "/api/v1/users/", &rest);
            if (rest != "devices" && !rest.starts_with("devices/")) return problem(404, "not-found", "no resource at " + req.path);
            return devices_request(*ctx, req, p, name, rest == "devices" ? "" : rest.substr(8));
          }, On::worker));
}

}  // namespace callbridge::api::rest
