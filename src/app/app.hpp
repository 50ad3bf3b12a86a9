// App: one running callbridged. Owns the io_context (the model thread), the journal store and
// policy, the HTTP API, the PBX links, signal handling and the retention timer; wires them
// together. Created by main after the config is loaded; run() blocks on the calling thread, which
// becomes the io thread. Not thread-safe except request_stop().
//
// Plugging in a PBX driver: the driver table (app/driver_table.cpp) builds a ports::PbxDriver per
// [[pbx]] entry on io(), delivering into pbx_sink() (events -> remote info and the event hub,
// journal entries -> policy, then store); add_driver() it before run().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/http_server.hpp"
#include "api/ws_event_stream.hpp"
#include "api/principal.hpp"
#include "app/config.hpp"
#include "base/error.hpp"
#include "core/call_model_registry.hpp"
#include "core/event_hub.hpp"
#include "core/journal_policy.hpp"
#include "ports/pbx_driver.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"

namespace callbridge::core {
class DialingPlan;
class LookupService;
class RemoteInfoService;
}  // namespace callbridge::core
namespace callbridge::directory {
class IndexedContactStore;
class SqliteContactStore;
}  // namespace callbridge::directory
namespace callbridge::ports {
class ContactStore;
}

namespace callbridge::app {

struct AppOptions {
  std::chrono::seconds retention_interval = std::chrono::hours(1);
  std::chrono::milliseconds shutdown_grace{5000};  // links get this long to stop
  // Called on the worker thread after each retention purge with the number deleted (tests, metrics).
  std::function<void(std::size_t)> on_purged;
};

class App final : private ports::PbxEventSink {
 public:
  // Creates the data dir, opens (and migrates) the journal, binds the HTTP listener.
  // Errors are start-up failures that name the path or address.
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
  };
  api::HttpServer& http() { return *http_; }  // add routes before run()
  // The live event stream: the hub PBX drivers publish into (pbx_sink()), and the WebSocket
  // route GET /api/v1/events, served once serve_events() got the resolver.
  core::EventHub& event_hub() { return event_hub_; }
  void serve_events(api::PrincipalResolver& auth, api::EventStreamOptions options = {});
  // Live call models per tenant (GET /api/v1/calls); PBX link wiring add()s its tracker's model.
  core::CallModelRegistry& call_models() { return call_models_; }
  // Authenticates API and WebSocket requests (bearer, cb_session, ticket); app/rest_wiring.cpp.
  api::PrincipalResolver& principals();
  std::uint16_t http_port() const { return http_->port(); }

  // Who the remotes of live calls are (numbers, display, directory matches): PBX link wiring
  // observe()s every call event before publishing it; events, snapshots and GET /api/v1/calls show
  // it per connection as "remote_info"; the journal gets the contact that was shown.
  core::RemoteInfoService& remote_info() { return *remote_info_; }
  const core::RemoteInfoView* remote_info_view() const;

  // The built-in contact store (DATA_DIR/contacts.db), behind the in-memory index when
  // [directory.store] memory_index is on: what the REST API edits and the lookup engine asks.
  ports::ContactStore& contacts();
  // The lookup engine of live calls and GET /api/v1/contacts/lookup: the store plus every
  // [[directory.ldap]] / [[directory.http]] source, each asked only for its own tenant.
  core::LookupService& lookup() { return *lookup_; }
  // A number as typed or reported -> E.164 under the tenant's dialing plan; nullopt if it is not
  // an external number. Without a [tenant.X.dialing] only "+<digits>" is understood.
  std::optional<std::string> to_e164(const base::TenantId& tenant, std::string_view raw) const;

  // Journal entries from a call tracker (io thread): JournalPolicy decides, RemoteInfoService
  // attaches the remote's contact (waiting a bounded time for a running lookup), then the store
  // queues.
  void record(model::JournalEntry entry);
  std::function<void(model::JournalEntry)> journal_sink() {
    return [this](model::JournalEntry e) { record(std::move(e)); };
  }

  // What the drivers deliver into (the driver table builds them with it).
  ports::PbxEventSink& pbx_sink() { return *this; }
  // The tenant's dialing plan; null without [tenant.X.dialing].
  std::shared_ptr<const core::DialingPlan> dialing_plan(const base::TenantId& tenant) const;
  // Takes ownership; started when run() starts (or at once if already running). io thread.
  void add_driver(std::unique_ptr<ports::PbxDriver> driver);

  // Serves until SIGINT/SIGTERM or request_stop(), then stops the links (grace period), the HTTP
  // server and flushes the journal. Returns the process exit code (0 = clean).
  int run();
  // Thread-safe; also what the signals do.
  void request_stop();

  // The JSON behind /api/v1/diagnostics and the reasons behind /readyz (io thread).
  std::string diagnostics_json() const;
  std::vector<std::string> not_ready_reasons() const;

 private:
  App(Config config, AppOptions options);
  // ports::PbxEventSink
  void on_call_event(const model::CallEvent& e, const model::CallModel& m) override;
  void on_lines_changed(const model::CallModel& m) override;
  void on_journal_entry(model::JournalEntry entry) override { record(std::move(entry)); }
  base::Status start_remote_info();
  void arm_contacts_watch();
  void check_contact_tokens();
  void store_entry(model::JournalEntry entry);
  base::Status open_journal();
  void begin_shutdown(std::string why);
  void finish_shutdown();
  void arm_retention(std::chrono::seconds delay);
  void run_retention();

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
  core::CallModelRegistry call_models_;
  // Contact lookups for live calls and REST: contacts.db (+ index), lookup engine, remote info.
  // Declared before links_: a link's final flush still records journal entries through them.
  std::map<std::string, std::shared_ptr<const core::DialingPlan>> plans_;  // tenants with [dialing]
  std::unique_ptr<ports::ContactStore> contacts_;  // the built-in store (app/store_wiring)
  std::unique_ptr<directory::IndexedContactStore> indexed_;  // in front of contacts_ (memory_index)
  std::unique_ptr<core::LookupService> lookup_;
  std::unique_ptr<core::RemoteInfoService> remote_info_;
  std::shared_ptr<struct RestWiring> rest_;  // REST API stores (app/rest_wiring.hpp)
  std::shared_ptr<struct CommandWiring> commands_;  // call control routes (app/command_wiring.hpp)
  std::vector<std::unique_ptr<ports::PbxDriver>> links_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer retention_timer_;
  boost::asio::steady_timer shutdown_timer_;
  // Contacts changed by another process (`callbridge contacts import`): the store's change token
  // per tenant, compared now and then on blocking_; a move invalidates the lookup caches.
  boost::asio::steady_timer contacts_timer_;
  std::map<base::TenantId, std::optional<std::uint64_t>> contact_tokens_;  // blocking_ only
  std::atomic<bool> token_check_running_{false};
  boost::asio::thread_pool blocking_{1};  // disk work that must not run on the io thread (purge)

  base::Timestamp started_at_{};
  std::chrono::steady_clock::time_point started_steady_{};
  bool running_ = false;
  bool shutting_down_ = false;
  bool finished_ = false;
  std::size_t links_stopping_ = 0;
  std::uint64_t journal_received_ = 0;
  std::uint64_t excluded_internal_ = 0;
  std::uint64_t excluded_number_ = 0;
  std::atomic<std::uint64_t> purged_total_{0};
  std::atomic<std::int64_t> last_purge_micros_{0};
  std::atomic<bool> purge_running_{false};
  bool journal_ids_ = false;  // the store reports commits: journal events go out then, with the id
};

}  // namespace callbridge::app
