#include "app/rest_wiring.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "api/auth.hpp"
#include "api/rest_api.hpp"
#include "api/static_files.hpp"
#include "app/app.hpp"
#include "app/capability_table.hpp"
#include "app/command_wiring.hpp"
#include "app/tenant_manager.hpp"
#include "base/worker_pool.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include "core/dialing_plan.hpp"
#include "directory/index/indexed_contact_store.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "core/line_features.hpp"
#include "app/store_wiring.hpp"
#include "webhooks/delivery/dispatcher.hpp"

namespace callbridge::app {

struct RestWiring {
  base::SystemClock clock;
  // identity.db or PostgreSQL ([identity] backend; cluster mode: always PostgreSQL).
  std::unique_ptr<ports::IdentityStore> identity;
  std::unique_ptr<api::Authenticator> auth;
  // DATA_DIR/audit.db or PostgreSQL: the routes record sign-ins, tokens, users and settings (its
  // own writer thread; [audit] retention_days).
  std::unique_ptr<ports::AuditLog> audit;
  // The operator's /api/v1/tenants (tenant specs in identity.db); uses the workers below.
  std::unique_ptr<TenantManager> tenants;
  // DATA_DIR/webhooks.db or PostgreSQL, and the delivery engine (its own thread), fed by the event
  // hub's tap.
  std::unique_ptr<ports::WebhookStore> webhook_store;
  std::unique_ptr<webhooks::Dispatcher> webhooks;
  // Takes the tap off the hub before the engine goes (declared after it: destroyed first).
  struct TapGuard {
    core::EventHub* hub = nullptr;
    ~TapGuard() {
      if (hub) {
        hub->set_tap({});
        hub->set_on_remote_user_devices({});
      }
    }
  } tap_guard;
  // The API's routes' context (api::rest::reload_active_device), and the users whose devices
  // another cluster node changed and whose reload is queued on the workers (once per user).
  std::shared_ptr<api::rest::Ctx> api;
  std::mutex reload_mu;
  std::set<std::pair<base::TenantId, std::string>> reloads_queued;
  // contacts.db, its index and the dialing plans are the App's (App::contacts(), App::to_e164()):
  // the same instances serve live calls.
  // Blocking work of the API, off the io thread (wire_rest_api). Two pools, so that a flood of bad
  // tokens (argon2, ~0.1 s of CPU each) cannot take the workers of journal and contact queries.
  // The argon2 threads run at a lower priority: when they saturate the CPU, the io thread (AMI,
  // WebSocket, cached-token requests) still gets it first. A full queue answers 503 + Retry-After.
  // Declared last: destroyed (queued jobs dropped, running ones joined) before what they use.
  std::unique_ptr<base::WorkerPool> auth_workers;
  std::unique_ptr<base::WorkerPool> rest_workers;
  base::Offload rest_offload;
};

api::PrincipalResolver& App::principals() { return *rest_->auth; }

CstaAuthDeps csta_auth_deps(const std::shared_ptr<RestWiring>& w) {
  CstaAuthDeps d;
  api::Authenticator* auth = w->auth.get();
  d.check_token = [auth](std::string token, std::string remote,
                         std::function<void(std::expected<core::Viewer, std::string>)> done) {
    auth->check_token_async(token, remote, [done = std::move(done)](api::PrincipalResult r) {
      if (!r) return done(std::unexpected(r.error().detail.empty() ? std::string("invalid token") : r.error().detail));
      if (r->role == core::Role::operator_) return done(std::unexpected(std::string("operator tokens see no tenant's calls")));
      done(r->viewer());
    });
  };
  ports::IdentityStore* ids = w->identity.get();
  d.users = [ids](const base::TenantId& tenant) {
    auto u = ids->list_users(tenant);
    return u ? std::move(*u) : std::vector<ports::User>{};
  };
  d.audit = w->audit.get();
  d.clock = &w->clock;
  return d;
}

api::EventStreamOptions event_stream_options(const std::shared_ptr<RestWiring>& w) {
  api::EventStreamOptions o;
  ports::IdentityStore* ids = w->identity.get();
  o.tenant_users = [ids](const base::TenantId& tenant) { return ids->list_users(tenant); };
  o.offload = w->rest_offload;  // the look for revoked credentials (identity.db) of open streams
  return o;
}


TenantManager* tenant_manager(const std::shared_ptr<RestWiring>& w) { return w->tenants.get(); }

namespace {
// The served /ui-config.json (the web client's static defaults), at most 64 KiB.
std::optional<std::string> read_ui_config() {
  std::ifstream f(std::filesystem::path(api::default_web_root()) / "ui-config.json", std::ios::binary);
  if (!f) return std::nullopt;
  std::string s(64 * 1024 + 1, '\0');
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(f.gcount()));
  if (s.size() > 64 * 1024) return std::nullopt;
  return s;
}
}  // namespace

// webhooks.db, the delivery engine over it, and the hub's tap into the engine.
base::Status wire_webhooks(App& app, RestWiring& w) {
  auto store = open_webhook_store(app.config(), app.data_dir());
  if (!store) return base::fail(store.error());
  w.webhook_store = std::move(store->store);
  const auto& c = app.config().webhooks;
  webhooks::DispatcherOptions o;
  o.allow = c.allow;
  o.allow_http = c.allow_http;
  o.ca_file = c.ca_file;
  o.connect_timeout = std::chrono::seconds(c.connect_timeout_s);
  o.timeout = std::chrono::seconds(c.timeout_s);
  o.retry_for = std::chrono::seconds(c.retry_for_s);
  o.queue_limit = static_cast<std::size_t>(c.queue);
  o.log_retention = std::chrono::hours(24 * c.log_retention_days);
  auto engine = webhooks::Dispatcher::start(*w.webhook_store, o);
  if (!engine) return base::fail(engine.error());
  w.webhooks = std::move(*engine);
  w.webhook_store->set_on_change([e = w.webhooks.get()](const base::TenantId& t) { e->reload(t); });
  // The webhook stream of each kind of hub message; a switch without default, so that a new kind
  // is a compiler warning here rather than a silent fall into another stream (line_features once
  // fell into the journal stream).
  constexpr auto stream_of = [](core::HubMessage::Kind k) -> std::optional<webhooks::Stream> {
    using K = core::HubMessage::Kind;
    switch (k) {
      case K::call: return webhooks::Stream::call;
      case K::line: return webhooks::Stream::line;  // presence.changed, the PBX's DND included
      case K::journal: return webhooks::Stream::journal;
      case K::queue: return webhooks::Stream::queue;
      case K::user_devices: return webhooks::Stream::any_device;
      // No webhook stream: command outcomes (the user's own), the device registry and user
      // statuses (admins' pages), a line's forwarding (docs/dialplan.md), parked calls (docs/parking.md).
      case K::command:
      case K::device:
      case K::status:
      case K::features:
      case K::parking:
      case K::calls_resynced: return std::nullopt;  // cluster mode: the mirror's bookkeeping
    }
    return std::nullopt;
  };
  app.event_hub().set_tap([e = w.webhooks.get(), stream_of](const core::TappedMessage& m) {
    if (auto stream = stream_of(m.kind)) e->offer(m.tenant, *stream, m.json, m.call_gone);
  });
  w.tap_guard.hub = &app.event_hub();
  return {};
}

base::Result<std::shared_ptr<RestWiring>> wire_rest_api(App& app) {
  auto w = std::make_shared<RestWiring>();

  auto ids = open_identity_store(app.config(), app.data_dir());
  if (!ids) return base::fail(ids.error());
  w->identity = std::move(ids->store);
  std::unique_ptr<ports::TenantStore> tenant_store = std::move(ids->tenants);
  spdlog::info("identity store: {}", ids->location);
  // AnyDevice: every user's chosen active device, for call control from the first make call on
  // (a desk extension only while it is still theirs: core::active_device_of).
  auto active = w->identity->list_active_devices();
  if (!active) return base::fail(active.error());
  std::map<std::pair<base::TenantId, std::string>, std::vector<std::string>> lines;  // (tenant, user) -> extensions
  std::set<base::TenantId> read;
  for (const auto& row : *active) {
    if (row.number.empty() && read.insert(row.tenant).second) {
      auto users = w->identity->list_users(row.tenant);
      if (!users) return base::fail(users.error());
      for (auto& u : *users) lines[{row.tenant, u.name}] = std::move(u.extensions);
    }
  }
  for (const auto& row : *active) {
    auto it = lines.find({row.tenant, row.user});
    app.active_devices().set(row.tenant, row.user,
                             core::active_device_of(row.device, row.number, row.private_device,
                                                    it == lines.end() ? std::vector<std::string>{} : it->second));
  }
  api::AuthOptions ao;
  ao.origins.allowed = app.config().server.allowed_origins;  // cookie requests from these pages too
  w->auth = std::make_unique<api::Authenticator>(*w->identity, w->clock, ao);
  auto audit_log = open_audit_log(app.config(), app.data_dir(), AuditUse::daemon);
  if (!audit_log) return base::fail(audit_log.error());
  w->audit = std::move(audit_log->log);
  auto& io = app.io();
  auto to_io = [&io](std::function<void()> f) { boost::asio::post(io, std::move(f)); };
  w->auth_workers = std::make_unique<base::WorkerPool>(base::WorkerPoolOptions{
      .name = "cb-auth", .threads = 2, .max_queue = 128, .nice = 10});
  w->rest_workers = std::make_unique<base::WorkerPool>(
      base::WorkerPoolOptions{.name = "cb-rest", .threads = 4, .max_queue = 256, .nice = 0});
  w->rest_offload = {w->rest_workers.get(), to_io};
  w->auth->set_offload({w->auth_workers.get(), to_io}, w->rest_offload);

  w->tenants = std::make_unique<TenantManager>(app, std::move(tenant_store), w->rest_offload);

  if (auto st = wire_webhooks(app, *w); !st) return base::fail(st.error());

  api::RestDeps d;
  d.webhooks = w->webhook_store.get();
  d.webhook_engine = w->webhooks.get();
  d.tenants = w->tenants.get();
  d.identity = w->identity.get();
  d.auth = w->auth.get();
  d.audit = w->audit.get();
  d.clock = &w->clock;
  d.journal = &app.journal();
  d.contacts = &app.contacts();
  App* a = &app;
  // GET /api/v1/contacts/lookup asks every source of the tenant (its runtime's lookups).
  d.lookup = [a](const base::TenantId& tenant) { return a->lookup_for(tenant); };
  d.for_each_device_registry = [a](const base::TenantId& tenant,
                                   const std::function<void(const model::DeviceRegistry&)>& f) {
    if (auto* r = a->runtime(tenant)) r->for_each_device_registry(f);
  };
  d.forget_device = [a](const base::TenantId& tenant, std::string_view id) {
    auto* r = a->runtime(tenant);
    return r != nullptr && r->forget_device(id);
  };
  d.publish = [a](const base::TenantId& tenant, core::HubMessage::Kind kind, std::vector<std::string> devices,
                  std::string_view type, std::string_view tail) {
    a->event_hub().publish_raw(tenant, kind, std::move(devices), type, tail);
  };
  d.post_after = [a](std::chrono::milliseconds delay, std::function<void()> f) {
    auto t = std::make_shared<boost::asio::steady_timer>(a->io(), delay);
    t->async_wait([t, f = std::move(f)](const boost::system::error_code& ec) {
      if (!ec) f();
    });
  };
  d.for_each_queue_state = [a](const base::TenantId& tenant,
                               const std::function<void(const model::QueueState&)>& f) {
    if (auto* r = a->runtime(tenant)) r->for_each_queue_state(f);
  };
  d.for_each_parking_state = [a](const base::TenantId& tenant,
                                 const std::function<void(const model::ParkingState&)>& f) {
    if (auto* r = a->runtime(tenant)) r->for_each_parking_state(f);
  };
  d.queue_member = [a](const base::TenantId& tenant, const ports::QueueMemberRequest& req, std::string_view pbx,
                       ports::CommandDone done) {
    auto* r = a->runtime(tenant);
    if (!r) return done(base::fail(base::Error::not_found("no queue '" + req.queue + "' in this tenant")));
    r->queue_member(req, pbx, std::move(done));
  };
  d.line_features = [a](const base::TenantId& tenant) -> ports::PbxFeatures* {
    auto* r = a->runtime(tenant);
    return r ? r->features() : nullptr;
  };
  d.for_each_model = [a](const base::TenantId& tenant, const std::function<void(const model::CallModel&)>& f) {
    if (auto* r = a->runtime(tenant)) r->for_each_model(f);
  };
  if (a->event_hub().logged_mode()) {  // cluster mode: GET /calls shows every node's links
    d.for_each_mirror_call = [hub = &a->event_hub()](
                                 const base::TenantId& tenant,
                                 const std::function<void(std::string_view, const std::vector<std::string>&,
                                                          std::string_view)>& f) { hub->for_each_mirror_call(tenant, f); };
    d.for_each_mirror_line = [hub = &a->event_hub()](
                                 const base::TenantId& tenant,
                                 const std::function<void(const std::string&, model::DeviceState)>& f) {
      hub->for_each_mirror_line(tenant, f);
    };
  }
  d.to_e164 = [a](const base::TenantId& tenant, std::string_view n) { return a->to_e164(tenant, n); };
  d.diagnostics_json = [a, hooks = w->webhooks.get()](const std::optional<base::TenantId>& tenant) {
    std::string j = a->diagnostics_json(tenant);
    if (tenant || j.size() < 2 || j.back() != '}') return j;
    // The daemon's view: the delivery engine's counters (docs/webhooks.md "Diagnostics").
    const auto s = hooks->stats();
    j.pop_back();
    j += (j.size() > 1 ? "," : "");
    j += "\"webhooks\":{\"offered\":" + std::to_string(s.offered) + ",\"overflow\":" + std::to_string(s.overflow) +
         ",\"pending_overflow\":" + std::to_string(s.pending_overflow) + ",\"deliveries\":" + std::to_string(s.events) +
         ",\"attempts\":" + std::to_string(s.attempts) + ",\"delivered\":" + std::to_string(s.delivered) +
         ",\"failed\":" + std::to_string(s.failed) + ",\"retries\":" + std::to_string(s.retries) +
         ",\"blocked\":" + std::to_string(s.blocked) + ",\"queued\":" + std::to_string(s.queued) +
         ",\"pending\":" + std::to_string(s.pending) + "}}";
    return j;
  };
  d.active_devices = &app.active_devices();
  d.any_device = [a](const base::TenantId& tenant) { return a->any_device_settings(tenant); };
  d.publish_to_user = [a](const base::TenantId& tenant, const std::string& user, std::string_view type,
                          std::string_view tail) {
    a->event_hub().publish_to_user(tenant, user, type, tail, core::HubMessage::Kind::user_devices);
  };
  d.ui_config_json = read_ui_config;  // default of GET /api/v1/ui-settings
  d.remote_info = app.remote_info_view();  // "remote_info" per connection in GET /api/v1/calls
  d.offload = w->rest_offload;
  // Call control (capabilities/calls): each tenant runtime's service and command log.
  wire_call_control(d, [a](const base::TenantId& tenant) { return a->runtime(tenant); });
  // Cluster mode: the commands of a tenant whose PBX link another node owns go to that node.
  d.remote_call_control = [a](const base::TenantId& tenant) { return a->remote_commands(tenant); };
  d.metrics_allow = app.config().server.metrics_allow;
  w->api = add_api_routes(app.http(), std::move(d));
  // Cluster mode (issue 19): another node stored a user's device change (its user_devices record
  // came through the event log): this node's copy of their active device, which its make calls and
  // journal read, and the follow-me of their lines if this node owns the link, follow it as on the
  // node that stored it. The store may be PostgreSQL: read on a worker; a user's reloads queued
  // meanwhile are one (each reads the store as it is then).
  app.event_hub().set_on_remote_user_devices([weak = std::weak_ptr<RestWiring>(w)](const base::TenantId& tenant,
                                                                               const std::string& user) {
    auto w = weak.lock();
    if (!w || !w->rest_offload.pool || !w->api) return;
    {
      std::lock_guard lock(w->reload_mu);
      if (!w->reloads_queued.emplace(tenant, user).second) return;
    }
    const bool queued = w->rest_offload.pool->try_submit([weak, tenant, user] {
      auto w = weak.lock();
      if (!w) return;
      {
        std::lock_guard lock(w->reload_mu);
        w->reloads_queued.erase({tenant, user});
      }
      auto active = api::rest::reload_active_device(*w->api, tenant, user);
      if (!active)
        return spdlog::warn("tenant {}: {}'s devices changed on another node; reading them failed: {}", tenant, user,
                            active.error().message());
      spdlog::info("tenant {}: {}'s devices changed on another node; active device: {}", tenant, user,
                   *active ? (*active)->name : std::string("the tenant's default"));
    });
    if (!queued) {
      std::lock_guard lock(w->reload_mu);
      w->reloads_queued.erase({tenant, user});
      spdlog::warn("tenant {}: {}'s devices changed on another node; reload skipped (workers busy)", tenant, user);
    }
  });
  // Issue 14: the follow-me numbers in AstDB follow the users' active devices also across
  // reconnects: after each login's read-back, the lines whose follow-me no longer rings their
  // owner's active external device are rewritten (or follow-me turned off). identity.db on a worker.
  app.set_on_features_ready([a = &app, weak = std::weak_ptr<RestWiring>(w)](const base::TenantId& tenant) {
    auto w = weak.lock();
    if (!w || !w->rest_offload.pool) return;
    const bool queued = w->rest_offload.pool->try_submit([a, weak, tenant] {
      auto w = weak.lock();
      if (!w) return;
      auto users = w->identity->list_users(tenant);
      if (!users) return spdlog::warn("tenant {}: follow-me check after login: {}", tenant, users.error().message());
      // The active devices as the store has them now: in cluster mode this node may own the link
      // only since a moment, and changes logged before it started or in a gap of its event log
      // never reached its copy (issue 19). Refreshed for the tenant's users, as changed() sets them.
      auto rows = w->identity->list_active_devices();
      if (!rows) return spdlog::warn("tenant {}: follow-me check after login: {}", tenant, rows.error().message());
      std::map<std::string, const ports::ActiveDeviceRow*> chosen;
      for (const auto& row : *rows)
        if (row.tenant == tenant) chosen[row.user] = &row;
      for (const auto& u : *users) {
        std::optional<core::ActiveDevice> active;
        if (auto it = chosen.find(u.name); it != chosen.end())
          active = core::active_device_of(it->second->device, it->second->number, it->second->private_device,
                                          u.extensions);
        if (a->active_devices().get(tenant, u.name) != active) a->active_devices().set(tenant, u.name, active);
      }
      // Per line: the follow-me number its owner's active device asks for. A line of several users
      // (a shared phone) follows the one whose active device is external; off only if none is.
      std::map<std::string, std::optional<std::string>> want;
      auto settings = a->any_device_settings(tenant);
      const core::AnyDevicePolicy policy = settings ? settings->policy : core::AnyDevicePolicy{};
      for (const auto& u : *users) {
        auto number = core::follow_me_number(a->active_devices().get(tenant, u.name), policy);
        for (const auto& l : u.extensions) {
          auto [it, fresh] = want.emplace(l, number);
          if (!fresh && !it->second) it->second = number;
        }
      }
      w->rest_offload.to_io([a, tenant, want = std::move(want)] {
        auto* r = a->runtime(tenant);
        ports::PbxFeatures* f = r ? r->features() : nullptr;
        if (!f) return;
        std::size_t n = 0;
        for (const auto& [line, number] : want)
          n += core::follow_active_device(*f, {line}, number, "tenant " + tenant.str() + " after login");
        if (n) spdlog::info("tenant {}: follow-me of {} line(s) moved to the users' active devices", tenant, n);
      });
    });
    if (!queued) spdlog::warn("tenant {}: follow-me check after login skipped (workers busy)", tenant);
  });
  return w;
}

}  // namespace callbridge::app
