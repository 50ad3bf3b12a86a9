// App: one running callbridged. Owns the io_context (the model thread), what every tenant shares
// (the journal store and policy, the contact store, the event hub, the HTTP API, signal handling,
// the retention timer) and one core::TenantRuntime per tenant, which runs everything else of that
// tenant (its PBX drivers, dialing plan, lookups, remote info, call control, journal writing).
// Created by main after the config is loaded; run() blocks on the calling thread, which becomes
// the io thread. Not thread-safe except request_stop() and to_e164().
//
// Tenants: create() builds one runtime per configured tenant (app/tenant_setup.hpp) with its
// drivers from the driver table (app/driver_table.cpp); add_tenant()/remove_tenant() do the same
// while the daemon runs (operator-managed tenants).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "api/ws_event_stream.hpp"
#include "app/config.hpp"
#include "app/tenant_setup.hpp"
#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "core/any_device.hpp"
#include "core/call_commands.hpp"
#include "core/event_hub.hpp"
#include "core/journal_policy.hpp"
#include "core/tenant_runtime.hpp"

namespace callbridge::directory {
class IndexedContactStore;
}  // namespace callbridge::directory
namespace callbridge::ports {
class ContactStore;
}

namespace callbridge::relay::edge {
class EdgeLink;
class RelayClient;
}  // namespace callbridge::relay::edge
namespace callbridge::cluster {
struct LeaseChange;
}

namespace callbridge::app {

struct CstaWiring;     // app/csta_wiring.hpp
struct ClusterWiring;  // app/cluster_wiring.hpp

struct AppOptions {
  std::chrono::seconds retention_interval = std::chrono::hours(1);
  std::chrono::milliseconds shutdown_grace{5000};  // drivers get this long to stop
  // Called on the worker thread after each retention purge with the number deleted (tests, metrics).
  std::function<void(std::size_t)> on_purged;
  // SIGHUP: reads the configuration again (main: the --config file with the same flags on top);
  // null = started without a file, SIGHUP only says so. See App::reload().
  std::function<base::Result<Config>()> reload_config;
};

class App {
 public:
  // Creates the data dir, opens (and migrates) the journal and the contact store, builds the
  // tenants' runtimes and drivers, binds the HTTP listener. Errors are start-up failures that
  // name the path, address, tenant or [[pbx]] entry.
  static base::Result<std::unique_ptr<App>> create(Config config, AppOptions options = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  boost::asio::io_context& io() { return io_; }
  const Config& config() const { return config_; }
  const std::string& data_dir() const { return data_dir_; }
  ports::JournalStore& journal() { return *store_; }
  // The journal writer's counters, whichever backend (diagnostics, readiness).
  struct JournalCounters {
    std::uint64_t appended = 0, committed = 0, dropped = 0, write_errors = 0;
    std::size_t queued = 0;
    bool last_write_failed = false;
    std::uint64_t skipped = 0;  // entries the store had already (idempotent key): not written twice
  };
  api::HttpServer& http() { return *http_; }  // add routes before run()
  // The live event stream of every tenant (each runtime publishes under its id), and the
  // WebSocket route GET /api/v1/events, served once serve_events() got the resolver.
  core::EventHub& event_hub() { return event_hub_; }
  void serve_events(api::PrincipalResolver& auth, api::EventStreamOptions options = {});
  // Authenticates API and WebSocket requests (bearer, cb_session, ticket); app/rest_wiring.cpp.
  api::PrincipalResolver& principals();
  std::uint16_t http_port() const { return http_->port(); }
  // The CSTA server's port ([csta] listen); 0 when it is off.
  std::uint16_t csta_port() const;
  // The connection out to the cloud relay ([relay] url, docs/relay.md), what the end-to-end layer
  // sends and receives through; null when [relay] is off. io thread.
  relay::edge::EdgeLink* relay_link();
  relay::edge::RelayClient* relay_client() { return relay_.get(); }

  // The built-in contact store (DATA_DIR/contacts.db or PostgreSQL), behind the in-memory index
  // when [directory.store] memory_index is on: what the REST API edits and every tenant's lookups
  // ask (for that tenant only).
  ports::ContactStore& contacts();

  // --- Tenants (io thread unless noted) ---
  // The runtime of `tenant`; null when there is none (a token of an unconfigured tenant).
  core::TenantRuntime* runtime(const base::TenantId& tenant);
  const core::TenantRuntime* runtime(const base::TenantId& tenant) const;
  // Cluster mode: `tenant`'s commands sent to the node that owns its PBX link, for when this node
  // has no driver for it (docs/cluster.md "Commands on any node"); null without cluster mode.
  std::shared_ptr<core::CallCommands> remote_commands(const base::TenantId& tenant);
  void for_each_runtime(const std::function<void(core::TenantRuntime&)>& f);
  // Builds a tenant's runtime and its drivers (driver table) and, while running, starts them.
  // Errors (nothing is kept): the tenant exists, an invalid dialing plan or directory, a driver
  // that cannot be built.
  base::Result<core::TenantRuntime*> add_tenant(TenantSetup setup);
  // Stops the tenant's drivers, then destroys its runtime (its journal entries are written, its
  // models leave the event hub); `done` runs on the io thread afterwards, with not_found for an
  // unknown tenant. REST lookups and call control of the tenant end at once.
  void remove_tenant(const base::TenantId& tenant, std::function<void(base::Status)> done);
  // Shutting down: operator changes answer 503 (app/tenant_manager).
  bool stopping() const { return shutting_down_; }
  // A number as typed or reported -> E.164 under the tenant's dialing plan; nullopt if it is not
  // an external number. Without a plan only "+<digits>" is understood. Any thread.
  std::optional<std::string> to_e164(const base::TenantId& tenant, std::string_view raw) const;
  // Remote info of live calls as the API shows it ("remote_info"), each tenant's own; io thread.
  const core::RemoteInfoView* remote_info_view() const;
  // AnyDevice: every user's active device (call control reads it at each make call; the REST
  // routes write it; loaded from identity.db by the REST wiring) and a tenant's device settings
  // ([tenant.X.any_device] policy, the default map; null without a runtime). Any thread.
  core::ActiveDevices& active_devices() { return active_devices_; }
  // Called (io thread) when a tenant's PBX features become ready after a login (docs/dialplan.md):
  // the REST wiring rewrites follow-me numbers the users' active devices no longer match.
  void set_on_features_ready(std::function<void(const base::TenantId&)> f) { on_features_ready_ = std::move(f); }
  std::shared_ptr<const core::AnyDeviceSettings> any_device_settings(const base::TenantId& tenant) const;
  // The tenant's directory lookups (GET /api/v1/contacts/lookup); null without a runtime. Any thread.
  std::shared_ptr<core::LookupService> lookup_for(const base::TenantId& tenant) const;

  // Serves until SIGINT/SIGTERM or request_stop(), then stops every tenant's drivers (grace
  // period), the HTTP server and flushes the journal. Returns the process exit code (0 = clean).
  int run();
  // Thread-safe; also what the signals do.
  void request_stop();

  // SIGHUP (io thread; tests call it through post): reads the configuration again and applies what
  // can change while running -- the log level, and each tenant whose [tenant.X], [[pbx]] links or
  // [[directory.*]] sources changed (restarted: its PBX links reconnect and resync), tenants added to
  // or removed from the file -- and logs, per setting, what needs a restart ([server], [journal],
  // [audit], [demo], memory_index). A file that does not load changes nothing. Tells systemd
  // RELOADING=1, then READY=1. `done` (may be null) runs on the io thread once every tenant is applied.
  void reload(std::function<void()> done = {});

  // The JSON behind /api/v1/diagnostics and /metrics and the reasons behind /readyz (io thread).
  // nullopt: the whole daemon (the operator; docs/api.md "Operations"). A tenant: what a tenant
  // admin sees, only that tenant's PBX links, runtime, directory sources, counters and clients,
  // and nothing daemon-wide (HTTP, the journal store's totals, the contact index).
  std::string diagnostics_json(const std::optional<base::TenantId>& tenant = std::nullopt) const;
  // The reasons of `tenant` only (its links; the journal) when set.
  std::vector<std::string> not_ready_reasons(const std::optional<base::TenantId>& tenant = std::nullopt) const;

 private:
  class RemoteInfoRouter;
  App(Config config, AppOptions options);
  base::Status open_contacts();
  core::TenantServices tenant_services();
  void arm_contacts_watch();
  void check_contact_tokens();
  base::Status open_journal();
  base::Status start_relay();
  void begin_shutdown(std::string why);
  void arm_hangup();
  void arm_watchdog(std::chrono::microseconds every);
  void finish_shutdown();
  void arm_retention(std::chrono::seconds delay);
  void run_retention();
  // Cluster mode (app/cluster_wiring.hpp), io thread: a lease gained builds and starts the link's
  // driver, a lease lost stops and destroys it.
  void on_lease(const cluster::LeaseChange& change);
  void on_relay_lease(bool gained, const std::string& why);
  void start_cluster_link(const std::string& key);
  // The owner's side of the command relay for the link of `key` (its driver runs here now).
  void serve_cluster_commands(const std::string& key);

  // Declared first: destroyed last, after everything that holds handlers on it.
  boost::asio::io_context io_;
  Config config_;
  AppOptions options_;
  std::string data_dir_;
  std::unique_ptr<ports::JournalStore> store_;  // journal.backend: SqliteJournalStore or PgJournalStore
  std::function<JournalCounters()> journal_stats_;  // the concrete store's stats()
  std::string journal_location_;                    // file path or postgresql://user@host/db
  core::JournalPolicy policy_;
  core::RetentionSchedule retention_;
  std::unique_ptr<api::HttpServer> http_;
  core::EventHub event_hub_{core::EventHubOptions{.retention = 4096, .encode = api::EventStream::frame_text}};
  std::unique_ptr<api::EventStream> event_stream_;
  std::unique_ptr<ports::ContactStore> contacts_;  // the built-in store (app/store_wiring)
  std::unique_ptr<directory::IndexedContactStore> indexed_;  // in front of contacts_ (memory_index)
  std::unique_ptr<RemoteInfoRouter> remote_router_;  // the hub's and REST's view: per tenant
  // What worker threads may ask of a tenant (REST: to_e164, lookups), under its own lock so that
  // tenants can come and go on the io thread meanwhile.
  struct TenantShared {
    std::shared_ptr<const core::DialingPlan> plan;
    std::shared_ptr<core::LookupService> lookup;
    std::shared_ptr<const core::AnyDeviceSettings> any_device;
  };
  mutable std::mutex shared_mu_;
  std::map<base::TenantId, TenantShared> shared_;
  std::function<void(const base::TenantId&)> on_features_ready_;
  core::ActiveDevices active_devices_;  // read by the runtimes' call control: declared before them
  // [cluster]: NATS, the leases and the links' fences, which the drivers read: declared before the
  // runtimes, destroyed after them (its lease manager then gives the held leases up).
  std::unique_ptr<ClusterWiring> cluster_;
  // Declared after what their final journal entries pass through (store, hub, contacts).
  std::map<base::TenantId, std::unique_ptr<core::TenantRuntime>> runtimes_;
  std::shared_ptr<struct RestWiring> rest_;  // REST API stores (app/rest_wiring.hpp)
  // The CSTA server and its listener ([csta]); null when off. After rest_: its logins use it.
  std::unique_ptr<CstaWiring> csta_;
  std::unique_ptr<relay::edge::RelayClient> relay_;  // [relay]; handlers on io_
  std::string relay_lease_;  // cluster mode with [relay]: the edge's lease key ("edge.<edge_id>")
  std::unique_ptr<struct RelayTunnelWiring> relay_tunnel_;  // the end-to-end tunnel on relay_ (app/relay_tunnel_wiring.hpp)
  boost::asio::signal_set signals_;
  boost::asio::signal_set hangup_;           // SIGHUP: reload()
  boost::asio::steady_timer watchdog_timer_;  // WATCHDOG=1 from the io thread (a stuck loop stops it)
  boost::asio::steady_timer retention_timer_;
  boost::asio::steady_timer shutdown_timer_;
  // Contacts changed by another process (`callbridge contacts import`): the store's change token
  // per tenant, compared now and then on blocking_; a move invalidates the tenant's lookups.
  boost::asio::steady_timer contacts_timer_;
  std::map<base::TenantId, std::optional<std::uint64_t>> contact_tokens_;  // blocking_ only
  std::atomic<bool> token_check_running_{false};
  boost::asio::thread_pool blocking_{1};  // disk work that must not run on the io thread (purge)

  base::Timestamp started_at_{};
  std::chrono::steady_clock::time_point started_steady_{};
  bool running_ = false;
  bool shutting_down_ = false;
  bool finished_ = false;
  std::size_t runtimes_stopping_ = 0;
  std::atomic<std::uint64_t> purged_total_{0};
  std::atomic<std::int64_t> last_purge_micros_{0};
  std::atomic<bool> purge_running_{false};
  bool journal_ids_ = false;  // the store reports commits: journal events go out then, with the id
};

}  // namespace callbridge::app
