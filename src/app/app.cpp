#include "app/app.hpp"
#include "app/tenant_manager.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <filesystem>

#include "api/health_routes.hpp"
#include "app/cluster_wiring.hpp"
#include "app/driver_table.hpp"
#include "app/store_wiring.hpp"
#include "core/lookup_service.hpp"
#include "core/remote_info_service.hpp"
#include "directory/index/indexed_contact_store.hpp"
#include "app/directory_wiring.hpp"
#include "app/rest_wiring.hpp"
#include "app/command_wiring.hpp"
#include "app/csta_wiring.hpp"
#include "app/relay_call_summaries.hpp"
#include "app/relay_tunnel_wiring.hpp"
#include "csta_server/csta_listener.hpp"
#include "csta_server/csta_server.hpp"
#include "api/static_files.hpp"
#include "base/log.hpp"
#include "base/private_dir.hpp"
#include "base/service_notify.hpp"
#include "relay/auth/edge_auth.hpp"
#include "relay/edge/relay_client.hpp"
#include "relay/tunnel/tunnel.hpp"

#ifndef CALLBRIDGE_VERSION
#define CALLBRIDGE_VERSION "dev"
#endif

namespace callbridge::app {

namespace fs = std::filesystem;
using base::Error;
using base::fail;

namespace {

core::JournalPolicyConfig policy_config(const Config& c) {
  return {c.journal.exclude_internal, c.journal.excluded_numbers, c.journal.retention_days};
}

base::Timestamp wall_now() { return base::SystemClock().now(); }

const base::Clock& system_clock() {
  static const base::SystemClock clock;
  return clock;
}

}  // namespace

App::App(Config config, AppOptions options)
    : config_(std::move(config)),
      options_(options),
      data_dir_(effective_data_dir(config_)),
      policy_(policy_config(config_)),
      retention_(policy_, options.retention_interval),
      signals_(io_, SIGINT, SIGTERM),
      hangup_(io_, SIGHUP),
      watchdog_timer_(io_),
      retention_timer_(io_),
      shutdown_timer_(io_),
      contacts_timer_(io_) {}

// The hub's and the REST API's view of remote info: each tenant's own RemoteInfoService.
class App::RemoteInfoRouter final : public core::RemoteInfoView {
 public:
  explicit RemoteInfoRouter(const App& app) : app_(app) {}
  void append_remote_info(std::string& out, const base::TenantId& tenant,
                          const model::Connection& conn) const override {
    if (const auto* r = app_.runtime(tenant)) r->remote_info().append_remote_info(out, tenant, conn);
    else out += "null";
  }

 private:
  const App& app_;
};

base::Result<std::unique_ptr<App>> App::create(Config config, AppOptions options) {
  std::unique_ptr<App> app(new App(std::move(config), options));

  // Owner-only state (docs/security.md): the dir 0700, its files 0600, an older install tightened.
  auto priv = base::make_private_dir(app->data_dir_);
  if (!priv) return fail(priv.error());
  if (!priv->tightened.empty())
    spdlog::warn("data dir {}: removed group/other access from {} entries (now owner-only), e.g. {}", app->data_dir_,
                 priv->tightened.size(), priv->tightened.front());
  for (const auto& f : priv->failed) spdlog::warn("data dir: {}", f);

  // Cluster mode: nothing tenant-scoped in a node-local file (the configuration already refuses a
  // store set to "sqlite"; this catches any configuration made in code, e.g. by a test).
  if (auto local = node_local_store(app->config_); !local.empty())
    return fail(Error::invalid_argument("cluster mode ([cluster] node " + app->config_.cluster.node + "): " + local +
                                        " would stay in node-local SQLite; every tenant-scoped store must be in "
                                        "PostgreSQL (docs/cluster.md)"));
  if (app->config_.cluster.enabled)
    spdlog::info("cluster mode: node {}, every tenant-scoped store in PostgreSQL {}", app->config_.cluster.node,
                 postgres_location(app->config_.cluster.postgres));
  if (auto st = app->open_journal(); !st) return fail(st.error());
  if (auto st = app->open_contacts(); !st) return fail(st.error());

  // [cluster]: NATS and the leases before any tenant: each PBX link's driver is built only on the
  // node that owns the link (on_lease).
  if (app->config_.cluster.enabled) {
    App* raw = app.get();
    auto c = open_cluster(
        app->config_.cluster,
        [raw](const cluster::LeaseChange& change) {
          boost::asio::post(raw->io_, [raw, change] { raw->on_lease(change); });
        },
        // The tenants' events as the cluster's log numbered them, in order (docs/cluster.md "Call
        // events on every node"): every node's hub delivers them to its clients.
        [raw](const base::TenantId& tenant, std::uint64_t seq, std::string_view record, bool own) {
          boost::asio::post(raw->io_, [raw, tenant, seq, record = std::string(record), own] {
            raw->event_hub_.apply_logged(tenant, seq, record, own);
          });
        });
    if (!c) return fail(c.error());
    app->cluster_ = std::move(*c);
    auto relay = open_command_relay(
        *app->cluster_, app->config_.cluster, [raw](std::function<void()> f) { boost::asio::post(raw->io_, std::move(f)); },
        [raw](std::chrono::milliseconds d, std::function<void()> f) {
          auto t = std::make_shared<boost::asio::steady_timer>(raw->io_, d);
          t->async_wait([t, f = std::move(f)](const boost::system::error_code& ec) {
            if (!ec) f();
          });
        });
    if (!relay) return fail(relay.error());
    app->event_hub_.set_event_log(app->cluster_->events.get());
  }

  // {"type":"journal"} events carry the entry's stored id: published once the store committed it,
  // by the entry's own tenant (a tenant removed meanwhile publishes nothing).
  App* self = app.get();
  app->journal_ids_ = app->store_->set_on_committed([self](std::vector<ports::StoredEntry> done) {
    boost::asio::post(self->io_, [self, done = std::move(done)] {
      for (const auto& e : done)
        if (auto* r = self->runtime(e.entry.tenant)) r->on_committed(e);
    });
  });
  app->remote_router_ = std::make_unique<RemoteInfoRouter>(*app);
  app->event_hub_.set_remote_info(app->remote_router_.get());

  // One runtime per tenant the configuration names, each with its drivers.
  for (auto& setup : tenant_setups(app->config_))
    if (auto r = app->add_tenant(std::move(setup)); !r) return fail(r.error());

  auto hp = parse_host_port(app->config_.server.listen);
  if (!hp) return fail(Error::invalid_argument("server.listen: " + hp.error().message()));
  api::HttpServerOptions ho;
  ho.host = hp->host;
  ho.port = hp->port;
  ho.tls_cert_file = app->config_.server.tls_cert_file;
  ho.tls_key_file = app->config_.server.tls_key_file;
  ho.max_connections = app->config_.server.max_connections;
  ho.max_connections_per_address = app->config_.server.max_connections_per_address;
  ho.header_timeout = std::chrono::seconds(app->config_.server.first_request_timeout_s);
  app->http_ = std::make_unique<api::HttpServer>(app->io_, ho);
  // /healthz and /readyz; GET /api/v1/diagnostics is the REST API's (admin only), so the health
  // routes get no diagnostics of their own (a second registration of it would abort).
  api::add_health_routes(*app->http_, {[self] { return self->not_ready_reasons(); }, {}});
  auto rest = wire_rest_api(*app);
  if (!rest) return fail(rest.error());
  app->rest_ = std::move(*rest);
  app->serve_events(app->principals(), event_stream_options(app->rest_));  // GET /api/v1/events, team presence
  api::add_static_routes(*app->http_, {api::default_web_root()});
  if (auto st = app->http_->start(); !st) return fail(st.error());
  // Tenants the operator created over the API (identity.db), after the file's.
  tenant_manager(app->rest_)->load();
  auto csta = wire_csta(*app, app->config_.csta, csta_auth_deps(app->rest_));
  if (!csta) return fail(csta.error());
  app->csta_ = std::move(*csta);
  if (auto st = app->start_relay(); !st) return fail(st.error());
  return app;
}

// [relay]: dial out to the cloud relay as edge `edge_id` (docs/relay.md "The edge").
base::Status App::start_relay() {
  const RelayConfig& rc = config_.relay;
  if (rc.url.empty()) return {};
  const std::string key_file =
      rc.edge_key_file.empty() ? (std::filesystem::path(data_dir_) / "relay-edge.key").string() : rc.edge_key_file;
  auto keys = relay::auth::load_or_create_key_file(key_file);
  if (!keys) return fail(Error(keys.error().code(), "[relay] edge_key_file: " + keys.error().message()));
  relay::edge::RelayClientOptions o;
  std::shared_ptr<const cluster::LeaseFence> edge_fence;
  if (cluster_) {
    // One node at a time is the edge (the relay lets a second login of an edge replace the first):
    // the one holding the edge's lease; it connects out when it gains it (on_lease).
    relay_lease_ = cluster::lease_key(rc.edge_id, "edge.");
    edge_fence = cluster_->leases->want(relay_lease_);
    o.may_connect = [edge_fence] { return edge_fence->valid(); };
  }
  o.url = rc.url;
  o.fallback_urls = rc.fallback_urls;
  o.edge_id = rc.edge_id;
  o.keys = std::move(*keys);
  o.join_token = rc.join_token;
  o.ca_file = rc.ca_file;
  o.outbox_frames = rc.outbox_frames;
  o.outbox_bytes = rc.outbox_bytes;
  const bool relaxed = rc.privacy == "relaxed";
  o.privacy_relaxed = relaxed;
  auto client = relay::edge::RelayClient::create(io_, std::move(o));
  if (!client) return fail(client.error());
  relay_ = std::move(*client);
  // The end-to-end tunnel (docs/relay.md "Tunnel") on it, before any frame can arrive.
  RelayTunnelSetup ts;
  auto devices = open_paired_devices(config_, data_dir_);
  if (!devices) return fail(Error(devices.error().code(), "[relay]: paired devices: " + devices.error().message()));
  ts.devices = std::move(devices->store);
  ts.edge_id = rc.edge_id;
  auto hp = parse_host_port(config_.server.listen);
  ts.api_host = hp ? hp->host : "127.0.0.1";
  ts.api_port = http_->port();
  if (!config_.server.tls_key_file.empty()) ts.api_tls_cert_file = config_.server.tls_cert_file;
  auto tunnel = wire_relay_tunnel(io_, *relay_, std::move(ts));
  if (!tunnel) return fail(Error(tunnel.error().code(), "[relay]: " + tunnel.error().message()));
  relay_tunnel_ = std::move(*tunnel);
  if (relaxed) {
    // The edge admin's choice (docs/relay.md "Privacy mode"): live calls in plaintext to the relay.
    auto summaries = std::make_unique<RelayCallSummaries>(io_, event_hub_, remote_router_.get(), *relay_);
    for (const auto& [id, rt] : runtimes_) summaries->watch(id);
    relay_->set_on_login([s = summaries.get()] { s->resend_all(); });
    relay_tunnel_->summaries = std::move(summaries);
    spdlog::warn("relay: privacy relaxed ([relay] privacy): the relay is sent each live call's state, remote number, "
                 "contact name and devices in plaintext, for its diagnostics of this edge");
  }
  if (cluster_) {
    spdlog::info("relay: edge \"{}\" (paired devices in {}) connects out to {} from the node that holds lease {}",
                 rc.edge_id, devices->location, rc.url, relay_lease_);
    if (edge_fence->valid()) on_relay_lease(true, "held already");
    return {};
  }
  relay_->start();
  spdlog::info("relay: edge \"{}\" connecting out to {}", rc.edge_id, rc.url);
  return {};
}

// Cluster mode, io thread: this node became the relay's edge, or stopped being it.
void App::on_relay_lease(bool gained, const std::string& why) {
  if (!relay_) return;
  if (gained) {
    spdlog::info("cluster: node {} is the relay edge \"{}\" now ({}); connecting out", cluster_->node,
                 config_.relay.edge_id, why);
    relay_->start();
    return;
  }
  spdlog::warn("cluster: node {} is no longer the relay edge \"{}\": {}; its relay connection closes", cluster_->node,
               config_.relay.edge_id, why);
  relay_->stop();
}

relay::edge::EdgeLink* App::relay_link() { return relay_.get(); }

// journal.backend: "sqlite" = DATA_DIR/journal.db, "postgres" = journal.dsn (app/store_wiring, as
// the CLI opens it).
base::Status App::open_journal() {
  auto opened = open_journal_store(config_, data_dir_);
  if (!opened) return fail(opened.error());
  journal_stats_ = [stats = std::move(opened->stats)] {
    auto x = stats();
    return App::JournalCounters{x.appended, x.committed,         x.dropped, x.write_errors,
                                x.queued,   x.last_write_failed, x.skipped};
  };
  journal_location_ = std::move(opened->location);
  store_ = std::move(opened->store);
  return {};
}

App::~App() {
  relay_.reset();  // its handlers (the end-to-end layer's) reach the REST API and the runtimes
  relay_tunnel_.reset();
  csta_.reset();  // its listener holds handlers on io_, its sessions reach the runtimes
  // Drivers and HTTP hold handlers on io_; destroy them before io_ (declared first) goes. A driver
  // that did not stop journals its open calls through its runtime into the (still open) store.
  runtimes_.clear();
  event_hub_.set_event_log(nullptr);  // the log goes with cluster_
  event_stream_.reset();
  http_.reset();
  blocking_.join();
}

std::uint16_t App::csta_port() const {
  return csta_ && csta_->listener ? csta_->listener->port() : 0;
}

std::optional<std::string> App::to_e164(const base::TenantId& tenant, std::string_view raw) const {
  std::shared_ptr<const core::DialingPlan> plan;
  {
    std::lock_guard lk(shared_mu_);
    if (auto it = shared_.find(tenant); it != shared_.end()) plan = it->second.plan;
  }
  return core::lookup_e164(plan.get(), raw);
}

std::shared_ptr<const core::AnyDeviceSettings> App::any_device_settings(const base::TenantId& tenant) const {
  std::lock_guard lk(shared_mu_);
  auto it = shared_.find(tenant);
  return it == shared_.end() ? nullptr : it->second.any_device;
}

std::shared_ptr<core::LookupService> App::lookup_for(const base::TenantId& tenant) const {
  std::lock_guard lk(shared_mu_);
  auto it = shared_.find(tenant);
  return it == shared_.end() ? nullptr : it->second.lookup;
}

ports::ContactStore& App::contacts() {
  if (indexed_) return *indexed_;
  return *contacts_;
}

// The built-in store: one instance for the REST API (edits, imports) and every tenant's lookups,
// in the place the configuration names for daemon and CLI alike (app/store_wiring).
base::Status App::open_contacts() {
  auto cs = open_contact_store(config_, data_dir_,
                               [this](const base::TenantId& tenant, std::string_view n) { return to_e164(tenant, n); });
  if (!cs) return fail(cs.error());
  contacts_ = std::move(cs->store);
  spdlog::info("contact store: {}", cs->location);
  // Loads in the background; the store answers meanwhile. Each tenant's index is loaded when
  // add_tenant() builds its runtime: the file's at start-up and an operator's at run time alike.
  if (config_.directory.memory_index)
    indexed_ = std::make_unique<directory::IndexedContactStore>(*contacts_, std::move(cs->index_loader));
  return {};
}

core::TenantServices App::tenant_services() {
  core::TenantServices s;
  s.hub = &event_hub_;
  s.journal = store_.get();
  s.policy = &policy_;
  s.clock = &system_clock();
  s.post = [this](std::function<void()> f) { boost::asio::post(io_, std::move(f)); };
  s.post_after = [this](std::chrono::milliseconds d, std::function<void()> f) {
    auto t = std::make_shared<boost::asio::steady_timer>(io_, d);
    t->async_wait([t, f = std::move(f)](const boost::system::error_code& ec) {
      if (!ec) f();
    });
  };
  s.journal_ids = journal_ids_;
  s.on_command = command_publisher(event_hub_);  // {"type":"command"} to the issuing user
  s.on_features_ready = [this](const base::TenantId& t) {
    if (on_features_ready_) on_features_ready_(t);
  };
  return s;
}

base::Result<core::TenantRuntime*> App::add_tenant(TenantSetup setup) {
  const base::TenantId id = setup.id;
  if (runtimes_.contains(id)) return fail(Error::conflict("tenant " + id.str() + " exists already"));
  auto plan = setup_dialing_plan(setup);  // built once: runtime, drivers and REST share it
  if (!plan) return fail(plan.error());

  // The tenant's directories: the built-in store (its rows of this tenant) and its own sources.
  // Non-owning: the App owns the store and destroys the runtimes (and their lookups) first.
  std::shared_ptr<ports::ContactSource> store(std::shared_ptr<void>(), &contacts());
  core::TenantSpec spec{.id = id, .plan = *plan};
  spec.directories.push_back({store, std::chrono::milliseconds(800), {id.str()}, "store"});
  DirectoryConfig dirs;
  dirs.ldap = setup.ldap;
  dirs.http = setup.http;
  auto external = external_sources(dirs, [p = *plan](const base::TenantId&) -> ports::ToE164 {
    return [p](std::string_view raw) { return core::lookup_e164(p.get(), raw); };
  });
  if (!external) return fail(external.error());
  for (auto& e : *external) {
    spdlog::info("directory: {} source \"{}\" for tenant {} (priority {}, timeout {} ms)", e.kind,
                 e.source->name(), id, e.source->priority(), e.timeout.count());
    spec.directories.push_back(std::move(e));
  }
  spec.call_control = call_control_options(setup, &active_devices_);
  spec.trace.max_calls = static_cast<std::size_t>(config_.trace.max_calls);
  spec.trace.retention = std::chrono::minutes(config_.trace.retention_minutes);
  auto rt = std::make_unique<core::TenantRuntime>(std::move(spec), tenant_services());

  for (const auto& pbx : setup.pbx) {
    if (cluster_) {  // built when this node owns the link (on_lease)
      if (auto st = check_driver(pbx); !st) return fail(st.error());
      continue;
    }
    DriverContext context{.io = io_,
                          .sink = rt->sink(),
                          .tenant = setup.tenant ? &*setup.tenant : nullptr,
                          .plan = *plan,
                          .open_state = store_.get()};
    auto driver = make_driver(pbx, context);
    if (!driver) return fail(driver.error());
    if (auto st = rt->add_driver(std::move(*driver)); !st) return fail(st.error());
  }
  auto* raw = rt.get();
  {
    std::lock_guard lk(shared_mu_);
    shared_[id] = TenantShared{*plan, rt->shared_lookup(), app::any_device_settings(setup)};
  }
  if (indexed_) indexed_->preload(id);  // its lookups from memory from the first call on
  runtimes_.emplace(id, std::move(rt));
  if (relay_tunnel_ && relay_tunnel_->summaries) relay_tunnel_->summaries->watch(id);  // privacy relaxed
  if (cluster_) {
    auto kept = std::make_shared<const TenantSetup>(setup);
    for (const auto& pbx : setup.pbx) {
      const std::string key = cluster::lease_key(pbx.name);
      cluster_->links.insert_or_assign(key, ClusterWiring::Link(id, pbx, kept, cluster_->leases->want(key)));
    }
  }
  if (running_ && !shutting_down_) {
    spdlog::info("tenant {}: added with {} PBX link(s)", id, setup.pbx.size());
    raw->start();
  }
  return raw;
}

void App::remove_tenant(const base::TenantId& tenant, std::function<void(base::Status)> done) {
  auto it = runtimes_.find(tenant);
  if (it == runtimes_.end()) {
    if (done) done(fail(Error::not_found("tenant " + tenant.str() + " does not exist")));
    return;
  }
  {
    std::lock_guard lk(shared_mu_);
    shared_.erase(tenant);  // no new lookups or numbers for it from the REST workers
  }
  if (cluster_) {  // its links' leases go at once: another node may take them
    for (auto l = cluster_->links.begin(); l != cluster_->links.end();) {
      if (l->second.tenant != tenant) {
        ++l;
        continue;
      }
      cluster_->leases->release(l->first);
      if (cluster_->commands) cluster_->commands->unserve(l->second.pbx.name);
      l = cluster_->links.erase(l);
    }
  }
  core::TenantRuntime* rt = it->second.get();
  rt->stop([this, tenant, rt, done = std::move(done)]() mutable {
    // Destroyed from a fresh handler, not from inside its own drivers' stop callbacks.
    boost::asio::post(io_, [this, tenant, rt, done = std::move(done)] {
      if (auto i = runtimes_.find(tenant); i != runtimes_.end() && i->second.get() == rt) {
        runtimes_.erase(i);
        if (indexed_) indexed_->drop(tenant);  // its slice of the contact index goes too
        spdlog::info("tenant {}: removed", tenant);
      }
      if (done) done({});
    });
  });
}

const core::RemoteInfoView* App::remote_info_view() const { return remote_router_.get(); }

core::TenantRuntime* App::runtime(const base::TenantId& tenant) {
  auto it = runtimes_.find(tenant);
  return it == runtimes_.end() ? nullptr : it->second.get();
}

const core::TenantRuntime* App::runtime(const base::TenantId& tenant) const {
  auto it = runtimes_.find(tenant);
  return it == runtimes_.end() ? nullptr : it->second.get();
}

std::shared_ptr<core::CallCommands> App::remote_commands(const base::TenantId& tenant) {
  if (!cluster_ || !cluster_->commands) return nullptr;
  std::string link = command_link(*cluster_, tenant);
  if (link.empty()) return nullptr;
  return std::make_shared<core::RemoteCallCommands>(*cluster_->commands, std::move(link));
}

void App::for_each_runtime(const std::function<void(core::TenantRuntime&)>& f) {
  for (auto& [id, r] : runtimes_) f(*r);
}

void App::arm_contacts_watch() {
  contacts_timer_.expires_after(std::chrono::seconds(1));
  contacts_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    check_contact_tokens();
    arm_contacts_watch();
  });
}

// The store query runs on blocking_ (an import by another process may hold the file a moment);
// the tenants and their lookups are taken on the io thread first.
void App::check_contact_tokens() {
  if (token_check_running_.exchange(true)) return;
  std::vector<std::pair<base::TenantId, std::shared_ptr<core::LookupService>>> tenants;
  for (const auto& [id, r] : runtimes_) tenants.emplace_back(id, r->shared_lookup());
  boost::asio::post(blocking_, [this, tenants = std::move(tenants)] {
    for (const auto& [t, lookup] : tenants) {
      auto now = contacts().change_token(t);  // also lets the index notice and reload
      auto [it, first] = contact_tokens_.try_emplace(t, now);
      if (!first && it->second != now) lookup->invalidate(t);  // -> its remote info, on io
      it->second = now;
    }
    token_check_running_ = false;
  });
}

void App::serve_events(api::PrincipalResolver& auth, api::EventStreamOptions options) {
  event_stream_ = std::make_unique<api::EventStream>(io_, event_hub_, auth, std::move(options));
  event_stream_->install(*http_);
}

int App::run() {
  started_at_ = wall_now();
  started_steady_ = std::chrono::steady_clock::now();
  running_ = true;
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (!ec) begin_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });

  spdlog::info("callbridged {} starting; data dir {}, journal {}", CALLBRIDGE_VERSION, data_dir_,
               journal_location_);
  std::size_t drivers = 0;
  for (const auto& [id, r] : runtimes_) drivers += r->drivers().size();
  if (cluster_) {
    spdlog::info("cluster: node {} contends for {} PBX link(s); their drivers start where the lease is won",
                 config_.cluster.node, cluster_->links.size());
    drivers += cluster_->links.size();
  }
  if (drivers == 0) {
    spdlog::warn(
        "no PBX configured: running without a PBX link (HTTP API only). Add a [[pbx]] section to the "
        "config or start with --ami HOST:PORT --ami-user USER --ami-secret SECRET");
  }
  for (auto& [id, r] : runtimes_) {
    for (const auto& d : r->drivers()) spdlog::info("pbx {}: starting link (tenant {})", d->name(), id);
    r->start();
  }
  arm_contacts_watch();
  if (retention_.enabled()) {
    spdlog::info("journal retention: {} days, checked every {} s", policy_.retention_days(),
                 retention_.interval().count());
    arm_retention(std::chrono::seconds(0));
  }
  spdlog::info("HTTP API listening on {} (http://{}/healthz)", http_->local_address(),
               http_->local_address());
  arm_hangup();
  // Type=notify: ready once the loop runs -- the stores are open and the listener is bound (both in
  // create()), so /healthz answers from the first request systemd lets through.
  boost::asio::post(io_, [this] {
    base::notify_service_manager("READY=1\nSTATUS=serving on " + http_->local_address());
  });
  if (auto every = base::service_watchdog_interval()) {
    spdlog::info("systemd watchdog: {} s", std::chrono::duration_cast<std::chrono::seconds>(*every).count());
    arm_watchdog(*every / 2);  // twice per interval, as sd_watchdog_enabled(3) advises
  }

  io_.run();

  blocking_.join();  // a running purge finishes
  int rc = 0;
  if (auto st = store_->flush(); !st) {
    spdlog::error("journal: final flush failed: {}", st.error().message());
    rc = 1;
  }
  auto s = journal_stats_();
  std::uint64_t excluded = 0;
  for (const auto& [id, r] : runtimes_) excluded += r->stats().excluded_internal + r->stats().excluded_number;
  spdlog::info("callbridged stopped; journal: {} entries written, {} dropped, {} excluded by policy",
               s.committed, s.dropped, excluded);
  return rc;
}

void App::request_stop() {
  boost::asio::post(io_, [this] { begin_shutdown("stop requested"); });
}

void App::begin_shutdown(std::string why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::info("shutting down ({})", why);
  base::notify_service_manager("STOPPING=1\nSTATUS=shutting down (" + why + ")");
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  hangup_.cancel(ignored);
  watchdog_timer_.cancel();
  retention_timer_.cancel();
  contacts_timer_.cancel();
  if (runtimes_.empty()) return finish_shutdown();
  runtimes_stopping_ = runtimes_.size();
  shutdown_timer_.expires_after(options_.shutdown_grace);
  shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    spdlog::warn("{} tenant(s) with PBX links that did not stop within {} ms; forcing shutdown",
                 runtimes_stopping_, options_.shutdown_grace.count());
    finish_shutdown();
  });
  for (auto& [id, r] : runtimes_) {
    r->stop([this] {
      if (runtimes_stopping_ > 0 && --runtimes_stopping_ == 0) finish_shutdown();
    });
  }
}

void App::finish_shutdown() {
  if (finished_) return;
  finished_ = true;
  shutdown_timer_.cancel();
  for (auto& [id, r] : runtimes_) r->flush_journal();  // entries still waiting for a lookup are written now
  if (event_stream_) event_stream_->stop();  // 1001 to every client while the loop still runs
  if (csta_ && csta_->listener) csta_->listener->stop();
  http_->stop();
  // Whatever is still pending (a driver that ignored stop) must not keep the process alive;
  // handlers already queued (socket closes) run first.
  boost::asio::post(io_, [this] { io_.stop(); });
}

void App::arm_hangup() {
  hangup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || shutting_down_) return;
    reload();
    arm_hangup();
  });
}

void App::arm_watchdog(std::chrono::microseconds every) {
  watchdog_timer_.expires_after(every);
  watchdog_timer_.async_wait([this, every](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    base::notify_service_manager("WATCHDOG=1");
    arm_watchdog(every);
  });
}

void App::arm_retention(std::chrono::seconds delay) {
  retention_timer_.expires_after(delay);
  retention_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    run_retention();
    // Tick more often than the interval: the schedule follows the wall clock, the timer does not.
    arm_retention(std::max<std::chrono::seconds>(std::chrono::seconds(1), retention_.interval() / 6));
  });
}

void App::run_retention() {
  auto cutoff = retention_.due(wall_now());
  if (!cutoff || purge_running_.exchange(true)) return;
  boost::asio::post(blocking_, [this, c = *cutoff] {
    auto n = store_->purge_before(c);
    if (n) {
      purged_total_ += *n;
      last_purge_micros_ = base::to_micros(wall_now());
      if (*n > 0)
        spdlog::info("journal retention: deleted {} entries that ended before {}", *n,
                     base::format_rfc3339_ms(c));
    } else {
      spdlog::error("journal retention: purge failed: {}", n.error().message());
    }
    purge_running_ = false;
    if (options_.on_purged) options_.on_purged(n ? *n : 0);
  });
}

std::vector<std::string> App::not_ready_reasons(const std::optional<base::TenantId>& tenant) const {
  std::vector<std::string> r;
  if (!running_) r.push_back("starting");
  if (shutting_down_) r.push_back("shutting down");
  if (journal_stats_().last_write_failed) r.push_back("journal: writes are failing (see the log)");
  if (cluster_)
    for (auto& why : cluster_not_ready(*cluster_)) r.push_back(std::move(why));
  for (const auto& [id, rt] : runtimes_) {
    if (tenant && id != *tenant) continue;
    for (const auto& l : rt->drivers()) {
      auto s = l->status();
      if (s.connected) continue;
      std::string why = "pbx " + l->name() + ": " + s.state;
      if (!s.last_error.empty()) why += " (" + s.last_error + ")";
      r.push_back(std::move(why));
    }
  }
  return r;
}

std::string App::diagnostics_json(const std::optional<base::TenantId>& tenant) const {
  namespace json = boost::json;
  json::object o;
  o["version"] = CALLBRIDGE_VERSION;
  o["started_at"] = base::format_rfc3339_ms(started_at_);
  o["uptime_s"] = static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_steady_)
          .count());
  o["ready"] = not_ready_reasons(tenant).empty();
  if (tenant) o["tenant"] = tenant->str();

  if (!tenant) {  // daemon-wide
    auto hs = http_->stats();
    o["http"] = {{"address", http_->local_address()},
                 {"requests", hs.requests},
                 {"connections", hs.connections},
                 {"open_connections", hs.open_connections},
                 {"rejected_connections", hs.rejected_connections}};
  }

  // Sums over the tenants; the "tenants" array below has each one's share.
  core::TenantRuntime::Stats ts;
  core::RemoteInfoService::Stats rs;
  std::size_t cached_lookups = 0;
  model::ChannelUsage usage;
  std::uint64_t trunk_refused = 0;
  json::array tenants, sources, links;
  for (const auto& [id, rt] : runtimes_) {
    if (tenant && id != *tenant) continue;
    auto t = rt->stats();
    ts.journal_received += t.journal_received;
    ts.journal_committed += t.journal_committed;
    ts.excluded_internal += t.excluded_internal;
    ts.excluded_number += t.excluded_number;
    ts.foreign_dropped += t.foreign_dropped;
    auto r = rt->remote_info().stats();
    rs.lookups += r.lookups;
    rs.lookups_done += r.lookups_done;
    rs.numbers += r.numbers;
    rs.calls += r.calls;
    rs.held += r.held;
    rs.journal_waited += r.journal_waited;
    rs.journal_timeouts += r.journal_timeouts;
    const auto& lookup = rt->lookup();
    cached_lookups += lookup.cache_size();
    // Channel accounting (docs/call-control.md): trunk (outside) and internal channels now, the
    // most at once, the trunk seconds of channels that ended, the limit and its refusals.
    const auto cu = rt->channel_usage();
    usage.trunk += cu.trunk;
    usage.internal += cu.internal;
    usage.trunk_peak += cu.trunk_peak;
    usage.internal_peak += cu.internal_peak;
    usage.trunk_seconds += cu.trunk_seconds;
    const std::uint64_t refused = rt->call_control() ? rt->call_control()->trunk_refusals() : 0;
    trunk_refused += refused;
    json::object channels{{"trunk", cu.trunk},
                          {"internal", cu.internal},
                          {"trunk_peak", cu.trunk_peak},
                          {"internal_peak", cu.internal_peak},
                          {"trunk_seconds", static_cast<double>(static_cast<std::int64_t>(cu.trunk_seconds * 10)) / 10.0},
                          {"trunk_limit", rt->max_trunk_channels() ? json::value(rt->max_trunk_channels()) : json::value(nullptr)},
                          {"refused_no_trunk_capacity", refused}};
    tenants.push_back(json::object{{"id", id.str()},
                                   {"pbx", t.drivers},
                                   {"call_control", rt->call_control() != nullptr},
                                   {"journal_received", t.journal_received},
                                   {"foreign_dropped", t.foreign_dropped},
                                   {"channels", std::move(channels)}});
    // Every directory source the tenant's lookups ask, with its outcome counters.
    for (const auto& st : lookup.source_stats()) {
      json::array scope;
      for (const auto& tn : st.tenants) scope.push_back(json::string(tn));
      sources.push_back(json::object{{"name", st.name},
                                     {"kind", st.kind},
                                     {"tenants", std::move(scope)},
                                     {"ok", st.ok},
                                     {"errors", st.errors},
                                     {"timeouts", st.timeouts},
                                     {"last_error", st.last_error}});
    }
    for (const auto& l : rt->drivers()) {
      auto s = l->status();
      json::object counters;
      for (const auto& [k, v] : s.counters) counters[k] = v;
      links.push_back(json::object{{"name", l->name()},
                                   {"state", s.state},
                                   {"connected", s.connected},
                                   {"peer", s.peer},
                                   {"last_error", s.last_error},
                                   {"counters", std::move(counters)}});
    }
  }

  auto js = journal_stats_();
  json::object j{{"backend", config_.journal.backend},
                 {"received", ts.journal_received},
                 {"excluded_internal", ts.excluded_internal},
                 {"excluded_number", ts.excluded_number},
                 {"last_write_failed", js.last_write_failed},
                 {"retention_days", policy_.retention_days()}};
  if (tenant) {
    // The tenant's entries the store confirmed (null when the store does not report commits).
    j["committed"] = journal_ids_ ? json::value(ts.journal_committed) : json::value(nullptr);
  } else {  // the store's totals, all tenants
    j["path"] = journal_location_;
    j["appended"] = js.appended;
    j["committed"] = js.committed;
    j["queued"] = js.queued;
    j["dropped"] = js.dropped;
    j["write_errors"] = js.write_errors;
    j["already_written"] = js.skipped;
    j["purged"] = purged_total_.load();
    if (auto lp = last_purge_micros_.load(); lp != 0)
      j["last_purge_at"] = base::format_rfc3339_ms(base::from_micros(lp));
    else
      j["last_purge_at"] = nullptr;
  }
  o["journal"] = std::move(j);

  // The channels of the tenants in view (each tenant's share: "tenants" below).
  o["channels"] = {{"trunk", usage.trunk},
                   {"internal", usage.internal},
                   {"trunk_peak", usage.trunk_peak},
                   {"internal_peak", usage.internal_peak},
                   {"trunk_seconds", static_cast<double>(static_cast<std::int64_t>(usage.trunk_seconds * 10)) / 10.0},
                   {"refused_no_trunk_capacity", trunk_refused}};
  o["remote_info"] = {{"lookups", rs.lookups},
                      {"lookups_done", rs.lookups_done},
                      {"numbers", rs.numbers},
                      {"calls", rs.calls},
                      {"journal_held", rs.held},
                      {"journal_waited", rs.journal_waited},
                      {"journal_timeouts", rs.journal_timeouts}};

  json::object dir{{"sources", std::move(sources)}, {"cached_lookups", cached_lookups}};
  // The index serves every tenant: its counters are the daemon's (null in a tenant's view).
  if (indexed_ && !tenant) {
    auto is = indexed_->stats();
    dir["memory_index"] = json::object{{"index_lookups", is.index_lookups},
                                       {"store_lookups", is.store_lookups},
                                       {"loads", is.loads},
                                       {"failed_loads", is.failed_loads},
                                       {"tenants", is.tenants},
                                       {"numbers", is.numbers}};
  } else {
    dir["memory_index"] = nullptr;
  }
  o["directory"] = std::move(dir);

  o["pbx"] = std::move(links);
  // Cluster mode: this node, NATS, and which node owns which link (docs/cluster.md).
  if (cluster_) {
    o["cluster"] = cluster_json(*cluster_, tenant);
    if (auto* ev = o["cluster"].as_object().if_contains("events"); ev && ev->is_object()) {
      const auto hs = event_hub_.stats();  // what this node's hub made of the log's records
      auto& e = ev->as_object();
      e["applied"] = hs.applied;
      e["duplicates"] = hs.log_duplicates;
      e["gaps"] = hs.log_gaps;
      e["undecodable"] = hs.log_undecodable;
      e["stale"] = hs.log_stale;
      e["mirror_dropped"] = hs.mirror_dropped;
    }
  }
  o["tenants"] = std::move(tenants);

  // The event stream's clients (docs/api.md "Operations": user, address, since, messages in/out).
  json::array clients;
  if (event_stream_) {
    for (const auto& c : event_stream_->clients(tenant))
      clients.push_back(json::object{{"tenant", c.tenant.str()},
                                     {"user", c.user},
                                     {"address", c.address},
                                     {"since", base::format_rfc3339_ms(c.since)},
                                     {"messages_in", c.messages_in},
                                     {"messages_out", c.messages_out}});
  }
  o["clients"] = std::move(clients);

  // The CSTA server ([csta], docs/csta.md): its clients (who, from where, messages in/out) and,
  // daemon-wide, its counters.
  if (csta_ && csta_->server) {
    json::object cs;
    if (!tenant) {
      const auto& st = csta_->server->stats();
      cs["port"] = csta_->listener ? csta_->listener->port() : 0;
      cs["tls"] = csta_->listener && csta_->listener->tls();
      cs["connections"] = st.connections;
      cs["sessions_started"] = st.sessions_started;
      cs["logins_refused"] = st.logins_refused;
      cs["messages_in"] = st.messages_in;
      cs["messages_out"] = st.messages_out;
      cs["events_sent"] = st.events_sent;
      cs["errors_sent"] = st.errors_sent;
      cs["protocol_errors"] = st.protocol_errors;
      cs["rate_limited"] = st.rate_limited;
    }
    json::array cc;
    for (const auto& c : csta_->server->clients(tenant))
      cc.push_back(json::object{{"tenant", c.tenant},
                                {"user", c.user},
                                {"address", c.remote},
                                {"state", c.state},
                                {"style", c.style},
                                {"edition", c.edition},
                                {"framing", c.framing},
                                {"monitors", c.monitors},
                                {"since", base::format_rfc3339_ms(c.connected_at)},
                                {"messages_in", c.messages_in},
                                {"messages_out", c.messages_out},
                                {"errors", c.errors}});
    cs["clients"] = std::move(cc);
    o["csta"] = std::move(cs);
  }
  // The relay's end-to-end tunnel ([relay], docs/relay.md "On the edge"), daemon-wide: pairings,
  // handshakes and frames, the refused ones counted (another edge's client, a used or foreign
  // pairing link, a frame that does not open).
  if (!tenant && relay_tunnel_ && relay_tunnel_->tunnel) {
    const auto t = relay_tunnel_->tunnel->stats();
    const auto& rs = relay_->status();
    json::object link{{"up", rs.up}, {"relay_node", rs.node}, {"logins", rs.logins}, {"last_error", rs.last_error}};
    // Cluster mode: only the node holding the edge's lease connects (docs/cluster.md "The cloud relay's edge").
    if (!relay_lease_.empty()) link["lease"] = json::object{{"key", relay_lease_}, {"ours", cluster_->leases->holds(relay_lease_)}};
    o["relay"] = json::object{{"edge_id", config_.relay.edge_id},
                              {"link", std::move(link)},
                              {"tunnel", json::object{{"pairings", t.pairings},
                                                      {"pairing_refused", t.pairing_refused},
                                                      {"handshakes", t.handshakes},
                                                      {"handshake_refused", t.handshake_refused},
                                                      {"frames_in", t.frames_in},
                                                      {"frames_out", t.frames_out},
                                                      {"frames_rejected", t.frames_rejected},
                                                      {"clients_dropped", t.clients_dropped},
                                                      {"requests", t.requests},
                                                      {"streams_opened", t.streams_opened},
                                                      {"sessions", t.sessions}}}};
  }
  return json::serialize(o);
}

void App::on_lease(const cluster::LeaseChange& change) {
  if (!cluster_) return;
  if (!relay_lease_.empty() && change.key == relay_lease_) {
    on_relay_lease(change.gained, change.gained ? "lease token " + std::to_string(change.token) : change.reason);
    return;
  }
  auto it = cluster_->links.find(change.key);
  if (it == cluster_->links.end()) return;  // its tenant went meanwhile
  auto& l = it->second;
  l.changed_at = std::chrono::steady_clock::now();
  l.token = change.token;
  if (change.gained) {
    ++cluster_->gained;
    ++l.terms;
    l.last_change = "gained";
    spdlog::info("cluster: node {} owns pbx {} (tenant {}) now, lease token {}; starting its link", cluster_->node,
                 l.pbx.name, l.tenant, change.token);
    start_cluster_link(change.key);
    return;
  }
  ++cluster_->lost;
  l.last_change = "lost: " + change.reason;
  l.start_after_removal = false;
  spdlog::warn("cluster: node {} lost the lease of pbx {} (tenant {}, token {}): {}; its link stops here",
               cluster_->node, l.pbx.name, l.tenant, change.token, change.reason);
  if (cluster_->commands) cluster_->commands->unserve(l.pbx.name);  // other nodes' commands: not here any more
  if (!l.driver || l.removing) return;
  auto* rt = runtime(l.tenant);
  if (!rt) {
    l.driver = false;
    return;
  }
  l.removing = true;
  rt->remove_driver(l.pbx.name, [this, key = change.key](base::Status) {
    auto i = cluster_->links.find(key);
    if (i == cluster_->links.end()) return;
    i->second.driver = false;
    i->second.removing = false;
    if (std::exchange(i->second.start_after_removal, false)) start_cluster_link(key);
  });
}

void App::start_cluster_link(const std::string& key) {
  auto it = cluster_->links.find(key);
  if (it == cluster_->links.end()) return;
  auto& l = it->second;
  if (l.removing) {  // the last term's driver is still stopping
    l.start_after_removal = true;
    return;
  }
  if (l.driver || shutting_down_ || !l.fence->valid()) return;
  auto* rt = runtime(l.tenant);
  if (!rt) return;
  // Built now, not at start: it loads the open calls the previous owner left in the shared store.
  DriverContext context{.io = io_,
                        .sink = rt->sink(),
                        .tenant = l.setup->tenant ? &*l.setup->tenant : nullptr,
                        .plan = rt->shared_plan(),
                        .open_state = store_.get(),
                        .fence = l.fence.get()};
  auto driver = make_driver(l.pbx, context);
  if (!driver) {
    spdlog::error("cluster: pbx {}: {}; giving the lease up", l.pbx.name, driver.error().message());
    cluster_->leases->release(key);
    return;
  }
  if (auto st = rt->add_driver(std::move(*driver)); !st) {
    spdlog::error("cluster: pbx {}: {}", l.pbx.name, st.error().message());
    return;
  }
  l.driver = true;
  spdlog::info("pbx {}: starting link (tenant {}, lease token {})", l.pbx.name, l.tenant, l.fence->token());
  serve_cluster_commands(key);
}

void App::serve_cluster_commands(const std::string& key) {
  if (!cluster_->commands) return;
  auto& l = cluster_->links.at(key);
  // Every check runs here as for a local caller: the relayed command names its user, role and
  // extensions (authenticated by the issuing node against the shared identity store).
  auto st = cluster_->commands->serve(
      l.pbx.name, [this, key, tenant = l.tenant](ports::RelayedCommand cmd, ports::RelayReplies replies) {
        core::CallControlService* svc = nullptr;
        auto it = cluster_->links.find(key);
        if (it != cluster_->links.end() && it->second.driver && !it->second.removing && it->second.fence->valid()) {
          if (auto* rt = runtime(tenant)) svc = rt->call_control();
        }
        core::serve_relayed(svc, tenant, cmd, std::move(replies));
      });
  if (!st) {
    spdlog::error("cluster: pbx {}: {}; commands issued on other nodes cannot reach it", l.pbx.name,
                  st.error().message());
    return;
  }
  spdlog::info("cluster: node {} serves the commands of pbx {} (subject {})", cluster_->node, l.pbx.name,
               cluster::command_subject(l.pbx.name));
}

}  // namespace callbridge::app
