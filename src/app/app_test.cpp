// App wiring in-process: journal policy -> store, readiness from links, diagnostics, shutdown with
// link stop (graceful and forced), retention purge. Real store and HTTP listener on port 0.
#include "app/app.hpp"
#include "app/driver_table.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace callbridge::app {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cbapp-XXXXXX").string();
    CB_CHECK(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

struct FakeLinkState {
  bool started = false;
  bool stop_called = false;
  bool connected = false;
  bool answer_stop = true;  // false: never calls done (forces the grace timeout)
};

class FakeLink final : public ports::PbxDriver {
 public:
  FakeLink(boost::asio::io_context& io, FakeLinkState& s, base::TenantId tenant = base::TenantId("default"))
      : io_(io), s_(s), tenant_(tenant) {}
  const std::string& name() const override { return name_; }
  void start() override { s_.started = true; }
  void stop(std::function<void()> done) override {
    s_.stop_called = true;
    if (s_.answer_stop) boost::asio::post(io_, std::move(done));  // asynchronously, like a Logoff
  }
  ports::PbxDriverStatus status() const override {
    ports::PbxDriverStatus st;
    st.state = s_.connected ? "logged_in" : "connecting";
    st.connected = s_.connected;
    st.peer = "127.0.0.1:5038";
    st.counters = {{"messages", 42}};
    return st;
  }

  const base::TenantId& tenant() const override { return tenant_; }
  const model::CallModel& call_model() const override { return model_; }
  ports::PbxCommands* commands() override { return nullptr; }

 private:
  boost::asio::io_context& io_;
  FakeLinkState& s_;
  std::string name_ = "fake";
  base::TenantId tenant_;
  model::CallModel model_{tenant_};
};

Config test_config(const TempDir& dir) {
  Config c;
  c.server.listen = "127.0.0.1:0";
  c.server.data_dir = dir.str() + "/data";
  return c;
}

model::JournalEntry entry(std::string party, model::Direction d, std::int64_t ended_s) {
  model::JournalEntry e{.tenant = base::TenantId("default")};
  e.call_id = "c-" + party;
  e.party = std::move(party);
  e.remote = d == model::Direction::internal ? "101" : "+4930123";
  e.direction = d;
  e.started_at = base::from_micros((ended_s - 10) * 1'000'000);
  e.ended_at = base::from_micros(ended_s * 1'000'000);
  return e;
}

TEST(DriverTable, PbxEntriesNameTheirDriverAndAnUnknownOneIsAClearError) {
  auto c = parse_config("[[pbx]]\nname = \"x\"\ndriver = \"tapi\"\nhost = \"h\"\nuser = \"u\"\n", "test");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->pbx.size(), 1u);
  EXPECT_EQ(c->pbx[0].driver, "tapi");
  auto st = check_driver(c->pbx[0]);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "pbx x: unknown driver \"tapi\" (known: ami, csta)");
  EXPECT_EQ(PbxConfig{}.driver, "ami");
  ASSERT_NE(find_driver("ami"), nullptr);
  ASSERT_NE(find_driver("csta"), nullptr);
  EXPECT_TRUE(check_driver(PbxConfig{}));
}

TEST(DriverTable, CstaLinkKeys) {
  auto c = parse_config(
      "[[pbx]]\nname = \"osv\"\ndriver = \"csta\"\nhost = \"h\"\nuser = \"u\"\nsecret = \"s\"\ntls = true\n"
      "tls_verify = false\nsession_start = \"osv\"\nedition = 3\nframing = \"headerless\"\n"
      "devices = [\"100-105\", \"200\"]\n",
      "test");
  ASSERT_TRUE(c) << c.error().message();
  const PbxConfig& p = c->pbx.at(0);
  EXPECT_EQ(p.port, 1040);  // the CSTA default, not AMI's 5038
  EXPECT_TRUE(p.tls);
  EXPECT_FALSE(p.tls_verify);
  EXPECT_EQ(p.session_start, "osv");
  EXPECT_EQ(p.edition, 3);
  EXPECT_EQ(p.framing, "headerless");
  EXPECT_EQ(p.devices, (std::vector<std::string>{"100-105", "200"}));
  EXPECT_TRUE(check_driver(p));
  auto bad = parse_config("[[pbx]]\ndriver = \"csta\"\nhost = \"h\"\nedition = 7\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("edition"), std::string::npos) << bad.error().message();
  bad = parse_config("[[pbx]]\ndriver = \"csta\"\nhost = \"h\"\nsession_start = \"tapi\"\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("session_start"), std::string::npos) << bad.error().message();
}

TEST(App, CreatesDataDirAndListensOnAFreePort) {
  TempDir dir;
  auto app = App::create(test_config(dir));
  ASSERT_TRUE(app) << app.error().to_string();
  EXPECT_TRUE(fs::exists(dir.str() + "/data/journal.db"));
  EXPECT_NE((*app)->http_port(), 0);
}

TEST(App, DataDirThatIsAFileIsAClearError) {
  TempDir dir;
  auto c = test_config(dir);
  c.server.data_dir = dir.str() + "/file";
  { std::ofstream(c.server.data_dir) << "x"; }
  auto app = App::create(c);
  ASSERT_FALSE(app);
  EXPECT_NE(app.error().message().find("data dir " + c.server.data_dir), std::string::npos)
      << app.error().message();
}

TEST(App, PolicyFiltersEntriesAndShutdownFlushesTheRest) {
  TempDir dir;
  auto c = test_config(dir);
  c.journal.exclude_internal = true;
  c.journal.excluded_numbers = {"150"};
  {
    auto app = App::create(c);
    ASSERT_TRUE(app) << app.error().to_string();
    auto& a = **app;
    auto* rt = a.runtime("default");  // the single-company tenant always has a runtime
    ASSERT_NE(rt, nullptr);
    auto sink = [rt](model::JournalEntry e) { rt->record(std::move(e)); };
    sink(entry("100", model::Direction::inbound, 1000));
    sink(entry("100", model::Direction::internal, 1001));
    sink(entry("150", model::Direction::inbound, 1002));
    a.request_stop();
    EXPECT_EQ(a.run(), 0);
    auto diag = a.diagnostics_json();
    EXPECT_NE(diag.find("\"received\":3,\"excluded_internal\":1,\"excluded_number\":1"), std::string::npos)
        << diag;
  }
  journal::SqliteJournalStore::Options ro;
  ro.read_only = true;
  auto store = journal::SqliteJournalStore::open(c.server.data_dir + "/journal.db", ro);
  ASSERT_TRUE(store);
  auto rows = (*store)->query({.tenant = "default"});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].entry.party, "100");
  EXPECT_EQ((*rows)[0].entry.direction, model::Direction::inbound);
}

TEST(App, StoredEntriesArePublishedAsJournalEvents) {
  TempDir dir;
  auto c = test_config(dir);
  c.journal.excluded_numbers = {"150"};
  auto app = App::create(c);
  ASSERT_TRUE(app) << app.error().to_string();
  auto& a = **app;
  struct Sink final : core::EventSubscriber {
    std::vector<std::string> frames;
    void on_message(const core::HubMessage& m) override { frames.push_back(*m.frame); }
  } own100, own101;
  core::EventFilter f100, f101;
  f100.own = {"100"};
  f101.own = {"101"};
  const base::TenantId tenant = entry("100", model::Direction::inbound, 1000).tenant;
  a.event_hub().subscribe(tenant, f100, std::nullopt, &own100);
  a.event_hub().subscribe(tenant, f101, std::nullopt, &own101);
  auto* rt = a.runtime("default");
  ASSERT_NE(rt, nullptr);
  auto sink = [rt](model::JournalEntry e) { rt->record(std::move(e)); };
  sink(entry("100", model::Direction::inbound, 1000));
  sink(entry("150", model::Direction::inbound, 1002));  // excluded: not stored, not published
  EXPECT_TRUE(own100.frames.empty());  // published once committed, with the stored id
  ASSERT_TRUE(a.journal().flush());
  a.io().poll();
  a.io().restart();
  ASSERT_EQ(own100.frames.size(), 1u);
  EXPECT_NE(own100.frames[0].find("\"entry\":{\"id\":1,\"party\": \"100\""), std::string::npos) << own100.frames[0];
  EXPECT_NE(own100.frames[0].find("{\"type\":\"journal\",\"seq\":"), std::string::npos) << own100.frames[0];
  EXPECT_NE(own100.frames[0].find("\"party\": \"100\""), std::string::npos) << own100.frames[0];
  EXPECT_TRUE(own101.frames.empty());
  a.request_stop();
  EXPECT_EQ(a.run(), 0);
}

TEST(App, ReadinessFollowsLinksAndDiagnosticsListThem) {
  TempDir dir;
  auto app = App::create(test_config(dir));
  ASSERT_TRUE(app);
  auto& a = **app;
  FakeLinkState s;
  ASSERT_TRUE(a.runtime("default")->add_driver(std::make_unique<FakeLink>(a.io(), s)));
  EXPECT_FALSE(s.started) << "links start with run()";

  std::vector<std::string> before, connected;
  std::string diag;
  boost::asio::post(a.io(), [&] {
    before = a.not_ready_reasons();
    s.connected = true;
    connected = a.not_ready_reasons();
    diag = a.diagnostics_json();
    a.request_stop();
  });
  EXPECT_EQ(a.run(), 0);
  EXPECT_TRUE(s.started);
  EXPECT_TRUE(s.stop_called);
  EXPECT_EQ(before, (std::vector<std::string>{"pbx fake: connecting"}));
  EXPECT_TRUE(connected.empty());
  EXPECT_NE(diag.find("\"pbx\":[{\"name\":\"fake\",\"state\":\"logged_in\",\"connected\":true,\"peer\":"
                      "\"127.0.0.1:5038\",\"last_error\":\"\",\"counters\":{\"messages\":42}}]"),
            std::string::npos)
      << diag;
}

TEST(App, ALinkThatNeverStopsIsForcedAfterTheGracePeriod) {
  TempDir dir;
  AppOptions o;
  o.shutdown_grace = std::chrono::milliseconds(20);
  auto app = App::create(test_config(dir), o);
  ASSERT_TRUE(app);
  FakeLinkState s;
  s.answer_stop = false;
  ASSERT_TRUE((*app)->runtime("default")->add_driver(std::make_unique<FakeLink>((*app)->io(), s)));
  (*app)->request_stop();
  EXPECT_EQ((*app)->run(), 0);
  EXPECT_TRUE(s.stop_called);
}

TEST(App, RetentionPurgesOldEntriesAtStart) {
  TempDir dir;
  auto c = test_config(dir);
  c.journal.retention_days = 30;
  std::promise<std::size_t> purged;
  AppOptions o;
  o.on_purged = [&](std::size_t n) { purged.set_value(n); };
  auto app = App::create(c, o);
  ASSERT_TRUE(app);
  auto& a = **app;
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  a.journal().append(entry("old", model::Direction::inbound, now_s - 40 * 86400));
  a.journal().append(entry("new", model::Direction::inbound, now_s - 1 * 86400));
  ASSERT_TRUE(a.journal().flush());

  std::thread t([&] { EXPECT_EQ(a.run(), 0); });
  auto f = purged.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get(), 1u);
  a.request_stop();
  t.join();
  auto rows = a.journal().query({.tenant = "default"});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].entry.party, "new");
}

}  // namespace
}  // namespace callbridge::app

#include "core/lookup_service.hpp"
#include "core/remote_info_service.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::app {
namespace {

// Runs the App's io handlers until `done` or 10 s (lookups finish on worker threads, then post).
template <typename Pred>
bool pump_until(App& app, Pred done) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < until) {
    app.io().restart();
    app.io().run_one_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(App, ACreatedContactIsFoundOnTheNextCallNotTheStaleNoMatch) {
  TempDir dir;
  auto app = App::create(test_config(dir));
  ASSERT_TRUE(app) << app.error().message();
  App& a = **app;
  model::CallModel m{base::TenantId("default")};
  const std::string caller = "+4989123456";
  auto t = base::from_micros(1'800'000'000'000'000);
  auto& rt = *a.runtime("default");
  auto info = [&] { return rt.remote_info().find("default", caller); };

  // A call from an unknown number: "nobody", kept after the call for its journal entry.
  m.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, t, caller);
  rt.remote_info().observe("default", "c1", m);
  ASSERT_TRUE(pump_until(a, [&] { return info() && info()->lookup == core::RemoteLookup::done; }));
  EXPECT_TRUE(info()->contacts.empty());
  m.clear("c1", "100", t);
  rt.remote_info().observe("default", "c1", m);
  ASSERT_NE(info(), nullptr);

  // The contact is created (what POST /api/v1/contacts does: store, then invalidate).
  ports::Contact c{.tenant = base::TenantId("default")};
  c.display_name = "New Person";
  c.numbers = {{"work", "+49 89 123456", ""}};
  ASSERT_TRUE(a.contacts().create(c));
  rt.contacts_changed();  // what POST /api/v1/contacts does after the store
  ASSERT_TRUE(pump_until(a, [&] { return info() == nullptr; })) << "the stale result is dropped";

  // The next call finds the new contact.
  m.update("c2", "101", model::ConnectionState::alerting, model::CallEventType::delivered, t, caller);
  rt.remote_info().observe("default", "c2", m);
  ASSERT_TRUE(pump_until(a, [&] { return info() && info()->lookup == core::RemoteLookup::done; }));
  ASSERT_EQ(info()->contacts.size(), 1u);
  EXPECT_EQ(info()->contacts[0].name, "New Person");
  EXPECT_EQ(info()->contacts[0].source, "store");

  // Diagnostics list the store as a source with its counters.
  auto d = a.diagnostics_json();
  EXPECT_NE(d.find(R"("sources":[{"name":"store","kind":"store","tenants":["default"],"ok":2)"), std::string::npos) << d;
}

// What an operator API will do: a tenant is added while the daemon runs (its runtime starts at
// once), keeps its entries to itself, and is removed again (its driver stopped first) while the
// configured tenant goes on.
TEST(App, ATenantIsAddedAndRemovedWhileRunning) {
  TempDir dir;
  auto app = App::create(test_config(dir));
  ASSERT_TRUE(app) << app.error().message();
  App& a = **app;
  FakeLinkState s;
  struct Step {
    bool added = false, started = false, duplicate_refused = false, removed = false, gone = false;
    std::string diag;
  } got;
  boost::asio::post(a.io(), [&] {
    auto rt = a.add_tenant(TenantSetup{.id = base::TenantId("acme")});
    got.added = rt.has_value();
    if (!rt) return a.request_stop();
    // Running: a driver added now starts at once; one of another tenant is refused.
    EXPECT_FALSE((*rt)->add_driver(std::make_unique<FakeLink>(a.io(), s)));
    EXPECT_TRUE((*rt)->add_driver(std::make_unique<FakeLink>(a.io(), s, base::TenantId("acme"))));
    got.started = s.started;
    (*rt)->record(model::JournalEntry{.tenant = base::TenantId("acme"), .call_id = "c-acme", .party = "200"});
    got.duplicate_refused = !a.add_tenant(TenantSetup{.id = base::TenantId("acme")});
    got.diag = a.diagnostics_json();
    a.remove_tenant(base::TenantId("acme"), [&](base::Status st) {
      got.removed = st.has_value();
      got.gone = a.runtime("acme") == nullptr && a.runtime("default") != nullptr && !a.lookup_for("acme");
      a.remove_tenant(base::TenantId("acme"), [&](base::Status again) {
        EXPECT_FALSE(again);
        a.request_stop();
      });
    });
  });
  EXPECT_EQ(a.run(), 0);
  EXPECT_TRUE(got.added);
  EXPECT_TRUE(got.started);
  EXPECT_TRUE(s.stop_called) << "removal stops the tenant's drivers";
  EXPECT_TRUE(got.duplicate_refused);
  EXPECT_TRUE(got.removed);
  EXPECT_TRUE(got.gone);
  EXPECT_NE(got.diag.find(R"({"id":"acme","pbx":1,"call_control":false)"), std::string::npos) << got.diag;
  ASSERT_TRUE(a.journal().flush());
  auto acme = a.journal().query({.tenant = "acme"});
  ASSERT_TRUE(acme);
  ASSERT_EQ(acme->size(), 1u);
  EXPECT_EQ((*acme)[0].entry.party, "200");
  auto def = a.journal().query({.tenant = "default"});
  ASSERT_TRUE(def);
  EXPECT_TRUE(def->empty());
}

// A tenant added at run time (what the operator API does) gets its slice of the in-memory contact
// index at once, like the file's tenants at start-up: no lookup needed to start the load, and its
// lookups are answered from memory; removing it drops the slice. Its contacts were written by
// another process (as `callbridge contacts import` would), so nothing but the preload loads them.
TEST(App, ATenantAddedAtRunTimeIsPreloadedIntoTheContactIndexAndDroppedOnRemoval) {
  TempDir dir;
  Config c = test_config(dir);
  fs::create_directories(c.server.data_dir);
  {
    auto store = directory::SqliteContactStore::open({.path = c.server.data_dir + "/contacts.db"});
    ASSERT_TRUE(store) << store.error().message();
    for (int i = 0; i < 3; ++i) {
      ports::Contact k{.tenant = base::TenantId("acme")};
      k.display_name = "Acme " + std::to_string(i);
      k.numbers = {{"work", "+49891234" + std::to_string(50 + i), ""}};
      ASSERT_TRUE((*store)->create(k));
    }
  }
  auto app = App::create(c);
  ASSERT_TRUE(app) << app.error().message();
  App& a = **app;
  auto index = [&] {
    return boost::json::parse(a.diagnostics_json()).at("directory").at("memory_index").as_object();
  };
  auto count = [&](const char* key) { return index().at(key).to_number<std::int64_t>(); };
  ASSERT_TRUE(pump_until(a, [&] { return count("tenants") == 1; })) << index();  // "default", no contacts
  EXPECT_EQ(count("numbers"), 0);

  auto rt = a.add_tenant(TenantSetup{.id = base::TenantId("acme")});
  ASSERT_TRUE(rt) << rt.error().message();
  ASSERT_TRUE(pump_until(a, [&] { return count("tenants") == 2 && count("numbers") == 3; })) << index();
  EXPECT_EQ(count("store_lookups"), 0) << "loaded before any lookup asked for it";
  EXPECT_EQ(count("index_lookups"), 0);

  auto found = (*rt)->lookup().lookup(base::TenantId("acme"), "+4989123451");
  ASSERT_EQ(found.matches.size(), 1u);
  EXPECT_EQ(found.matches[0].contact.display_name, "Acme 1");
  EXPECT_EQ(count("index_lookups"), 1) << "answered from memory";
  EXPECT_EQ(count("store_lookups"), 0);
  // The other tenant does not see acme's contacts.
  EXPECT_TRUE(a.runtime("default")->lookup().lookup(base::TenantId("default"), "+4989123451").matches.empty());

  bool removed = false;
  a.remove_tenant(base::TenantId("acme"), [&](base::Status st) { removed = st.has_value(); });
  ASSERT_TRUE(pump_until(a, [&] { return removed; }));
  EXPECT_EQ(count("tenants"), 1) << index();
  EXPECT_EQ(count("numbers"), 0);

  // Added again (an operator re-creates it): preloaded again.
  ASSERT_TRUE(a.add_tenant(TenantSetup{.id = base::TenantId("acme")}));
  ASSERT_TRUE(pump_until(a, [&] { return count("tenants") == 2 && count("numbers") == 3; })) << index();
  EXPECT_EQ(count("store_lookups"), 0);
}

}  // namespace
}  // namespace callbridge::app
