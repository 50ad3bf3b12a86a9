// The REST API of docs/api.md that is not a capability's: identity (me, sessions, users, tokens),
// UI settings, diagnostics, metrics, the operator's tenants, the OpenAPI document, and the
// problem+json 404 for unknown /api/v1 paths. add_rest_routes() registers them on an HttpServer and
// returns the context the capabilities' routes share (src/capabilities/: calls, presence, journal,
// contacts; registered by the app's capability table); the app calls it once (the WebSocket is
// api/ws_event_stream).
// Handlers that read the call models run on the io thread; handlers that block (SQLite, directory
// lookups, argon2) run on RestDeps::offload.pool and answer through the HTTP server. Every data access
// takes the tenant from the authenticated Principal, never from the request.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/auth.hpp"
#include "api/http_server.hpp"
#include "core/any_device.hpp"
#include "core/event_hub.hpp"
#include "base/cidr.hpp"
#include "base/time.hpp"
#include "base/worker_pool.hpp"
#include "model/call_model.hpp"
#include "model/device_registry.hpp"
#include "model/parking_state.hpp"
#include "model/queue_state.hpp"
#include "ports/pbx_driver.hpp"
#include "ports/audit_log.hpp"
#include "ports/contact_source.hpp"
#include "ports/identity_store.hpp"
#include "ports/journal_store.hpp"
#include "ports/webhook_store.hpp"

namespace callbridge::core {
class ActiveDevices;
struct AnyDeviceSettings;
class CallCommands;
class CallControlService;
class CommandLog;
class ChosenContacts;
class CallTraceLog;
class LookupService;
class RemoteInfoView;
}

namespace callbridge::api {

namespace rest {
struct Ctx;  // rest_common.hpp
}
class TenantAdmin;  // api/tenant_admin.hpp

struct RestDeps {
  ports::IdentityStore* identity = nullptr;  // required
  Authenticator* auth = nullptr;                      // required
  const base::Clock* clock = nullptr;                 // required
  ports::JournalStore* journal = nullptr;             // null: journal routes 503, no callbacks
  ports::ContactStore* contacts = nullptr;            // null: contact routes answer 503
  // Who did what (sign-ins, tokens, users, settings, tenants; the calls capability: call-control
  // commands): the routes append records. Null: nothing is
  // recorded and GET /api/v1/audit answers 503.
  ports::AuditLog* audit = nullptr;
  // The tenant's lookup engine (any thread); unset or null: lookups go to `contacts` directly.
  std::function<std::shared_ptr<core::LookupService>(const base::TenantId& tenant)> lookup;
  const core::RemoteInfoView* remote_info = nullptr;  // null: calls without "remote_info"
  // Blocking handlers (journal, contacts, lookups, users, tokens, settings, sessions) run on
  // offload.pool and come back through offload.to_io; a full queue answers 503 overloaded. Empty:
  // they run inline on the io thread (tests).
  base::Offload offload;
  // Calls every live CallModel of `tenant` (io thread). Unset: no live calls.
  std::function<void(const base::TenantId& tenant, const std::function<void(const model::CallModel&)>&)>
      for_each_model;
  // Cluster mode (docs/cluster.md "Call events on every node"): the tenant's calls on every node's
  // links as the cluster's event log last described them (core::EventHub::for_each_mirror_call);
  // when set, GET /api/v1/calls and /calls/{id} show those calls too (this node's own links from
  // for_each_model: live channel counts). Io thread.
  std::function<void(const base::TenantId& tenant,
                     const std::function<void(std::string_view id, const std::vector<std::string>& devices,
                                              std::string_view json)>&)>
      for_each_mirror_call;
  // Cluster mode: the tenant's line states as the cluster's event log last described them
  // (core::EventHub::for_each_mirror_line); when set, GET /api/v1/lines and /presence show the lines
  // of the links other nodes own too (this node's own from for_each_model first). Io thread.
  std::function<void(const base::TenantId& tenant,
                     const std::function<void(const std::string& device, model::DeviceState s)>&)>
      for_each_mirror_line;
  // The device registries of `tenant`'s PBX connections (io thread; docs/devices.md). Unset: none.
  std::function<void(const base::TenantId& tenant, const std::function<void(const model::DeviceRegistry&)>&)>
      for_each_device_registry;
  // Removes device `id` of `tenant` from its registry (io thread); false: no such device. Unset:
  // none.
  std::function<bool(const base::TenantId& tenant, std::string_view id)> forget_device;
  // The queue states of `tenant`'s PBX connections (io thread; docs/queues.md). Unset: none.
  std::function<void(const base::TenantId& tenant, const std::function<void(const model::QueueState&)>&)>
      for_each_queue_state;
  // The parked calls of `tenant`'s PBX connections (io thread; docs/parking.md). Unset: those of
  // the tenant's call control (call_control(tenant)->parking()) only.
  std::function<void(const base::TenantId& tenant, const std::function<void(const model::ParkingState&)>&)>
      for_each_parking_state;
  // An agent's queue membership change through the PBX that has the queue (io thread; `pbx` ""
  // = any); `done` once on the io thread. Unset: Errc::unavailable.
  std::function<void(const base::TenantId& tenant, const ports::QueueMemberRequest& r, std::string_view pbx,
                     ports::CommandDone done)>
      queue_member;
  // A tenant's DND, call forwarding and follow-me, carried out by its PBX (io thread;
  // docs/dialplan.md). Unset, or null for a tenant: the routes answer 503 pbx-unavailable.
  std::function<ports::PbxFeatures*(const base::TenantId& tenant)> line_features;
  // Publishes {"type":<type>,"seq":N<json_tail>} on `tenant`'s event stream as core::EventHub::
  // publish_raw does (io thread; e.g. the presence capability's user_status events). Unset: nothing.
  std::function<void(const base::TenantId& tenant, core::HubMessage::Kind kind, std::vector<std::string> devices,
                     std::string_view type, std::string_view json_tail)>
      publish;
  // Runs `f` on the io thread after `d` (e.g. a user status that ends by itself). Unset: never.
  std::function<void(std::chrono::milliseconds d, std::function<void()> f)> post_after;
  // A tenant's dialing plan: raw number -> E.164, nullopt if not an external number. Unset: only
  // "+<digits>" input is accepted. Called on worker threads.
  std::function<std::optional<std::string>(const base::TenantId& tenant, std::string_view raw)> to_e164;
  // The app's diagnostics object (JSON) of one tenant (what its admins see) or, for nullopt, of
  // the whole daemon (the operator, the loopback /metrics scrape), with its "clients" list; the
  // route adds "auth" and "workers" to the daemon's. Unset: "{}".
  std::function<std::string(const std::optional<base::TenantId>& tenant)> diagnostics_json;
  // The served /ui-config.json (web root), the default of GET /api/v1/ui-settings for tenants that
  // saved none; nullopt/unset: empty defaults.
  std::function<std::optional<std::string>()> ui_config_json;
  // Operator routes /api/v1/tenants (api/rest_tenants.cpp). Null: they answer 503.
  TenantAdmin* tenants = nullptr;
  // A tenant's call control and its command log (its core::TenantRuntime's; io thread), for the
  // calls capability's commands. Unset or null for a tenant: they answer 503 pbx-unavailable and
  // GET /api/v1/commands/{id} 404.
  std::function<core::CallControlService*(const base::TenantId& tenant)> call_control;
  std::function<std::shared_ptr<core::CommandLog>(const base::TenantId& tenant)> command_log;
  // Cluster mode (docs/cluster.md "Commands on any node"): for a tenant whose call_control is null
  // here because another node owns its PBX link, the commands that go there (RemoteCallCommands).
  // Unset or null: 503 pbx-unavailable as without call control.
  std::function<std::shared_ptr<core::CallCommands>(const base::TenantId& tenant)> remote_call_control;
  // A tenant's contacts chosen in screen pops (PUT /api/v1/calls/{id}/contact; io thread). Unset
  // or null: that route answers 503.
  std::function<core::ChosenContacts*(const base::TenantId& tenant)> chosen_contacts;
  // A tenant's explain traces (GET /api/v1/calls/{id}/trace, admins; io thread). Unset or null: 404.
  std::function<const core::CallTraceLog*(const base::TenantId& tenant)> call_trace;
  // Webhooks (capabilities/webhooks): the tenants' hooks and delivery logs, and the delivery engine
  // (URL and template checks, ids, secrets, test pings). Null: the webhook routes answer 503.
  ports::WebhookStore* webhooks = nullptr;
  ports::WebhookEngine* webhook_engine = nullptr;
  // AnyDevice (/api/v1/me/devices, /api/v1/users/{user}/devices): every user's active device, which
  // call control reads at each make call and the routes update after each stored change (any
  // thread), and a tenant's settings (number policy, default map; any thread; null: no policy).
  // Null active_devices: the device routes answer 503.
  core::ActiveDevices* active_devices = nullptr;
  std::function<std::shared_ptr<const core::AnyDeviceSettings>(const base::TenantId& tenant)> any_device;
  // Sends {"type": `type`, "seq": N` + json_tail` to one user's event streams (io thread; EventHub::
  // publish_to_user). Unset: no events.
  std::function<void(const base::TenantId& tenant, const std::string& user, std::string_view type,
                     std::string_view json_tail)>
      publish_to_user;
  std::size_t max_body_bytes = 64 * 1024;
  // Secure flag on cb_session even for plain-HTTP requests (behind a TLS-terminating proxy);
  // requests that arrive over TLS always get it.
  bool secure_cookies = false;
  // Peers that may read GET /metrics without a token ([server] metrics_allow). Empty: an admin
  // token is always needed. The Host header plays no part: behind a local reverse proxy or under
  // DNS rebinding every request comes from loopback, so loopback alone proves nothing.
  std::vector<base::Cidr> metrics_allow;
};

std::shared_ptr<rest::Ctx> add_rest_routes(HttpServer& server, RestDeps deps);

// AnyDevice: re-reads `user`'s devices from the identity store, sets their entry in
// RestDeps::active_devices and makes the follow-me of their lines follow it where this node has the
// tenant's PBX features (RestDeps::line_features, on the io thread): what the device routes do after
// every change they stored. Cluster mode: the app calls it when another node stored such a change
// (docs/cluster.md "AnyDevice on every node"). Worker thread (the store may be PostgreSQL); an
// error is the store's (the cache keeps what it had). Else the active device now (nullopt: never
// chosen, or gone: the tenant's default).
namespace rest {
base::Result<std::optional<core::ActiveDevice>> reload_active_device(Ctx& ctx, const base::TenantId& tenant, const std::string& user);
}  // namespace rest

// The served OpenAPI document: src/api/openapi.json with every capability's fragment, assembled at
// build time (tools/openapi_assemble.py).
std::string_view openapi_json();

}  // namespace callbridge::api
