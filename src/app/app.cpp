#include "app/app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <filesystem>

#include "api/health_routes.hpp"
#include "app/ami_wiring.hpp"
#include "app/dialing_config.hpp"
#include "app/store_wiring.hpp"
#include "core/lookup_service.hpp"
#include "core/remote_info_service.hpp"
#include "directory/index/indexed_contact_store.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "app/directory_wiring.hpp"
#include "app/rest_wiring.hpp"
#include "app/command_wiring.hpp"
#include "api/static_files.hpp"

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
      retention_timer_(io_),
      shutdown_timer_(io_),
      contacts_timer_(io_) {}

base::Result<std::unique_ptr<App>> App::create(Config config, AppOptions options) {
  std::unique_ptr<App> app(new App(std::move(config), options));

  std::error_code ec;
  fs::create_directories(app->data_dir_, ec);
  if (ec) return fail(Error::io("data dir " + app->data_dir_ + ": cannot create: " + ec.message()));
  if (!fs::is_directory(app->data_dir_, ec))
    return fail(Error::io("data dir " + app->data_dir_ + ": not a directory"));

  if (auto st = app->open_journal(); !st) return fail(st.error());

  if (auto st = app->start_remote_info(); !st) return fail(st.error());

  // {"type":"journal"} events carry the entry's stored id: published once the store committed it.
  app->journal_ids_ = app->store_->set_on_committed([self = app.get()](std::vector<ports::StoredEntry> done) {
    boost::asio::post(self->io_, [self, done = std::move(done)] {
      for (const auto& e : done) self->event_hub_.on_journal(e.entry, e.id);
    });
  });

  auto hp = parse_host_port(app->config_.server.listen);
  if (!hp) return fail(Error::invalid_argument("server.listen: " + hp.error().message()));
  api::HttpServerOptions ho;
  ho.host = hp->host;
  ho.port = hp->port;
  ho.tls_cert_file = app->config_.server.tls_cert_file;
  ho.tls_key_file = app->config_.server.tls_key_file;
  app->http_ = std::make_unique<api::HttpServer>(app->io_, ho);
  App* self = app.get();
  api::add_health_routes(*app->http_,
                         {[self] { return self->not_ready_reasons(); },
                          [self] { return self->diagnostics_json(); }});
  auto rest = wire_rest_api(*app);  // after the health routes: replaces diagnostics with the admin-only one
  if (!rest) return fail(rest.error());
  app->rest_ = std::move(*rest);
  app->serve_events(app->principals(), event_stream_options(app->rest_));  // GET /api/v1/events, team presence
  // POST /api/v1/calls, /api/v1/calls/{id}/<verb>: call control over the links (app/command_wiring.hpp).
  auto commands = wire_command_routes(*app->http_, app->principals(), app->config_, [self] {
    std::vector<ports::PbxDriver*> links;
    for (auto& l : self->links_) links.push_back(l.get());
    return links;
  }, app->store_.get(), &app->event_hub_, rest_offload(app->rest_));  // + POST /api/v1/journal/{id}/callback; command events
  if (!commands) return fail(commands.error());
  app->commands_ = std::move(*commands);
  api::add_static_routes(*app->http_, {api::default_web_root()});
  if (auto st = app->http_->start(); !st) return fail(st.error());
  return app;
}

// journal.backend: "sqlite" = DATA_DIR/journal.db, "postgres" = journal.dsn (app/store_wiring, as
// the CLI opens it).
base::Status App::open_journal() {
  auto opened = open_journal_store(config_, data_dir_);
  if (!opened) return fail(opened.error());
  journal_stats_ = [stats = std::move(opened->stats)] {
    auto x = stats();
    return App::JournalCounters{x.appended, x.committed, x.dropped, x.write_errors, x.queued, x.last_write_failed};
  };
  journal_location_ = std::move(opened->location);
  store_ = std::move(opened->store);
  return {};
}

App::~App() {
  // Links and HTTP hold handlers on io_; destroy them before io_ (declared first) goes.
  links_.clear();
  event_stream_.reset();
  http_.reset();
  blocking_.join();
}

std::optional<std::string> App::to_e164(const base::TenantId& tenant, std::string_view raw) const {
  auto it = plans_.find(tenant.str());
  return core::lookup_e164(it == plans_.end() ? nullptr : it->second.get(), raw);
}

ports::ContactStore& App::contacts() {
  if (indexed_) return *indexed_;
  return *contacts_;
}

base::Status App::start_remote_info() {
  for (const auto& [tenant, tc] : config_.tenants) {
    auto plan = tenant_dialing_plan(config_, tenant);
    if (!plan) return fail(plan.error());
    if (*plan) plans_[tenant] = std::move(*plan);  // no [tenant.X.dialing]: numbers stay as written
  }

  // The built-in store: one instance for the REST API (edits, imports) and the lookup engine, in
  // the place the configuration names for daemon and CLI alike (app/store_wiring).
  auto cs = open_contact_store(config_, data_dir_,
                               [this](const base::TenantId& tenant, std::string_view n) { return to_e164(tenant, n); });
  if (!cs) return fail(cs.error());
  contacts_ = std::move(cs->store);
  spdlog::info("contact store: {}", cs->location);
  if (config_.directory.memory_index) {  // loads in the background; the store answers meanwhile
    directory::IndexedContactStoreOptions io;
    io.preload_tenants = configured_tenants(config_);
    indexed_ = std::make_unique<directory::IndexedContactStore>(*contacts_, std::move(cs->index_loader),
                                                                std::move(io));
  }

  // Non-owning: the App owns the store and destroys the lookup engine first.
  std::shared_ptr<ports::ContactSource> store(std::shared_ptr<void>(), &contacts());
  std::vector<core::LookupSourceConfig> sources{{store, std::chrono::milliseconds(800), {}, "store"}};
  auto external = external_sources(config_.directory, [this](const base::TenantId& tenant) -> ports::ToE164 {
    return [this, tenant](std::string_view raw) { return to_e164(tenant, raw); };
  });
  if (!external) return fail(external.error());
  for (auto& e : *external) {
    spdlog::info("directory: {} source \"{}\" for tenant {} (priority {}, timeout {} ms)", e.kind,
                 e.source->name(), e.tenants.empty() ? "*" : e.tenants.front(), e.source->priority(),
                 e.timeout.count());
    sources.push_back(std::move(e));
  }
  core::LookupOptions lo;
  lo.workers = std::max<std::size_t>(2, sources.size() + 1);  // a slow source must not hold the others up
  lookup_ = std::make_unique<core::LookupService>(std::move(sources), lo, system_clock());

  auto plans = std::make_shared<std::map<std::string, std::shared_ptr<const core::DialingPlan>>>(plans_);
  core::RemoteInfoOptions o;
  o.lookup = core::lookup_via(*lookup_);
  o.post = [this](std::function<void()> f) { boost::asio::post(io_, std::move(f)); };
  o.post_after = [this](std::chrono::milliseconds d, std::function<void()> f) {
    auto t = std::make_shared<boost::asio::steady_timer>(io_, d);
    t->async_wait([t, f = std::move(f)](const boost::system::error_code& ec) {
      if (!ec) f();
    });
  };
  o.plan = [plans](const base::TenantId& t) -> std::shared_ptr<const core::DialingPlan> {
    auto it = plans->find(t.str());
    return it == plans->end() ? nullptr : it->second;
  };
  o.on_changed = [this](const base::TenantId& tenant, const std::string& call_id) {
    call_models_.for_each(tenant, [&](const model::CallModel& m) {
      if (const auto* c = m.find_call(call_id); c && !c->connections.empty())
        event_hub_.on_call_update(tenant, "remote_info", *c, m);
    });
  };
  o.journal_out = [this](model::JournalEntry e) { store_entry(std::move(e)); };
  remote_info_ = std::make_unique<core::RemoteInfoService>(std::move(o), system_clock());
  event_hub_.set_remote_info(remote_info_.get());
  // Contacts changed (REST edit, import, another process): the calls' remote info follows.
  lookup_->set_on_invalidate([this](const std::optional<base::TenantId>& tenant) {
    boost::asio::post(io_, [this, tenant] {
      if (!remote_info_) return;
      if (tenant) remote_info_->invalidate(*tenant);
      else remote_info_->invalidate_all();
    });
  });
  return {};
}

void App::arm_contacts_watch() {
  contacts_timer_.expires_after(std::chrono::seconds(1));
  contacts_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    check_contact_tokens();
    arm_contacts_watch();
  });
}

// On blocking_ (a store query; an import by another process may hold the file a moment).
void App::check_contact_tokens() {
  if (token_check_running_.exchange(true)) return;
  boost::asio::post(blocking_, [this] {
    const std::vector<base::TenantId> tenants = configured_tenants(config_);
    std::vector<base::TenantId> moved;
    for (const auto& t : tenants) {
      auto now = contacts().change_token(t);  // also lets the index notice and reload
      auto [it, first] = contact_tokens_.try_emplace(t, now);
      if (!first && it->second != now) moved.push_back(t);
      it->second = now;
    }
    token_check_running_ = false;
    for (const auto& t : moved) lookup_->invalidate(t);  // -> remote_info_->invalidate on io
  });
}

const core::RemoteInfoView* App::remote_info_view() const { return remote_info_.get(); }

void App::store_entry(model::JournalEntry entry) {
  if (!journal_ids_) event_hub_.on_journal(entry);  // else once committed, with its id (create())
  store_->append(std::move(entry));
}

void App::record(model::JournalEntry entry) {
  ++journal_received_;
  switch (policy_.check(entry)) {
    case core::JournalVerdict::store:
      // Contact of the remote first (what the user was shown); waits only while serving.
      remote_info_->annotate(std::move(entry), running_ && !shutting_down_);
      return;
    case core::JournalVerdict::excluded_internal:
      ++excluded_internal_;
      break;
    case core::JournalVerdict::excluded_number:
      ++excluded_number_;
      break;
  }
  // Not kept: the call's open-call state row still goes (else the next run would end it again).
  if (!entry.state_key.empty() && store_->keeps_open_state())
    store_->drop_open_state(entry.state_scope, entry.state_key);
}

void App::serve_events(api::PrincipalResolver& auth, api::EventStreamOptions options) {
  event_stream_ = std::make_unique<api::EventStream>(io_, event_hub_, auth, std::move(options));
  event_stream_->install(*http_);
}

void App::add_driver(std::unique_ptr<ports::PbxDriver> driver) {
  auto* l = driver.get();
  links_.push_back(std::move(driver));
  event_hub_.add_model(l->tenant(), &l->call_model());
  call_models_.add(l->tenant(), &l->call_model());  // GET /api/v1/calls
  if (running_ && !shutting_down_) l->start();
}

void App::on_call_event(const model::CallEvent& e, const model::CallModel& m) {
  remote_info_->observe(e.tenant, e.call_id, m);  // numbers + lookups first
  event_hub_.on_call_event(e, m);
}

void App::on_lines_changed(const model::CallModel& m) { event_hub_.sync_lines(m.tenant(), m); }

std::shared_ptr<const core::DialingPlan> App::dialing_plan(const base::TenantId& tenant) const {
  auto it = plans_.find(tenant.str());
  return it == plans_.end() ? nullptr : it->second;
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
  if (links_.empty()) {
    spdlog::warn(
        "no PBX configured: running without a PBX link (HTTP API only). Add a [[pbx]] section to the "
        "config or start with --ami HOST:PORT --ami-user USER --ami-secret SECRET");
  }
  for (auto& l : links_) {
    spdlog::info("pbx {}: starting link", l->name());
    l->start();
  }
  arm_contacts_watch();
  if (retention_.enabled()) {
    spdlog::info("journal retention: {} days, checked every {} s", policy_.retention_days(),
                 retention_.interval().count());
    arm_retention(std::chrono::seconds(0));
  }
  spdlog::info("HTTP API listening on {} (http://{}/healthz)", http_->local_address(),
               http_->local_address());

  io_.run();

  blocking_.join();  // a running purge finishes
  int rc = 0;
  if (auto st = store_->flush(); !st) {
    spdlog::error("journal: final flush failed: {}", st.error().message());
    rc = 1;
  }
  auto s = journal_stats_();
  spdlog::info("callbridged stopped; journal: {} entries written, {} dropped, {} excluded by policy",
               s.committed, s.dropped, excluded_internal_ + excluded_number_);
  return rc;
}

void App::request_stop() {
  boost::asio::post(io_, [this] { begin_shutdown("stop requested"); });
}

void App::begin_shutdown(std::string why) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::info("shutting down ({})", why);
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  retention_timer_.cancel();
  contacts_timer_.cancel();
  if (links_.empty()) return finish_shutdown();
  links_stopping_ = links_.size();
  shutdown_timer_.expires_after(options_.shutdown_grace);
  shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    spdlog::warn("{} PBX link(s) did not stop within {} ms; forcing shutdown", links_stopping_,
                 options_.shutdown_grace.count());
    finish_shutdown();
  });
  for (auto& l : links_) {
    l->stop([this] {
      if (links_stopping_ > 0 && --links_stopping_ == 0) finish_shutdown();
    });
  }
}

void App::finish_shutdown() {
  if (finished_) return;
  finished_ = true;
  shutdown_timer_.cancel();
  remote_info_->flush_journal();  // entries still waiting for a lookup are written now
  if (event_stream_) event_stream_->stop();  // 1001 to every client while the loop still runs
  http_->stop();
  // Whatever is still pending (a link that ignored stop) must not keep the process alive; handlers
  // already queued (socket closes) run first.
  boost::asio::post(io_, [this] { io_.stop(); });
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

std::vector<std::string> App::not_ready_reasons() const {
  std::vector<std::string> r;
  if (!running_) r.push_back("starting");
  if (shutting_down_) r.push_back("shutting down");
  if (journal_stats_().last_write_failed) r.push_back("journal: writes are failing (see the log)");
  for (const auto& l : links_) {
    auto s = l->status();
    if (s.connected) continue;
    std::string why = "pbx " + l->name() + ": " + s.state;
    if (!s.last_error.empty()) why += " (" + s.last_error + ")";
    r.push_back(std::move(why));
  }
  return r;
}

std::string App::diagnostics_json() const {
  namespace json = boost::json;
  json::object o;
  o["version"] = CALLBRIDGE_VERSION;
  o["started_at"] = base::format_rfc3339_ms(started_at_);
  o["uptime_s"] = static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_steady_)
          .count());
  o["ready"] = not_ready_reasons().empty();

  auto hs = http_->stats();
  o["http"] = {{"address", http_->local_address()},
               {"requests", hs.requests},
               {"connections", hs.connections},
               {"open_connections", hs.open_connections},
               {"rejected_connections", hs.rejected_connections}};

  auto js = journal_stats_();
  json::object j{{"backend", config_.journal.backend},
                 {"path", journal_location_},
                 {"received", journal_received_},
                 {"excluded_internal", excluded_internal_},
                 {"excluded_number", excluded_number_},
                 {"appended", js.appended},
                 {"committed", js.committed},
                 {"queued", js.queued},
                 {"dropped", js.dropped},
                 {"write_errors", js.write_errors},
                 {"last_write_failed", js.last_write_failed},
                 {"retention_days", policy_.retention_days()},
                 {"purged", purged_total_.load()}};
  if (auto lp = last_purge_micros_.load(); lp != 0)
    j["last_purge_at"] = base::format_rfc3339_ms(base::from_micros(lp));
  else
    j["last_purge_at"] = nullptr;
  o["journal"] = std::move(j);

  auto rs = remote_info_->stats();
  o["remote_info"] = {{"lookups", rs.lookups},
                      {"lookups_done", rs.lookups_done},
                      {"numbers", rs.numbers},
                      {"calls", rs.calls},
                      {"journal_held", rs.held},
                      {"journal_waited", rs.journal_waited},
                      {"journal_timeouts", rs.journal_timeouts}};

  // Every directory source the lookup engine asks: tenant scope and outcome counters.
  json::array sources;
  for (const auto& st : lookup_->source_stats()) {
    json::array tenants;
    for (const auto& t : st.tenants) tenants.push_back(json::string(t));
    sources.push_back(json::object{{"name", st.name},
                                   {"kind", st.kind},
                                   {"tenants", std::move(tenants)},
                                   {"ok", st.ok},
                                   {"errors", st.errors},
                                   {"timeouts", st.timeouts},
                                   {"last_error", st.last_error}});
  }
  json::object dir{{"sources", std::move(sources)}, {"cached_lookups", lookup_->cache_size()}};
  if (indexed_) {
    auto is = indexed_->stats();
    dir["memory_index"] = json::object{{"index_lookups", is.index_lookups},
                                       {"store_lookups", is.store_lookups},
                                       {"loads", is.loads},
                                       {"failed_loads", is.failed_loads}};
  } else {
    dir["memory_index"] = nullptr;
  }
  o["directory"] = std::move(dir);

  json::array links;
  for (const auto& l : links_) {
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
  o["pbx"] = std::move(links);
  return json::serialize(o);
}

}  // namespace callbridge::app
