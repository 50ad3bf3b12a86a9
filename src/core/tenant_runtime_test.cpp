// core::TenantRuntime: two tenants side by side on one hub and one journal store. Call events,
// line states, journal entries, remote info and call control of one never reach the other; a
// driver or entry of the wrong tenant is refused; a runtime is built and torn down while another
// runs (what App::add_tenant / remove_tenant do).
#include "core/tenant_runtime.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>

namespace callbridge::core {
namespace {

using model::CallEventType;
using model::ConnectionState;

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1'795'000'000 + s)); }

class FixedClock final : public base::Clock {
 public:
  base::Timestamp now() const override { return at(0); }
};

// The journal store: keeps what was appended; reports commits only when asked to.
struct MemoryStore final : ports::JournalStore {
  std::vector<model::JournalEntry> appended;
  std::vector<std::pair<std::string, std::string>> dropped_state;
  bool open_state = false;
  void append(model::JournalEntry e) override { appended.push_back(std::move(e)); }
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery&) override {
    return std::vector<ports::StoredEntry>{};
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
  std::map<std::pair<std::string, std::string>, std::string> rows;  // open state, (scope, key) -> text
  bool keeps_open_state() const override { return open_state; }
  void put_open_state(std::string scope, std::string key, std::string text) override {
    if (text.empty()) {
      rows.erase({scope, key});
      dropped_state.emplace_back(std::move(scope), std::move(key));
    } else {
      rows[{std::move(scope), std::move(key)}] = std::move(text);
    }
  }
  base::Result<std::vector<std::string>> load_open_state(const std::string& scope) override {
    std::vector<std::string> out;
    for (const auto& [k, text] : rows)
      if (k.first == scope) out.push_back(text);
    return out;
  }
};

// A driver without a PBX: its model publishes into the runtime's sink like a real driver's.
struct FakeDriver final : ports::PbxDriver {
  std::string name_;
  base::TenantId tenant_;
  ports::PbxEventSink& sink;
  model::CallModel model;
  struct Commands final : ports::PbxCommands {
    std::vector<ports::MakeCallRequest> calls;
    bool available() const override { return true; }
    void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
      calls.push_back(r);
      d({});
    }
    void answer(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void hangup(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void hold(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
      d({});
    }
    void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
      d({});
    }
    void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  } cmds;
  bool started = false, stopped = false, answer_stop = true;
  std::function<void()> pending_stop;
  int* destroyed = nullptr;

  model::DeviceRegistry registry{name_};
  const model::DeviceRegistry* devices() const override { return &registry; }
  model::QueueState queue_state{name_};
  std::vector<ports::QueueMemberRequest> queue_requests;
  const model::QueueState* queues() const override { return &queue_state; }
  void queue_member(const ports::QueueMemberRequest& r, ports::CommandDone done) override {
    queue_requests.push_back(r);
    done(base::Status{});
  }
  bool forget_device(std::string_view id) override {
    const auto* d = registry.find_id(id);
    if (!d) return false;
    registry.erase(std::string(d->endpoint));
    auto ids = registry.take_changed();
    sink.on_devices_changed(registry, ids);
    return true;
  }

  FakeDriver(std::string name, base::TenantId tenant, ports::PbxEventSink& s)
      : name_(std::move(name)), tenant_(tenant), sink(s),
        model(tenant, [this](const model::CallEvent& e) { sink.on_call_event(e, model); }) {}
  ~FakeDriver() override {
    if (destroyed) ++*destroyed;
  }
  const std::string& name() const override { return name_; }
  const base::TenantId& tenant() const override { return tenant_; }
  void start() override { started = true; }
  void stop(std::function<void()> done) override {
    stopped = true;
    if (answer_stop) done();
    else pending_stop = std::move(done);
  }
  ports::PbxDriverStatus status() const override { return {}; }
  const model::CallModel& call_model() const override { return model; }
  ports::PbxCommands* commands() override { return &cmds; }
};

struct Collect final : EventSubscriber {
  std::vector<std::string> got;
  void on_message(const HubMessage& m) override { got.push_back(*m.frame); }
  bool any_contains(std::string_view s) const {
    for (const auto& g : got)
      if (g.find(s) != std::string::npos) return true;
    return false;
  }
};

model::JournalEntry entry(base::TenantId tenant, std::string party, std::string remote) {
  model::JournalEntry e{.tenant = tenant};
  e.call_id = "c-" + party;
  e.party = std::move(party);
  e.remote = std::move(remote);
  e.direction = model::Direction::inbound;
  e.started_at = at(0);
  e.ended_at = at(10);
  return e;
}

struct TwoTenants : ::testing::Test {
  FixedClock clock;
  EventHub hub;
  MemoryStore store;
  JournalPolicy policy{JournalPolicyConfig{.excluded_numbers = {"+4930999"}}};
  std::deque<std::function<void()>> posted;  // the io thread's queue
  std::mutex posted_mu;
  base::TenantId acme{"acme"}, globex{"globex"};
  std::unique_ptr<TenantRuntime> a, b;

  TenantServices services() {
    TenantServices s;
    s.hub = &hub;
    s.journal = &store;
    s.policy = &policy;
    s.clock = &clock;
    s.post = [this](std::function<void()> f) {
      std::lock_guard l(posted_mu);
      posted.push_back(std::move(f));
    };
    s.post_after = [](std::chrono::milliseconds, std::function<void()>) {};  // lookups finish first here
    return s;
  }
  std::unique_ptr<TenantRuntime> runtime(base::TenantId id) {
    return std::make_unique<TenantRuntime>(TenantSpec{.id = id}, services());
  }
  void run_posted() {
    for (;;) {
      std::function<void()> f;
      {
        std::lock_guard l(posted_mu);
        if (posted.empty()) return;
        f = std::move(posted.front());
        posted.pop_front();
      }
      f();
    }
  }
  FakeDriver* add(TenantRuntime& rt, std::string name) {
    auto d = std::make_unique<FakeDriver>(std::move(name), rt.id(), rt.sink());
    auto* raw = d.get();
    EXPECT_TRUE(rt.add_driver(std::move(d)));
    return raw;
  }
  TwoTenants() : a(runtime(acme)), b(runtime(globex)) {}
  static EventFilter everything() {
    EventFilter f;
    f.scope = EventScope::tenant;
    return f;
  }
};

TEST_F(TwoTenants, CallEventsAndLinesReachOnlyTheirTenantsSubscribers) {
  auto* da = add(*a, "pbx-a");
  auto* db = add(*b, "pbx-b");
  Collect ca, cb;
  hub.subscribe(acme, everything(), std::nullopt, &ca);
  hub.subscribe(globex, everything(), std::nullopt, &cb);
  // The same device and call id on both PBXs: still two separate worlds.
  da->model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989111");
  db->model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(2), "+4989222");
  ASSERT_FALSE(ca.got.empty());
  ASSERT_FALSE(cb.got.empty());
  EXPECT_TRUE(ca.any_contains("+4989111"));
  EXPECT_FALSE(ca.any_contains("+4989222"));
  EXPECT_TRUE(cb.any_contains("+4989222"));
  EXPECT_FALSE(cb.any_contains("+4989111"));
  EXPECT_TRUE(ca.any_contains("\"state\":\"ringing\""));
  EXPECT_FALSE(ca.any_contains("\"state\":\"busy\""));
  // Each tenant counts its own seq.
  EXPECT_EQ(hub.last_seq(acme), ca.got.size());
  EXPECT_EQ(hub.last_seq(globex), cb.got.size());
  // Snapshots list only the tenant's own models.
  Collect late;
  auto snap = hub.subscribe(acme, everything(), std::nullopt, &late);
  ASSERT_EQ(snap.initial.size(), 1u);
  EXPECT_NE(snap.initial[0]->find("+4989111"), std::string::npos);
  EXPECT_EQ(snap.initial[0]->find("+4989222"), std::string::npos);
  // Remote info is per runtime.
  EXPECT_NE(a->remote_info().find(acme, "+4989111"), nullptr);
  EXPECT_EQ(a->remote_info().find(acme, "+4989222"), nullptr);
  EXPECT_EQ(b->remote_info().find(globex, "+4989111"), nullptr);
  int models = 0;
  a->for_each_model([&](const model::CallModel& m) {
    ++models;
    EXPECT_EQ(m.tenant(), acme);
  });
  EXPECT_EQ(models, 1);
}

TEST_F(TwoTenants, JournalEntriesGoToTheStoreAndOnlyTheirTenantsStream) {
  Collect ca, cb;
  hub.subscribe(acme, everything(), std::nullopt, &ca);
  hub.subscribe(globex, everything(), std::nullopt, &cb);
  a->record(entry(acme, "100", "+4989111"));
  b->record(entry(globex, "200", "+4989222"));
  b->record(entry(globex, "201", "+4930999"));  // excluded by the policy
  ASSERT_EQ(store.appended.size(), 2u);
  EXPECT_EQ(store.appended[0].tenant, acme);
  EXPECT_EQ(store.appended[1].tenant, globex);
  ASSERT_EQ(ca.got.size(), 1u);
  EXPECT_NE(ca.got[0].find("{\"type\":\"journal\""), std::string::npos) << ca.got[0];
  EXPECT_NE(ca.got[0].find("\"100\""), std::string::npos);
  ASSERT_EQ(cb.got.size(), 1u);
  EXPECT_NE(cb.got[0].find("\"200\""), std::string::npos);
  EXPECT_EQ(a->stats().journal_received, 1u);
  EXPECT_EQ(b->stats().journal_received, 2u);
  EXPECT_EQ(b->stats().excluded_number, 1u);
}

TEST_F(TwoTenants, AnEntryCarriedByAnExternalDeviceGetsItsNameAndWhoseCostsTheyAre) {
  TenantSpec spec{.id = acme};
  spec.call_control.device_of_number = [](std::string_view e164) -> std::optional<ActiveDevice> {
    if (e164 == "+491701234567") return ActiveDevice{"mobile", "+491701234567", true};
    if (e164 == "+491709999999") return ActiveDevice{"company", "+491709999999", false};
    return std::nullopt;
  };
  auto c = std::make_unique<TenantRuntime>(std::move(spec), services());
  auto e = entry(acme, "103", "+4989111");
  e.device_number = "+491701234567";
  e.private_device = true;
  c->record(e);
  auto desk = entry(acme, "104", "+4989111");
  c->record(desk);
  ASSERT_EQ(store.appended.size(), 2u);
  EXPECT_EQ(store.appended[0].device_name, "mobile");
  EXPECT_TRUE(store.appended[0].private_device);
  EXPECT_FALSE(store.appended[1].device_name);  // the desk phone carried it: no device
  EXPECT_FALSE(store.appended[1].device_number);
  auto company = entry(acme, "103", "+4989111");
  company.device_number = "+491709999999";
  company.private_device = true;  // as the driver leaves every external device
  c->record(company);
  auto unknown = entry(acme, "103", "+4989111");
  unknown.device_number = "+491700000000";
  unknown.private_device = true;
  c->record(unknown);
  ASSERT_EQ(store.appended.size(), 4u);
  EXPECT_EQ(store.appended[2].device_name, "company");
  EXPECT_FALSE(store.appended[2].private_device);  // a company device: the company's costs
  EXPECT_FALSE(store.appended[3].device_name);
  EXPECT_TRUE(store.appended[3].private_device);  // nobody's active device any more: private
}

TEST_F(TwoTenants, WhatBelongsToAnotherTenantIsRefusedNotDelivered) {
  Collect ca, cb;
  hub.subscribe(acme, everything(), std::nullopt, &ca);
  hub.subscribe(globex, everything(), std::nullopt, &cb);
  // An entry and an event of globex handed to acme's runtime (a driver bug) go nowhere.
  a->record(entry(globex, "200", "+4989222"));
  model::CallModel globex_model(globex);
  globex_model.set_sink([&](const model::CallEvent& e) { a->on_call_event(e, globex_model); });
  globex_model.update("c9", "200", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989222");
  a->on_lines_changed(globex_model);
  a->on_committed(ports::StoredEntry{.id = 7, .entry = entry(globex, "200", "+4989222")});
  EXPECT_TRUE(store.appended.empty());
  EXPECT_TRUE(ca.got.empty());
  EXPECT_TRUE(cb.got.empty());
  EXPECT_EQ(a->stats().foreign_dropped, 4u);
  // A driver of another tenant is not accepted.
  auto wrong = std::make_unique<FakeDriver>("pbx-x", globex, a->sink());
  auto st = a->add_driver(std::move(wrong));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("belongs to tenant globex"), std::string::npos) << st.error().message();
  EXPECT_TRUE(a->drivers().empty());
}

// Issue 17: a runtime publishes the device registries of its own drivers only (to admins), lists
// and removes only its own drivers' devices.
TEST_F(TwoTenants, DeviceRegistriesStayWithTheirTenant) {
  auto* da = add(*a, "pbx-a");
  auto* db = add(*b, "pbx-b");
  Collect ca, cb;
  auto admins = everything();
  admins.admin = true;
  hub.subscribe(acme, admins, std::nullopt, &ca);
  hub.subscribe(globex, admins, std::nullopt, &cb);
  da->registry.upsert("100").extension = "100";
  db->registry.upsert("100").extension = "100";
  auto ids_a = da->registry.take_changed();
  auto ids_b = db->registry.take_changed();
  a->on_devices_changed(da->registry, ids_a);
  ASSERT_EQ(ca.got.size(), 1u);
  EXPECT_NE(ca.got[0].find("\"id\":\"pbx-a:100\""), std::string::npos) << ca.got[0];
  EXPECT_TRUE(cb.got.empty());
  // globex's registry handed to acme's runtime (a driver bug) goes nowhere.
  a->on_devices_changed(db->registry, ids_b);
  EXPECT_EQ(ca.got.size(), 1u);
  EXPECT_EQ(a->stats().foreign_dropped, 1u);
  int registries = 0;
  a->for_each_device_registry([&](const model::DeviceRegistry& r) {
    ++registries;
    EXPECT_EQ(r.pbx(), "pbx-a");
  });
  EXPECT_EQ(registries, 1);
  EXPECT_FALSE(a->forget_device("pbx-b:100"));
  EXPECT_NE(db->registry.find("100"), nullptr);
  EXPECT_TRUE(a->forget_device("pbx-a:100"));
  ASSERT_EQ(ca.got.size(), 2u);
  EXPECT_NE(ca.got[1].find("\"event\":\"removed\",\"id\":\"pbx-a:100\""), std::string::npos) << ca.got[1];
  EXPECT_TRUE(cb.got.empty());
}

// Issue 17: a runtime publishes only its own drivers' queues and sends membership changes only to
// the driver that has the queue.
TEST_F(TwoTenants, QueuesStayWithTheirTenant) {
  auto* da = add(*a, "pbx-a");
  auto* db = add(*b, "pbx-b");
  Collect ca, cb;
  hub.subscribe(acme, everything(), std::nullopt, &ca);
  hub.subscribe(globex, everything(), std::nullopt, &cb);
  model::Queue q;
  q.name = "support";
  da->queue_state.put(q);
  db->queue_state.put(q);
  auto na = da->queue_state.take_changed();
  auto nb = db->queue_state.take_changed();
  a->on_queues_changed(da->queue_state, na);
  ASSERT_EQ(ca.got.size(), 1u);
  EXPECT_NE(ca.got[0].find("\"id\":\"pbx-a:support\""), std::string::npos) << ca.got[0];
  EXPECT_TRUE(cb.got.empty());
  a->on_queues_changed(db->queue_state, nb);  // globex's state handed to acme's runtime
  EXPECT_EQ(ca.got.size(), 1u);
  EXPECT_EQ(a->stats().foreign_dropped, 1u);
  std::optional<base::Status> got;
  a->queue_member({.op = ports::QueueMemberRequest::Op::pause, .queue = "support", .device = "101"}, "",
                  [&](base::Status s) { got = s; });
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(da->queue_requests.size(), 1u);
  EXPECT_TRUE(db->queue_requests.empty());
  got.reset();
  a->queue_member({.op = ports::QueueMemberRequest::Op::pause, .queue = "sales", .device = "101"}, "",
                  [&](base::Status s) { got = s; });
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code(), base::Errc::not_found);
}

TEST_F(TwoTenants, CommittedEntriesArePublishedWithTheirIdWhenTheStoreReportsCommits) {
  auto s = services();
  s.journal_ids = true;
  auto c = std::make_unique<TenantRuntime>(TenantSpec{.id = base::TenantId("initech")}, s);
  Collect cc;
  hub.subscribe(c->id(), everything(), std::nullopt, &cc);
  c->record(entry(c->id(), "100", "+4989111"));
  EXPECT_EQ(store.appended.size(), 1u);
  EXPECT_TRUE(cc.got.empty()) << "published once committed, with the id";
  c->on_committed(ports::StoredEntry{.id = 42, .entry = store.appended[0]});
  ASSERT_EQ(cc.got.size(), 1u);
  EXPECT_NE(cc.got[0].find("\"entry\":{\"id\":42"), std::string::npos) << cc.got[0];
}

TEST_F(TwoTenants, CallControlGoesThroughTheTenantsOwnDriver) {
  auto* da = add(*a, "pbx-a");
  auto* db = add(*b, "pbx-b");
  ASSERT_NE(a->call_control(), nullptr);
  ASSERT_NE(b->call_control(), nullptr);
  std::optional<CommandOutcome> out;
  a->call_control()->make_call(CommandCaller{.tenant = acme, .extensions = {"100"}}, "+4989123", std::nullopt,
                               [&](CommandOutcome o) { out = std::move(o); });
  ASSERT_TRUE(out && out->has_value());
  EXPECT_EQ(da->cmds.calls.size(), 1u);
  EXPECT_TRUE(db->cmds.calls.empty());
  // A tenant without a driver has no call control (the API answers 503).
  auto c = runtime(base::TenantId("initech"));
  EXPECT_EQ(c->call_control(), nullptr);
}

// Each runtime owns its tenant's command log: records of one are not in the other's, changes go
// to the services' on_command, and the log goes with the runtime.
TEST_F(TwoTenants, EachRuntimeOwnsItsTenantsCommandLog) {
  std::vector<CommandRecord> heard;
  auto s = services();
  s.on_command = [&](const CommandRecord& r) { heard.push_back(r); };
  auto c = std::make_unique<TenantRuntime>(
      TenantSpec{.id = base::TenantId("initech"), .command_log = {.max_per_tenant = 2, .ttl = std::chrono::seconds(60)}},
      s);
  const base::TenantId initech("initech");
  ASSERT_NE(&c->commands(), &a->commands());
  ASSERT_NE(&a->commands(), &b->commands());
  const auto& r1 = c->commands().add(initech, "anna", "hangup", CommandState::accepted, "c1", std::nullopt);
  const std::string id1 = r1.id;
  EXPECT_EQ(r1.created_at, at(0));  // the services' clock
  EXPECT_EQ(c->commands().size(initech), 1u);
  EXPECT_EQ(a->commands().find(initech, id1), nullptr);
  EXPECT_EQ(a->commands().size(initech), 0u);
  EXPECT_TRUE(heard.empty());  // the creator answers with a new record itself
  ASSERT_TRUE(c->commands().finish(initech, id1, CommandState::failed, "Hangup: No such channel"));
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].id, id1);
  EXPECT_EQ(heard[0].user, "anna");
  EXPECT_EQ(heard[0].state, CommandState::failed);
  // The spec's limits: at most 2 kept.
  c->commands().add(initech, "anna", "hold", CommandState::accepted, "c1", std::nullopt);
  c->commands().add(initech, "anna", "retrieve", CommandState::accepted, "c1", std::nullopt);
  EXPECT_EQ(c->commands().size(initech), 2u);
  EXPECT_EQ(c->commands().find(initech, id1), nullptr);
  // A runtime without on_command keeps records all the same and tells no one.
  const auto& r2 = a->commands().add(acme, "bob", "hangup", CommandState::accepted, "c2", std::nullopt);
  EXPECT_TRUE(a->commands().finish(acme, r2.id, CommandState::done, ""));
  EXPECT_EQ(heard.size(), 1u);
  // Removed: the log goes with the runtime (the REST routes hold it weakly).
  std::weak_ptr<CommandLog> log = c->shared_commands();
  c.reset();
  EXPECT_TRUE(log.expired());
}

TEST_F(TwoTenants, ARuntimeIsAddedAndRemovedWhileAnotherRuns) {
  auto* da = add(*a, "pbx-a");
  a->start();
  EXPECT_TRUE(da->started);
  b->start();
  auto* db = add(*b, "pbx-b");  // added while running: started at once
  EXPECT_TRUE(db->started);
  Collect ca;
  hub.subscribe(acme, everything(), std::nullopt, &ca);
  db->model.update("c1", "200", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989222");

  // Remove globex: stop, then destroy. Its driver stops, its model leaves the hub.
  bool stopped = false;
  db->answer_stop = false;
  b->stop([&] { stopped = true; });
  EXPECT_TRUE(db->stopped);
  EXPECT_FALSE(stopped) << "waits for its drivers";
  db->pending_stop();
  EXPECT_TRUE(stopped);
  int destroyed = 0;
  db->destroyed = &destroyed;
  b.reset();
  EXPECT_EQ(destroyed, 1);
  Collect cb;
  auto snap = hub.subscribe(globex, everything(), std::nullopt, &cb);
  ASSERT_EQ(snap.initial.size(), 1u);
  EXPECT_EQ(snap.initial[0]->find("\"c1\""), std::string::npos) << "the removed tenant's model is gone";

  // acme goes on untouched.
  da->model.update("c2", "100", ConnectionState::alerting, CallEventType::delivered, at(2), "+4989111");
  EXPECT_TRUE(ca.any_contains("\"c2\""));
  a->record(entry(acme, "100", "+4989111"));
  EXPECT_EQ(store.appended.back().tenant, acme);
  run_posted();  // nothing posted for the removed runtime may touch it
}

TEST_F(TwoTenants, AnEntryThePolicyDropsStillDropsItsOpenCallState) {
  store.open_state = true;
  auto e = entry(acme, "100", "+4930999");
  e.state_scope = "ami:acme:pbx";
  e.state_key = "k1";
  a->record(std::move(e));
  EXPECT_TRUE(store.appended.empty());
  ASSERT_EQ(store.dropped_state.size(), 1u);
  EXPECT_EQ(store.dropped_state[0].second, "k1");
}

// Issue 13: the contact Anna chose in the pop (two contacts share the caller's number) is the
// contact of her journal entry of that call, not the lookup's first match; only hers (party and
// call), and kept in the store's open-state rows until the entry is written, so a restarted
// runtime (callbridged restart while the call goes on) still applies it. Other tenants never see it.
TEST_F(TwoTenants, ContactChosenInThePopGoesIntoThatPartysEntryAlsoAfterARestart) {
  store.open_state = true;
  a = runtime(acme);  // with the open-state store
  const model::ContactRef max{.id = "7", .name = "Max Muster", .company = "ACME GmbH", .source = "store"};
  a->chosen_contacts().choose("c-100", "100", max, at(1));
  ASSERT_EQ(store.rows.size(), 1u);
  EXPECT_EQ(store.rows.begin()->first.first, "chosen:acme");
  // Restart before the call ends: the next runtime reads the choice back.
  a.reset();
  a = runtime(acme);
  EXPECT_EQ(a->chosen_contacts().size(), 1u);
  b->record(entry(globex, "100", "+4989111"));  // same call id and party, other tenant: untouched
  a->record(entry(acme, "101", "+4989111"));    // another party of the tenant: untouched
  auto mine = entry(acme, "100", "+4989111");
  mine.call_id = "lab-c-100";  // the entry's id with a link prefix is the same call
  a->record(mine);
  ASSERT_EQ(store.appended.size(), 3u);
  EXPECT_FALSE(store.appended[0].contact);
  EXPECT_FALSE(store.appended[1].contact);
  ASSERT_TRUE(store.appended[2].contact);
  EXPECT_EQ(store.appended[2].contact->id, "7");
  EXPECT_EQ(store.appended[2].contact->name, "Max Muster");
  EXPECT_EQ(store.appended[2].contact->company, "ACME GmbH");
  EXPECT_EQ(store.appended[2].contact->source, "store");
  EXPECT_EQ(a->chosen_contacts().size(), 0u);
  EXPECT_TRUE(store.rows.empty()) << "the row leaves once the entry is written";
}

// Cluster mode (docs/cluster.md): a lost lease removes one driver while the tenant runs on. The
// driver is stopped first, destroyed from a fresh io handler; call control moves to the next driver.
TEST_F(TwoTenants, RemoveDriverStopsThenDestroysItAndRebindsCallControl) {
  a->start();
  auto* first = add(*a, "pbx-1");
  auto* second = add(*a, "pbx-2");
  ASSERT_NE(a->call_control(), nullptr);
  EXPECT_EQ(&a->call_control()->model(), &first->call_model());
  int destroyed = 0;
  first->destroyed = &destroyed;
  first->answer_stop = false;  // the PBX link takes its time to close
  std::optional<base::Status> done;
  a->remove_driver("pbx-1", [&](base::Status st) { done = st; });
  EXPECT_TRUE(first->stopped);
  run_posted();
  EXPECT_FALSE(done);  // not before the driver reported stopped
  EXPECT_EQ(a->drivers().size(), 2u);
  first->pending_stop();
  run_posted();
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);
  EXPECT_EQ(destroyed, 1);
  ASSERT_EQ(a->drivers().size(), 1u);
  ASSERT_NE(a->call_control(), nullptr);
  EXPECT_EQ(&a->call_control()->model(), &second->call_model());
  EXPECT_FALSE(second->stopped);
  EXPECT_TRUE(a->running());

  std::optional<base::Status> unknown;
  a->remove_driver("pbx-9", [&](base::Status st) { unknown = st; });
  ASSERT_TRUE(unknown);
  ASSERT_FALSE(*unknown);
  EXPECT_EQ(unknown->error().code(), base::Errc::not_found);
}

TEST(ChosenContacts, RowsRoundTripAndOldOrForeignRowsAreLeftOut) {
  const model::ContactRef c{.id = "ldap:uid=max", .name = "Max Muster", .company = "", .source = "ldap"};
  auto text = ChosenContacts::encode("lab-1795.0", "100", c, at(5));
  auto row = ChosenContacts::decode(text);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->call_id, "lab-1795.0");
  EXPECT_EQ(row->party, "100");
  EXPECT_EQ(row->contact.id, "ldap:uid=max");
  EXPECT_EQ(row->contact.name, "Max Muster");
  EXPECT_EQ(row->contact.company, "");
  EXPECT_EQ(row->contact.source, "ldap");
  EXPECT_EQ(row->at, at(5));
  EXPECT_FALSE(ChosenContacts::decode(""));
  EXPECT_FALSE(ChosenContacts::decode("v2\tx"));
  EXPECT_FALSE(ChosenContacts::decode("v1\tc\t100\tnot-a-time\t7\tstore\tMax\t"));

  MemoryStore store;
  store.open_state = true;
  store.rows[{"chosen:acme", "old|100"}] = ChosenContacts::encode("old", "100", c, at(0));
  store.rows[{"chosen:acme", "new|100"}] = ChosenContacts::encode("new", "100", c, at(0) + std::chrono::hours(47));
  store.rows[{"chosen:acme", "junk"}] = "junk";
  ChosenContacts chosen(base::TenantId("acme"), &store);
  ASSERT_TRUE(chosen.load(at(0) + std::chrono::hours(49)));
  EXPECT_EQ(chosen.size(), 1u);
  EXPECT_TRUE(chosen.find("new", "100"));
  EXPECT_FALSE(chosen.find("old", "100"));
  EXPECT_FALSE(store.rows.contains({"chosen:acme", "old|100"})) << "expired rows are deleted";
  EXPECT_FALSE(chosen.find("new", "101"));
}

}  // namespace
}  // namespace callbridge::core
