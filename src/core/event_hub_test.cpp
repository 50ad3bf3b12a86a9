#include "core/event_hub.hpp"

#include <gtest/gtest.h>

#include <map>
#include <utility>

namespace callbridge::core {
namespace {

struct Collect : EventSubscriber {
  std::vector<std::string> got;
  void on_message(const HubMessage& m) override { got.push_back(*m.frame); }
};

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1'795'000'000 + s)); }

struct HubTest : ::testing::Test {
  EventHub hub{EventHubOptions{.retention = 8}};
  model::CallModel model{base::TenantId("default")};
  HubTest() {
    hub.add_model("default", &model);
    model.set_sink([this](const model::CallEvent& e) { hub.on_call_event(e, model); });
  }
  EventFilter own(std::vector<std::string> d) { return {EventScope::own, std::move(d), {}}; }
};

TEST_F(HubTest, SnapshotThenEventsWithIncreasingSeqFilteredByDevice) {
  model.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, at(0));
  Collect a, b;
  auto sa = hub.subscribe("default", own({"100"}), std::nullopt, &a);
  auto sb = hub.subscribe("default", own({"101"}), std::nullopt, &b);
  ASSERT_EQ(sa.initial.size(), 1u);
  EXPECT_NE(sa.initial[0]->find("\"type\":\"snapshot\",\"seq\":2"), std::string::npos) << *sa.initial[0];
  EXPECT_NE(sa.initial[0]->find("\"id\":\"c1\""), std::string::npos);
  EXPECT_NE(sa.initial[0]->find("{\"device\":\"100\",\"state\":\"ringing\"}"), std::string::npos);
  EXPECT_EQ(sb.initial[0]->find("\"c1\""), std::string::npos) << "101 must not see 100's call";

  model.update("c1", "100", model::ConnectionState::connected, model::CallEventType::established, at(1));
  model.update("c2", "101", model::ConnectionState::alerting, model::CallEventType::delivered, at(2));
  ASSERT_EQ(a.got.size(), 2u);  // call established + line busy
  EXPECT_EQ(a.got[0].rfind("{\"type\":\"call\",\"seq\":3,\"event\":\"established\"", 0), 0u) << a.got[0];
  EXPECT_EQ(a.got[1], "{\"type\":\"line\",\"seq\":4,\"device\":\"100\",\"state\":\"busy\"}");
  ASSERT_EQ(b.got.size(), 2u);
  EXPECT_NE(b.got[0].find("\"seq\":5"), std::string::npos);
  hub.unsubscribe("default", sa.id);
  hub.unsubscribe("default", sb.id);
  EXPECT_EQ(hub.stats().subscribers, 0u);
}

// docs/parking.md: a parked call is the tenant's business: every subscription of the tenant gets
// the parking events (a user of scope own without any device in the call too), another tenant's
// none; each change is one message with the parked call as GET /api/v1/parking shows it.
TEST_F(HubTest, ParkingEventsReachEverySubscriptionOfTheTenantOnly) {
  Collect mine, colleague, other;
  auto a = hub.subscribe("default", own({"100"}), std::nullopt, &mine);
  auto b = hub.subscribe("default", own({"105"}), std::nullopt, &colleague);
  auto c = hub.subscribe("acme", own({"100"}), std::nullopt, &other);
  model::ParkingState st("lab");
  model::ParkedCall pc;
  pc.lot = "default";
  pc.space = "701";
  pc.linkedid = "c9";
  pc.number = "+4989123001";
  pc.parker = "100";
  pc.since = at(0);
  pc.times_out_at = at(45);
  st.park(pc);
  st.leave("default", "701", model::ParkingChange::Reason::retrieved, "102");
  auto changes = st.take_changes();
  hub.on_parking("default", st, changes, at(12));
  ASSERT_EQ(mine.got.size(), 2u);
  EXPECT_EQ(mine.got[0],
            "{\"type\":\"parking\",\"seq\":1,\"event\":\"parked\",\"reason\":null,\"by\":null,\"parked_call\":"
            "{\"id\":\"lab:default:701\",\"pbx\":\"lab\",\"lot\":\"default\",\"space\":\"701\",\"call_id\":\"c9\","
            "\"channel\":\"\",\"number\":\"+4989123001\",\"name\":null,\"parked_by\":\"100\","
            "\"since\":\"2026-11-18T11:06:40.000Z\",\"parked_seconds\":12,\"times_out_at\":\"2026-11-18T11:07:25.000Z\"}}");
  EXPECT_NE(mine.got[1].find("\"event\":\"left\",\"reason\":\"retrieved\",\"by\":\"102\""), std::string::npos) << mine.got[1];
  EXPECT_EQ(colleague.got, mine.got);
  EXPECT_TRUE(other.got.empty());
  hub.unsubscribe("default", a.id);
  hub.unsubscribe("default", b.id);
  hub.unsubscribe("acme", c.id);
}

// Issue 15: the CSTA server watches a tenant's call events as model events; a watcher that
// unwatches another during the call is safe, and other tenants' events never reach it.
TEST_F(HubTest, CallWatchersSeeTheirTenantsModelEventsAndMayUnwatchDuringACall) {
  struct Watch : CallWatcher {
    std::vector<std::string> got;
    std::function<void()> also;
    void on_call_event(const model::CallEvent& e, const model::CallModel&) override {
      got.push_back(std::string(model::to_string(e.type)) + ":" + e.device);
      if (also) also();
    }
  } a, b;
  auto ida = hub.watch_calls("default", &a);
  auto idb = hub.watch_calls("default", &b);
  auto other = hub.watch_calls("other", &b);
  a.also = [&] { hub.unwatch_calls("default", idb); };  // b is not called for this event
  model.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, at(0));
  a.also = nullptr;
  model.update("c1", "100", model::ConnectionState::connected, model::CallEventType::established, at(1));
  EXPECT_EQ(a.got, (std::vector<std::string>{"delivered:100", "established:100"}));
  EXPECT_TRUE(b.got.empty());
  hub.unwatch_calls("default", ida);
  hub.unwatch_calls("other", other);
  model.update("c1", "100", model::ConnectionState::held, model::CallEventType::held, at(2));
  EXPECT_EQ(a.got.size(), 2u);
}

// Issue 13: the call JSON says why a device has no Answer (its phone cannot be answered remotely),
// and says nothing for a phone that can.
TEST_F(HubTest, CallJsonExplainsActionsThePhoneCannotDo) {
  model.set_device_caps("101", model::DeviceCaps{true, true});
  model.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, at(0), "+4989123456");
  model.update("c1", "101", model::ConnectionState::alerting, model::CallEventType::delivered, at(0), "+4989123456");
  auto json = call_json(*model.find_call("c1"), base::TenantId("default"), model, nullptr);
  EXPECT_NE(json.find("\"allowed_actions\":{\"100\":[\"hangup\",\"deflect\"],\"101\":[\"answer\",\"hangup\",\"deflect\"]}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"unavailable_actions\":{\"100\":{\"answer\":\"this phone cannot be answered from here; "
                      "pick up the handset\"}}}"),
            std::string::npos)
      << json;
}

// Issue 13: the journal event of a callback names the missed entries it marked done; only the
// party's subscribers get it.
TEST_F(HubTest, JournalEventsCarryTheIdsOfTheMissedEntriesTheyResolved) {
  Collect mine, other;
  auto sm = hub.subscribe("default", own({"100"}), std::nullopt, &mine);
  auto so = hub.subscribe("default", own({"101"}), std::nullopt, &other);
  model::JournalEntry e{.tenant = base::TenantId("default")};
  e.call_id = "c9";
  e.party = "100";
  e.remote = "+4930123";
  e.disposition = model::Disposition::answered;
  e.started_at = at(0);
  e.answered_at = at(2);
  e.ended_at = at(9);
  const std::int64_t resolved[] = {4, 5};
  hub.on_journal(e, 12, resolved);
  e.done = true;
  hub.on_journal(e, 13);
  ASSERT_EQ(mine.got.size(), 2u);
  EXPECT_EQ(mine.got[0].rfind("{\"type\":\"journal\",\"seq\":1,\"entry\":{\"id\":12,", 0), 0u) << mine.got[0];
  EXPECT_TRUE(mine.got[0].ends_with("},\"resolves\":[4,5]}")) << mine.got[0];
  EXPECT_EQ(mine.got[0].find("\"done\""), std::string::npos) << "done only when true";
  EXPECT_EQ(mine.got[1].find("resolves"), std::string::npos) << mine.got[1];
  EXPECT_NE(mine.got[1].find("\"done\": true}}"), std::string::npos) << mine.got[1];
  EXPECT_TRUE(other.got.empty());
  hub.unsubscribe("default", sm.id);
  hub.unsubscribe("default", so.id);
}

TEST_F(HubTest, ResumeGetsExactlyTheMissedMessagesElseResyncAndSnapshot) {
  for (int i = 0; i < 5; ++i)
    hub.publish_raw("default", HubMessage::Kind::call, {"100"}, "call", "}");
  Collect c;
  auto r = hub.subscribe("default", own({"100"}), 2, &c);
  EXPECT_TRUE(r.resumed);
  ASSERT_EQ(r.initial.size(), 3u);
  EXPECT_EQ(*r.initial[0], "{\"type\":\"call\",\"seq\":3}");
  EXPECT_EQ(*r.initial[2], "{\"type\":\"call\",\"seq\":5}");
  auto none = hub.subscribe("default", own({"100"}), 5, &c);
  EXPECT_TRUE(none.resumed);
  EXPECT_TRUE(none.initial.empty());

  for (int i = 0; i < 10; ++i)  // ring holds 8: seq 8..15
    hub.publish_raw("default", HubMessage::Kind::call, {"100"}, "call", "}");
  auto edge = hub.subscribe("default", own({"100"}), 7, &c);
  EXPECT_TRUE(edge.resumed);
  EXPECT_EQ(edge.initial.size(), 8u);
  auto old = hub.subscribe("default", own({"100"}), 6, &c);
  EXPECT_FALSE(old.resumed);
  ASSERT_EQ(old.initial.size(), 2u);
  EXPECT_EQ(*old.initial[0], "{\"type\":\"resync\",\"seq\":15}");
  EXPECT_EQ(old.initial[1]->rfind("{\"type\":\"snapshot\",\"seq\":15", 0), 0u);
  auto future = hub.subscribe("default", own({"100"}), 99, &c);  // e.g. the server restarted
  EXPECT_FALSE(future.resumed);
  EXPECT_EQ(future.initial.size(), 2u);
}

TEST_F(HubTest, TeamSeesPresenceButNotCallsTenantSeesAll) {
  Collect team, sup;
  hub.subscribe("default", EventFilter{EventScope::team, {"100"}, {"101"}}, std::nullopt, &team);
  hub.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &sup);
  model.update("c2", "101", model::ConnectionState::alerting, model::CallEventType::delivered, at(2));
  ASSERT_EQ(team.got.size(), 1u);
  EXPECT_EQ(team.got[0], "{\"type\":\"line\",\"seq\":2,\"device\":\"101\",\"state\":\"ringing\"}");
  EXPECT_EQ(sup.got.size(), 2u);
  model.set_pbx_device_state("101", model::DeviceState::unavailable, at(3));
  model.set_dnd("100", true, at(3));
  hub.sync_lines("default", model);
  ASSERT_EQ(team.got.size(), 3u);
  EXPECT_NE(team.got[1].find("\"device\":\"100\",\"state\":\"dnd\""), std::string::npos);
  EXPECT_NE(team.got[2].find("\"device\":\"101\",\"state\":\"offline\""), std::string::npos);
  hub.sync_lines("default", model);  // nothing changed: nothing published
  EXPECT_EQ(team.got.size(), 3u);
}

// sync_lines only looks at devices the model changed since the last sync, and must publish exactly
// what diffing every device would: same messages, sorted by device, nothing for unchanged ones.
TEST_F(HubTest, SyncLinesPublishesOnlyChangedDevicesInDeviceOrder) {
  for (const char* d : {"103", "100", "102", "101"}) model.set_pbx_device_state(d, model::DeviceState::idle, at(0));
  Collect sup;
  hub.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &sup);
  hub.sync_lines("default", model);  // first sight of every device: 4 lines, sorted
  ASSERT_EQ(sup.got.size(), 4u);
  EXPECT_NE(sup.got[0].find("\"device\":\"100\",\"state\":\"idle\""), std::string::npos) << sup.got[0];
  EXPECT_NE(sup.got[3].find("\"device\":\"103\""), std::string::npos) << sup.got[3];
  model.set_pbx_device_state("103", model::DeviceState::unavailable, at(1));
  model.set_pbx_device_state("101", model::DeviceState::busy, at(1));
  model.set_pbx_device_state("102", model::DeviceState::idle, at(1));  // touched, same state
  hub.sync_lines("default", model);
  ASSERT_EQ(sup.got.size(), 6u);
  EXPECT_NE(sup.got[4].find("\"device\":\"101\",\"state\":\"busy\""), std::string::npos) << sup.got[4];
  EXPECT_NE(sup.got[5].find("\"device\":\"103\",\"state\":\"offline\""), std::string::npos) << sup.got[5];
  // A call event publishes its device's line itself; the next sync has nothing left to say.
  model.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, at(2));
  ASSERT_EQ(sup.got.size(), 8u);
  EXPECT_NE(sup.got[7].find("\"device\":\"100\",\"state\":\"ringing\""), std::string::npos) << sup.got[7];
  hub.sync_lines("default", model);
  EXPECT_EQ(sup.got.size(), 8u);
  model.set_pbx_device_state("104", model::DeviceState::unknown, at(3));  // a new device
  hub.sync_lines("default", model);
  ASSERT_EQ(sup.got.size(), 9u);
  EXPECT_NE(sup.got[8].find("\"device\":\"104\",\"state\":\"idle\""), std::string::npos) << sup.got[8];
}

// Lines of one tenant fed from two models: every sync diffs every device of the model (a line last
// published from the other model may differ even if this model did not change it).
TEST_F(HubTest, SyncLinesFromTwoModelsDiffsEveryDevice) {
  model::CallModel other{base::TenantId("default")};
  hub.add_model("default", &other);
  model.set_pbx_device_state("100", model::DeviceState::busy, at(0));
  other.set_pbx_device_state("100", model::DeviceState::idle, at(0));
  Collect sup;
  hub.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &sup);
  hub.sync_lines("default", model);
  hub.sync_lines("default", other);
  hub.sync_lines("default", model);  // model did not change "100", but the last line said idle
  ASSERT_EQ(sup.got.size(), 3u);
  EXPECT_NE(sup.got[2].find("\"device\":\"100\",\"state\":\"busy\""), std::string::npos) << sup.got[2];
  hub.remove_model(&other);
}

TEST_F(HubTest, UnsubscribeDuringPublishIsSafeAndEncodingIsShared) {
  EventHub h{EventHubOptions{.retention = 4, .encode = [](std::string_view j) { return "F" + std::string(j); }}};
  struct Leaver : EventSubscriber {
    EventHub* hub;
    std::uint64_t id = 0;
    int n = 0;
    void on_message(const HubMessage&) override { ++n; hub->unsubscribe("t", id); }
  } l1, l2;
  l1.hub = l2.hub = &h;
  l1.id = h.subscribe("t", EventFilter{EventScope::tenant}, std::nullopt, &l1).id;
  l2.id = h.subscribe("t", EventFilter{EventScope::tenant}, std::nullopt, &l2).id;
  h.publish_raw("t", HubMessage::Kind::line, {"1"}, "line", "}");
  h.publish_raw("t", HubMessage::Kind::line, {"1"}, "line", "}");
  EXPECT_EQ(l1.n, 1);
  EXPECT_EQ(l2.n, 1);
  EXPECT_EQ(h.stats().subscribers, 0u);
  EXPECT_EQ(h.heartbeat("t"), "F{\"type\":\"heartbeat\",\"seq\":2}");
}
}  // namespace
}  // namespace callbridge::core

namespace callbridge::core {
namespace {

// The tap (the webhooks' source): every call, line and journal message as published, in order,
// with the tenant and whether the call ended; never a message for one user (command outcomes).
TEST_F(HubTest, TheTapSeesEveryMessageInOrderAndWhenACallEnded) {
  struct Seen {
    std::string tenant;
    HubMessage::Kind kind;
    std::string json;
    bool gone;
  };
  std::vector<Seen> seen;
  hub.set_tap([&](const TappedMessage& m) { seen.push_back({m.tenant.str(), m.kind, std::string(m.json), m.call_gone}); });
  model.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, at(0));
  model.clear("c1", "100", at(5));
  hub.publish_to_user("default", "anna", "command", R"(,"command":{}})");
  hub.publish_to_user("default", "anna", "user_devices", R"(,"user":"anna","change":"active","devices":{}})",
                      HubMessage::Kind::user_devices);
  model::JournalEntry e{.tenant = base::TenantId("default")};
  e.call_id = "c1";
  e.party = "100";
  e.disposition = model::Disposition::missed;
  e.started_at = at(0);
  e.ended_at = at(5);
  hub.on_journal(e, 3);
  std::vector<std::string> kinds;
  auto name = [](HubMessage::Kind k) {
    return k == HubMessage::Kind::call           ? "call"
           : k == HubMessage::Kind::line         ? "line"
           : k == HubMessage::Kind::journal      ? "journal"
           : k == HubMessage::Kind::user_devices ? "user_devices"
                                                 : "command";
  };
  for (const auto& s : seen) kinds.push_back(std::string(name(s.kind)) + (s.gone ? "!" : ""));
  // delivered, the line ringing, cleared (the call is gone), the line idle, anna's AnyDevice change
  // (her command outcome is nobody else's business), the journal entry.
  EXPECT_EQ(kinds, (std::vector<std::string>{"call", "line", "call!", "line", "user_devices", "journal"}));
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[0].tenant, "default");
  EXPECT_EQ(seen[0].json.rfind(R"({"type":"call","seq":1,"event":"delivered")", 0), 0u) << seen[0].json;
  EXPECT_NE(seen[2].json.find(R"("event":"connectionCleared")"), std::string::npos) << seen[2].json;
  EXPECT_NE(seen[4].json.find(R"("user":"anna")"), std::string::npos) << seen[4].json;
  EXPECT_NE(seen[5].json.find("missed"), std::string::npos) << seen[5].json;
  hub.set_tap({});
  model.update("c2", "101", model::ConnectionState::alerting, model::CallEventType::delivered, at(6));
  EXPECT_EQ(seen.size(), 6u);
}

// Issue 17: device registry changes go to the tenant's admins only, in any scope, in seq order and
// in the resume ring; "removed" for an id no longer in the registry; the JSON has every field.
// Issue 17: queue events reach the subscriptions that see one of the queue's agents, and scope
// tenant; never another tenant; a removal only scope tenant.
TEST_F(HubTest, QueueEventsReachTheAgentsAndTheWholeTenantScope) {
  Collect agent, other_user, supervisor, other_tenant;
  auto viewer = [](Role r, std::string ext) {
    return Viewer{.tenant = base::TenantId("default"), .user = "u" + ext, .role = r, .extensions = {ext}};
  };
  auto f_agent = event_filter(viewer(Role::user, "101"), EventScope::own);
  auto f_other = event_filter(viewer(Role::user, "105"), EventScope::own);
  auto f_sup = event_filter(viewer(Role::supervisor, "100"), EventScope::tenant);
  ASSERT_TRUE(f_agent && f_other && f_sup);
  hub.subscribe("default", *f_agent, std::nullopt, &agent);
  hub.subscribe("default", *f_other, std::nullopt, &other_user);
  hub.subscribe("default", *f_sup, std::nullopt, &supervisor);
  auto f_x = event_filter(Viewer{.tenant = base::TenantId("other"), .user = "x", .role = Role::admin}, EventScope::tenant);
  hub.subscribe("other", *f_x, std::nullopt, &other_tenant);

  model::QueueState qs("lab");
  model::Queue q;
  q.name = "support";
  q.strategy = "ringall";
  model::QueueMember m;
  m.interface = "PJSIP/101";
  m.device = "101";
  m.name = "Ben Bravo";
  m.membership = "static";
  m.status = 1;
  m.paused = true;
  m.paused_reason = "lunch";
  q.members.push_back(m);
  model::QueueCaller c;
  c.channel = "PJSIP/trunk-1";
  c.uniqueid = "u1";
  c.number = "+4989123456";
  c.position = 1;
  c.joined = at(0);
  q.callers.push_back(c);
  qs.put(q);
  model::Queue gone;
  gone.name = "old";
  qs.put(gone);
  qs.erase("old");
  auto names = qs.take_changed();
  ASSERT_EQ(names, (std::vector<std::string>{"old", "support"}));
  hub.on_queues("default", qs, names, at(30));
  ASSERT_EQ(agent.got.size(), 1u);
  EXPECT_TRUE(other_user.got.empty());
  ASSERT_EQ(supervisor.got.size(), 2u);
  EXPECT_TRUE(other_tenant.got.empty());
  EXPECT_EQ(supervisor.got[0],
            "{\"type\":\"queue\",\"seq\":1,\"event\":\"removed\",\"id\":\"lab:old\",\"pbx\":\"lab\",\"name\":\"old\"}");
  EXPECT_EQ(agent.got[0], supervisor.got[1]);
  const auto& j = agent.got[0];
  EXPECT_NE(j.find("\"event\":\"changed\",\"queue\":{\"id\":\"lab:support\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"waiting\":1,\"longest_wait\":30"), std::string::npos) << j;
  EXPECT_NE(j.find("\"number\":\"+4989123456\",\"name\":null"), std::string::npos) << j;
  EXPECT_NE(j.find("\"state\":\"paused\",\"paused\":true,\"paused_reason\":\"lunch\""), std::string::npos) << j;
}

TEST_F(HubTest, DeviceEventsReachAdminsOnly) {
  Collect admin_own, admin_tenant, supervisor, user, other_tenant;
  auto viewer = [](Role r) { return Viewer{.tenant = base::TenantId("default"), .user = "u", .role = r, .extensions = {"100"}}; };
  auto f_admin_own = event_filter(viewer(Role::admin), EventScope::own);
  auto f_admin_tenant = event_filter(viewer(Role::admin), EventScope::tenant);
  auto f_sup = event_filter(viewer(Role::supervisor), EventScope::tenant);
  auto f_user = event_filter(viewer(Role::user), EventScope::own);
  ASSERT_TRUE(f_admin_own && f_admin_tenant && f_sup && f_user);
  hub.subscribe("default", *f_admin_own, std::nullopt, &admin_own);
  hub.subscribe("default", *f_admin_tenant, std::nullopt, &admin_tenant);
  hub.subscribe("default", *f_sup, std::nullopt, &supervisor);
  hub.subscribe("default", *f_user, std::nullopt, &user);
  auto f_other = event_filter(Viewer{.tenant = base::TenantId("other"), .user = "x", .role = Role::admin}, EventScope::tenant);
  hub.subscribe("other", *f_other, std::nullopt, &other_tenant);

  model::DeviceRegistry reg("lab");
  auto& d = reg.upsert("100");
  d.extension = "100";
  d.sip_user = "100";
  d.contacts.push_back({"sip:100@10.0.0.5:5062", "10.0.0.5:5062", "Yealink SIP-T46S 66.86.0.15", "Reachable",
                        std::nullopt, true});
  model::DeviceRegistry::refresh_agent(d);
  d.status = model::DeviceStatus::off_hook;
  d.last_call_id = "c9";
  d.last_seen = at(5);
  reg.upsert("101");
  reg.erase("101");
  auto ids = reg.take_changed();
  hub.on_devices("default", reg, ids);
  ASSERT_EQ(admin_own.got.size(), 2u);
  EXPECT_EQ(admin_tenant.got, admin_own.got);
  EXPECT_TRUE(supervisor.got.empty());
  EXPECT_TRUE(user.got.empty());
  EXPECT_TRUE(other_tenant.got.empty());
  EXPECT_EQ(admin_own.got[0],
            "{\"type\":\"device\",\"seq\":1,\"event\":\"changed\",\"device\":{\"id\":\"lab:100\",\"pbx\":\"lab\","
            "\"endpoint\":\"100\",\"extension\":\"100\",\"sip_user\":\"100\",\"user_agent\":\"Yealink SIP-T46S 66.86.0.15\","
            "\"vendor\":\"Yealink\",\"model\":\"SIP-T46S\",\"firmware\":\"66.86.0.15\",\"registration\":\"registered\","
            "\"address\":\"10.0.0.5:5062\",\"status\":\"off_hook\",\"last_call_id\":\"c9\","
            "\"last_seen\":\"2026-11-18T11:06:45.000Z\",\"contacts\":[{\"uri\":\"sip:100@10.0.0.5:5062\","
            "\"address\":\"10.0.0.5:5062\",\"user_agent\":\"Yealink SIP-T46S 66.86.0.15\",\"status\":\"Reachable\","
            "\"dynamic\":true,\"expires\":null}]}}");
  EXPECT_EQ(admin_own.got[1], "{\"type\":\"device\",\"seq\":2,\"event\":\"removed\",\"id\":\"lab:101\"}");
  // A resuming admin gets them again; a resuming user does not.
  Collect again, again_user;
  auto ra = hub.subscribe("default", *f_admin_own, 1, &again);
  auto ru = hub.subscribe("default", *f_user, 1, &again_user);
  EXPECT_TRUE(ra.resumed);
  ASSERT_EQ(ra.initial.size(), 1u);
  EXPECT_EQ(*ra.initial[0], admin_own.got[1]);
  EXPECT_TRUE(ru.initial.empty());
}

// Issue 17 B: a user_status message reaches whoever sees one of the user's lines, as line events.
TEST_F(HubTest, UserStatusGoesWhereTheLinesPresenceGoes) {
  Collect mine, teammate, other, sup;
  hub.subscribe("default", own({"101"}), std::nullopt, &mine);
  hub.subscribe("default", EventFilter{EventScope::team, {"100"}, {"101"}}, std::nullopt, &teammate);
  hub.subscribe("default", own({"102"}), std::nullopt, &other);
  hub.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &sup);
  hub.publish_raw("default", HubMessage::Kind::status, {"101"}, "user_status", R"(,"user":"ben"})");
  EXPECT_EQ(mine.got.size(), 1u);
  EXPECT_EQ(teammate.got.size(), 1u);
  EXPECT_TRUE(other.got.empty());
  EXPECT_EQ(sup.got.size(), 1u);
  EXPECT_EQ(mine.got[0], R"({"type":"user_status","seq":1,"user":"ben"})");
}

// Cluster mode (docs/cluster.md "Call events on every node"): a log that numbers each tenant's
// records in one sequence and hands every record to every node's hub, as cluster::JetStreamEventLog
// does through JetStream (here in memory, delivered when flush() is called).
struct MemoryLog : ports::EventLog {
  std::vector<std::pair<EventHub*, std::string>> pending;  // appended by which hub
  std::vector<EventHub*> nodes;
  std::map<std::string, std::uint64_t> seq;
  EventHub* from = nullptr;  // the hub that appends next (set around its publishes)
  void append(const base::TenantId& tenant, std::string record) override {
    pending.emplace_back(from, std::string(tenant.str()) + '\n' + record);
  }
  void flush() {
    for (auto& [origin, r] : std::exchange(pending, {})) {
      const auto nl = r.find('\n');
      const base::TenantId tenant(std::string_view(r).substr(0, nl));
      const auto n = ++seq[tenant.str()];
      for (auto* h : nodes) EXPECT_TRUE(h->apply_logged(tenant, n, std::string_view(r).substr(nl + 1), h == origin));
    }
  }
};

// The owner node's hub (with the call model) and another node's (none): a client on either gets
// the same frames with the same seq; a fresh client on the other node gets the calls and lines in
// its snapshot; the tap (webhooks) fires on the owner only.
TEST(LoggedHub, EveryNodeDeliversTheOwnersMessagesWithTheLogsSeqAndMirrorsCallsAndLines) {
  MemoryLog log;
  EventHub owner{EventHubOptions{.retention = 64}}, other{EventHubOptions{.retention = 64}};
  owner.set_event_log(&log);
  other.set_event_log(&log);
  log.nodes = {&owner, &other};
  log.from = &owner;
  int taps_owner = 0, taps_other = 0;
  owner.set_tap([&](const TappedMessage&) { ++taps_owner; });
  other.set_tap([&](const TappedMessage&) { ++taps_other; });
  model::CallModel m{base::TenantId("default")};
  owner.add_model("default", &m);
  m.set_sink([&](const model::CallEvent& e) { owner.on_call_event(e, m); });

  Collect a, b;
  auto sa = owner.subscribe("default", EventFilter{EventScope::own, {"100"}, {}}, std::nullopt, &a);
  auto sb = other.subscribe("default", EventFilter{EventScope::own, {"100"}, {}}, std::nullopt, &b);
  m.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, at(0), "+4989123456");
  m.update("c1", "101", model::ConnectionState::alerting, model::CallEventType::delivered, at(0), "+4989123456");
  EXPECT_TRUE(a.got.empty()) << "nothing is delivered before the log numbered it";
  log.flush();
  ASSERT_FALSE(a.got.empty());
  EXPECT_EQ(b.got, a.got);
  EXPECT_EQ(a.got[0].rfind("{\"type\":\"call\",\"seq\":1,\"event\":\"delivered\"", 0), 0u) << a.got[0];
  EXPECT_EQ(owner.last_seq("default"), other.last_seq("default"));
  EXPECT_EQ(taps_other, 0);
  EXPECT_GT(taps_owner, 0);

  // A fresh client of scope tenant on the other node: the call and both lines.
  Collect c;
  auto sc = other.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &c);
  ASSERT_EQ(sc.initial.size(), 1u);
  const std::string& snap = *sc.initial[0];
  EXPECT_EQ(snap.rfind("{\"type\":\"snapshot\",\"seq\":" + std::to_string(other.last_seq("default")) + ",", 0), 0u) << snap;
  EXPECT_NE(snap.find("\"calls\":[{\"id\":\"c1\""), std::string::npos) << snap;
  EXPECT_NE(snap.find("\"lines\":[{\"device\":\"100\",\"state\":\"ringing\"},{\"device\":\"101\",\"state\":\"ringing\"}]"),
            std::string::npos)
      << snap;
  // The owner's own snapshot is the same (both read the mirror at the same seq).
  auto so = owner.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &c);
  EXPECT_EQ(*so.initial[0], snap);

  // The call ends: gone from the mirror; a client resumes on the other node with what it missed.
  const std::uint64_t seen = owner.last_seq("default");
  m.clear("c1", "101", at(5));
  m.clear("c1", "100", at(5));
  log.flush();
  Collect d;
  auto sd = other.subscribe("default", EventFilter{EventScope::own, {"100"}, {}}, seen, &d);
  EXPECT_TRUE(sd.resumed);
  std::vector<std::string> missed;
  for (const auto& f : sd.initial) missed.push_back(*f);
  EXPECT_EQ(missed, std::vector<std::string>(a.got.end() - static_cast<std::ptrdiff_t>(missed.size()), a.got.end()));
  EXPECT_FALSE(missed.empty());
  auto se = other.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &c);
  EXPECT_NE(se.initial[0]->find("\"calls\":[],"), std::string::npos) << *se.initial[0];
  EXPECT_NE(se.initial[0]->find("{\"device\":\"100\",\"state\":\"idle\"}"), std::string::npos) << *se.initial[0];
  // A call merged into another (attended transfer): the old one leaves the mirror too.
  m.update("c2", "100", model::ConnectionState::connected, model::CallEventType::established, at(6));
  m.update("c3", "102", model::ConnectionState::connected, model::CallEventType::established, at(7));
  log.flush();
  m.merge("c2", "c3", at(8));
  log.flush();
  auto sf = other.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &c);
  EXPECT_EQ(sf.initial[0]->find("\"id\":\"c2\""), std::string::npos) << *sf.initial[0];
  EXPECT_NE(sf.initial[0]->find("\"calls\":[{\"id\":\"c3\""), std::string::npos) << *sf.initial[0];
  for (auto id : {sb.id, sc.id, sd.id, se.id, sf.id}) other.unsubscribe("default", id);
  for (auto id : {sa.id, so.id}) owner.unsubscribe("default", id);
}

// Another node publishes next (a REST change there, or the new owner after a failover): the
// tenant's seq goes on; a record seen twice is applied once; records this node never read restart
// its resume window; bytes that are no record are refused.
TEST(LoggedHub, SeqGoesOnWhoeverPublishesAndDuplicatesGapsAndGarbageAreHandled) {
  MemoryLog log;
  EventHub a{EventHubOptions{.retention = 64}}, b{EventHubOptions{.retention = 64}};
  a.set_event_log(&log);
  b.set_event_log(&log);
  log.nodes = {&a, &b};
  log.from = &a;
  a.publish_raw("default", HubMessage::Kind::status, {"100"}, "user_status", R"(,"user":"anna"})");
  log.from = &b;
  b.publish_raw("default", HubMessage::Kind::status, {"101"}, "user_status", R"(,"user":"ben"})");
  log.flush();
  EXPECT_EQ(a.last_seq("default"), 2u);
  EXPECT_EQ(b.last_seq("default"), 2u);
  Collect got;
  auto s = a.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, 0, &got);
  ASSERT_TRUE(s.resumed);
  ASSERT_EQ(s.initial.size(), 2u);
  EXPECT_EQ(*s.initial[1], R"({"type":"user_status","seq":2,"user":"ben"})");

  // The same record again (a redelivery): ignored.
  std::string rec;
  struct Capture : ports::EventLog {
    std::string last;
    void append(const base::TenantId&, std::string r) override { last = std::move(r); }
  } cap;
  EventHub c;
  c.set_event_log(&cap);
  c.publish_raw("default", HubMessage::Kind::status, {}, "user_status", R"(,"user":"cleo"})");
  ASSERT_FALSE(cap.last.empty());
  EXPECT_TRUE(a.apply_logged("default", 3, cap.last, false));
  EXPECT_TRUE(a.apply_logged("default", 3, cap.last, false));
  EXPECT_EQ(got.got.size(), 1u);
  EXPECT_EQ(a.stats().log_duplicates, 1u);
  // A gap (4..9 never read here): a client that saw 3 cannot be served whole: resync.
  EXPECT_TRUE(a.apply_logged("default", 10, cap.last, false));
  EXPECT_EQ(a.stats().log_gaps, 1u);
  Collect late;
  auto r = a.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, 3, &late);
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(r.initial[0]->rfind("{\"type\":\"resync\",\"seq\":10}", 0), 0u) << *r.initial[0];
  auto r2 = a.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, 9, &late);
  EXPECT_TRUE(r2.resumed);
  // A client from a node a few messages ahead (it saw 12) resumes here at once, no snapshot; 11 and
  // 12 are not sent again when they arrive, 13 is.
  Collect ahead;
  auto r3 = a.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, 12, &ahead);
  EXPECT_TRUE(r3.resumed);
  EXPECT_TRUE(r3.initial.empty());
  for (std::uint64_t seq : {11, 12, 13}) EXPECT_TRUE(a.apply_logged("default", seq, cap.last, false));
  ASSERT_EQ(ahead.got.size(), 1u);
  EXPECT_EQ(ahead.got[0].rfind("{\"type\":\"user_status\",\"seq\":13,", 0), 0u) << ahead.got[0];
  a.unsubscribe("default", r3.id);
  // Far ahead (beyond the resume window): resync and snapshot.
  auto r4 = a.subscribe("default", EventFilter{EventScope::tenant, {}, {}}, 13 + 65, &ahead);
  EXPECT_FALSE(r4.resumed);
  a.unsubscribe("default", r4.id);
  // Garbage: refused, its seq used up, nothing delivered.
  for (std::string_view bad : {std::string_view("x"), std::string_view("cbh1"), std::string_view("cbh11:0"),
                               std::string_view("cbh11:04:call99999999:}")}) {
    EXPECT_FALSE(a.apply_logged("default", a.last_seq("default") + 1, bad, false)) << bad;
  }
  EXPECT_EQ(a.stats().log_undecodable, 4u);
  EXPECT_EQ(got.got.size(), 5u);  // cleo at 3, 10, 11, 12, 13
  for (auto id : {s.id, r.id, r2.id}) a.unsubscribe("default", id);
}

// Issue 19: a user's AnyDevice change logged by one node reaches every other node's observer (which
// reloads that user's active device there), once per record, never the logging node's own and
// never for another kind of message to one user (a command outcome).
TEST(LoggedHub, OtherNodesHearOfAUsersDeviceChangeTheLoggingNodeDoesNot) {
  MemoryLog log;
  EventHub a, b;
  a.set_event_log(&log);
  b.set_event_log(&log);
  log.nodes = {&a, &b};
  std::vector<std::string> heard_a, heard_b;
  a.set_on_remote_user_devices([&](const base::TenantId& t, const std::string& u) { heard_a.push_back(t.str() + "/" + u); });
  b.set_on_remote_user_devices([&](const base::TenantId& t, const std::string& u) { heard_b.push_back(t.str() + "/" + u); });
  log.from = &a;
  a.publish_to_user("default", "anna", "user_devices", R"(,"user":"anna","change":"active"})",
                    HubMessage::Kind::user_devices);
  a.publish_to_user("default", "anna", "command", R"(,"id":"cmd-1"})", HubMessage::Kind::command);
  log.from = &b;
  b.publish_to_user("acme", "ben", "user_devices", R"(,"user":"ben","change":"removed"})",
                    HubMessage::Kind::user_devices);
  log.flush();
  EXPECT_EQ(heard_a, (std::vector<std::string>{"acme/ben"}));
  EXPECT_EQ(heard_b, (std::vector<std::string>{"default/anna"}));
  // A redelivered record is ignored, the observer too.
  struct Capture : ports::EventLog {
    std::string last;
    void append(const base::TenantId&, std::string r) override { last = std::move(r); }
  } cap;
  EventHub c;
  c.set_event_log(&cap);
  c.publish_to_user("default", "cleo", "user_devices", R"(,"user":"cleo"})", HubMessage::Kind::user_devices);
  EXPECT_TRUE(b.apply_logged("default", 3, cap.last, false));
  EXPECT_TRUE(b.apply_logged("default", 3, cap.last, false));
  EXPECT_EQ(heard_b, (std::vector<std::string>{"default/anna", "default/cleo"}));
}

// Issue 19, a failover: the owner of link "lab" (term 5) dies with c1 and c2 in progress; c1 ends
// while no node owns the link, so no node ever logs its end. The new owner (term 9) resyncs from
// the PBX, finds c2 (and c3, begun in the gap) and lists them (calls_resynced): every node's mirror
// then drops c1, but keeps the calls of another link and those of an older node's records that
// named no link. An old owner's message published after that (it was stopped, not dead) does not
// bring c1 back.
TEST(LoggedHub, AfterATakeoverTheMirrorDropsTheLinksCallsTheNewOwnerDoesNotList) {
  MemoryLog log;
  EventHub old_owner{EventHubOptions{.retention = 64}}, other{EventHubOptions{.retention = 64}},
      new_owner{EventHubOptions{.retention = 64}};
  for (auto* h : {&old_owner, &other, &new_owner}) h->set_event_log(&log);
  log.nodes = {&old_owner, &other, &new_owner};
  const base::TenantId tenant("default");
  auto snapshot_calls = [&](EventHub& h) {
    Collect sink;
    auto a = h.subscribe(tenant, EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &sink);
    std::vector<std::string> ids;
    const std::string& snap = *a.initial.at(0);
    for (std::size_t at = snap.find("{\"id\":\""); at != std::string::npos; at = snap.find("{\"id\":\"", at + 1)) {
      const auto from = at + 7;
      ids.push_back(snap.substr(from, snap.find('"', from) - from));
    }
    h.unsubscribe(tenant, a.id);
    return ids;
  };
  using Ids = std::vector<std::string>;

  // The old owner's term: c1 and c2 on lab; x1 on another link "lab2" another node owns (term 7).
  model::CallModel lab_old{tenant}, lab2{tenant};
  old_owner.add_model(tenant, &lab_old, "lab", 5);
  lab_old.set_sink([&](const model::CallEvent& e) { old_owner.on_call_event(e, lab_old); });
  new_owner.add_model(tenant, &lab2, "lab2", 7);
  lab2.set_sink([&](const model::CallEvent& e) { new_owner.on_call_event(e, lab2); });
  log.from = &old_owner;
  lab_old.update("c1", "100", model::ConnectionState::connected, model::CallEventType::established, at(0));
  lab_old.update("c2", "101", model::ConnectionState::connected, model::CallEventType::established, at(1));
  log.from = &new_owner;
  lab2.update("x1", "200", model::ConnectionState::alerting, model::CallEventType::delivered, at(2));
  log.flush();
  // A call from a node before the link was named (a "cbh1" record): read, and kept.
  const std::string tail = R"(,"event":"established","call":{"id":"old1","connections":[]}})";
  const std::string call_obj = R"({"id":"old1","connections":[]})";
  auto field = [](std::string_view v) { return std::to_string(v.size()) + ":" + std::string(v); };
  const std::string v1 = "cbh1" + field("0") + field("call") + field(tail) + field("") + field("0") + field("old1") +
                         field("2026-01-01T00:00:00.000Z") + field(std::to_string(tail.find(call_obj))) +
                         field(std::to_string(call_obj.size())) + field("") + field("1") + field("300");
  for (auto* h : {&old_owner, &other, &new_owner})
    EXPECT_TRUE(h->apply_logged(tenant, h->last_seq(tenant) + 1, v1, false));
  EXPECT_EQ(snapshot_calls(other), (Ids{"old1", "c1", "c2", "x1"}));

  // The old owner is gone (its driver with it); c1 ends unseen. The new owner's driver (term 9)
  // resyncs: c2 is still there, c3 began meanwhile.
  old_owner.remove_model(&lab_old);
  model::CallModel lab_new{tenant};
  new_owner.add_model(tenant, &lab_new, "lab", 9);
  lab_new.set_sink([&](const model::CallEvent& e) { new_owner.on_call_event(e, lab_new); });
  log.from = &new_owner;
  lab_new.update("c2", "101", model::ConnectionState::connected, model::CallEventType::established, at(10));
  lab_new.update("c3", "102", model::ConnectionState::alerting, model::CallEventType::delivered, at(11));
  log.flush();
  EXPECT_EQ(snapshot_calls(other), (Ids{"old1", "c1", "c2", "x1", "c3"}))
      << "no message says c1 ended: only the new owner's list can";
  // The clients: a supervisor (scope tenant); the users of 100 (c1's), 101 (c2's) and 999 (no call),
  // scope own; a user of scope team whose team mates are 100 and 101 (their lines, not their
  // calls); a supervisor of another tenant.
  Collect sup, user, u101, u999, team, acme;
  auto ss = other.subscribe(tenant, EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &sup);
  auto su = other.subscribe(tenant, EventFilter{EventScope::own, {"100"}, {}}, std::nullopt, &user);
  auto s101 = new_owner.subscribe(tenant, EventFilter{EventScope::own, {"101"}, {}}, std::nullopt, &u101);
  auto s999 = other.subscribe(tenant, EventFilter{EventScope::own, {"999"}, {}}, std::nullopt, &u999);
  auto steam = other.subscribe(tenant, EventFilter{EventScope::team, {"999"}, {"100", "101"}}, std::nullopt, &team);
  auto sacme = other.subscribe(base::TenantId("acme"), EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &acme);
  const std::uint64_t before = other.last_seq(tenant);
  new_owner.on_calls_resynced(tenant, lab_new);
  log.flush();
  for (auto* h : {&old_owner, &other, &new_owner}) {
    EXPECT_EQ(snapshot_calls(*h), (Ids{"old1", "c2", "x1", "c3"}));
    EXPECT_EQ(h->stats().mirror_dropped, 1u);
  }
  const std::string seq = std::to_string(other.last_seq(tenant));
  ASSERT_EQ(sup.got.size(), 1u);
  EXPECT_EQ(sup.got[0], R"({"type":"calls_resynced","seq":)" + seq + R"(,"pbx":"lab","calls":["c2","c3"],"ended":["c1"]})");
  // Scope own: only the calls with a connection on the user's devices, as their call messages.
  ASSERT_EQ(user.got.size(), 1u);
  EXPECT_EQ(user.got[0], R"({"type":"calls_resynced","seq":)" + seq + R"(,"pbx":"lab","calls":[],"ended":["c1"]})");
  ASSERT_EQ(u101.got.size(), 1u);
  EXPECT_EQ(u101.got[0], R"({"type":"calls_resynced","seq":)" + seq + R"(,"pbx":"lab","calls":["c2"],"ended":[]})");
  EXPECT_TRUE(u999.got.empty()) << "none of the calls is theirs: " << u999.got[0];
  EXPECT_TRUE(team.got.empty()) << "team mates' calls are not shown to scope team: " << team.got[0];
  EXPECT_TRUE(acme.got.empty()) << "another tenant: " << acme.got[0];
  // A resume on any node (?since=) replays the same frame, cut the same way for each filter; a
  // client that sees none of the calls gets nothing (a gap in its seq, as for any message outside
  // its scope).
  for (auto* h : {&old_owner, &other, &new_owner}) {
    Collect late;
    auto resume = [&](EventFilter f) {
      auto a = h->subscribe(tenant, std::move(f), before, &late);
      EXPECT_TRUE(a.resumed);
      h->unsubscribe(tenant, a.id);
      std::vector<std::string> out;
      for (const auto& fr : a.initial) out.push_back(*fr);
      return out;
    };
    EXPECT_EQ(resume(EventFilter{EventScope::tenant, {}, {}}), sup.got);
    EXPECT_EQ(resume(EventFilter{EventScope::own, {"100"}, {}}), user.got);
    EXPECT_EQ(resume(EventFilter{EventScope::own, {"101"}, {}}), u101.got);
    EXPECT_TRUE(resume(EventFilter{EventScope::own, {"999"}, {}}).empty());
    EXPECT_TRUE(resume(EventFilter{EventScope::team, {"999"}, {"100", "101"}}).empty());
  }
  new_owner.unsubscribe(tenant, s101.id);
  for (auto id : {s999.id, steam.id}) other.unsubscribe(tenant, id);
  other.unsubscribe(base::TenantId("acme"), sacme.id);

  // The old owner was only stopped: its queued message about c1 reaches the log after the new
  // term's, with the line state of 105 it changed. Neither goes to a client (the call would bring
  // back the card the resync ended) or into a mirror, on any node.
  old_owner.add_model(tenant, &lab_old, "lab", 5);
  log.from = &old_owner;
  const std::size_t sup_before = sup.got.size(), user_before = user.got.size();
  lab_old.update("c1", "105", model::ConnectionState::alerting, model::CallEventType::delivered, at(3));
  log.flush();
  for (std::size_t i = sup_before; i < sup.got.size(); ++i)
    ADD_FAILURE() << "a stale message (a call, or a line state of the old term) reached a client: " << sup.got[i];
  for (std::size_t i = user_before; i < user.got.size(); ++i)
    EXPECT_EQ(user.got[i].find(R"("type":"call")"), std::string::npos) << user.got[i];
  for (auto* h : {&old_owner, &other, &new_owner}) {
    EXPECT_EQ(snapshot_calls(*h), (Ids{"old1", "c2", "x1", "c3"}));
    EXPECT_GE(h->stats().log_stale, 1u);
  }
  old_owner.remove_model(&lab_old);
  // The new owner's calls go on as before.
  log.from = &new_owner;
  lab_new.clear("c2", "101", at(20));
  log.flush();
  EXPECT_EQ(snapshot_calls(other), (Ids{"old1", "x1", "c3"}));
  other.unsubscribe(tenant, ss.id);
  other.unsubscribe(tenant, su.id);
  // Local mode (no log): snapshots come from the models; nothing is published.
  EventHub local;
  local.add_model(tenant, &lab_new, "lab", 0);
  Collect any;
  auto sl = local.subscribe(tenant, EventFilter{EventScope::tenant, {}, {}}, std::nullopt, &any);
  local.on_calls_resynced(tenant, lab_new);
  EXPECT_TRUE(any.got.empty());
  EXPECT_EQ(local.last_seq(tenant), 0u);
  local.unsubscribe(tenant, sl.id);
}

// Issue 19: the line states of the mirror (GET /api/v1/lines on every node). A node that owned a
// link, lost it and takes it over again publishes every line of its new model: another owner
// changed them meanwhile, so what this node published in its own earlier term is no guide (here
// 100 was busy in A's first term, idle in B's, busy again in A's second: the mirror says busy).
TEST(LoggedHub, ANodeThatOwnsALinkAgainPublishesItsLinesAfresh) {
  MemoryLog log;
  EventHub a{EventHubOptions{.retention = 64}}, b{EventHubOptions{.retention = 64}};
  a.set_event_log(&log);
  b.set_event_log(&log);
  log.nodes = {&a, &b};
  const base::TenantId tenant("default");
  auto mirror = [&](EventHub& h) {
    std::map<std::string, std::string> out;
    h.for_each_mirror_line(tenant, [&](const std::string& d, model::DeviceState st) {
      out[d] = std::string(line_state_name(st));
    });
    return out;
  };
  using Lines = std::map<std::string, std::string>;
  model::CallModel first{tenant}, second{tenant}, third{tenant};
  a.add_model(tenant, &first, "lab", 1);
  first.set_sink([&](const model::CallEvent& e) { a.on_call_event(e, first); });
  log.from = &a;
  first.update("c1", "100", model::ConnectionState::connected, model::CallEventType::established, at(0));
  log.flush();
  EXPECT_EQ(mirror(b), (Lines{{"100", "busy"}}));
  a.remove_model(&first);

  b.add_model(tenant, &second, "lab", 2);
  second.set_sink([&](const model::CallEvent& e) { b.on_call_event(e, second); });
  log.from = &b;
  second.update("c1", "100", model::ConnectionState::connected, model::CallEventType::established, at(5));
  second.clear("c1", "100", at(6));
  log.flush();
  EXPECT_EQ(mirror(a), (Lines{{"100", "idle"}}));
  b.remove_model(&second);

  a.add_model(tenant, &third, "lab", 3);
  third.set_sink([&](const model::CallEvent& e) { a.on_call_event(e, third); });
  log.from = &a;
  third.update("c2", "100", model::ConnectionState::connected, model::CallEventType::established, at(10));
  log.flush();
  EXPECT_EQ(mirror(a), (Lines{{"100", "busy"}}));
  EXPECT_EQ(mirror(b), (Lines{{"100", "busy"}}));
  EXPECT_EQ(line_state_from_name("offline"), model::DeviceState::unavailable);
  EXPECT_EQ(line_state_from_name("nonsense"), std::nullopt);
}

}  // namespace
}  // namespace callbridge::core
