#include "core/remote_info_service.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/event_hub.hpp"

namespace callbridge::core {
namespace {

using namespace std::chrono_literals;
using model::CallEventType;
using model::ConnectionState;

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1'795'000'000 + s)); }

std::shared_ptr<const DialingPlan> company_plan() {
  DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "211";
  o.base_number = "339903";
  o.extension_lengths = {2};
  auto p = DialingPlan::create(o);
  CB_CHECK(p.has_value(), "plan");
  return std::make_shared<const DialingPlan>(std::move(*p));
}

RankedMatch match(std::string id, std::string name, std::string company, MatchKind kind, std::string number) {
  RankedMatch m;
  m.contact.source = "store";
  m.contact.contact_id = std::move(id);
  m.contact.display_name = std::move(name);
  m.contact.company = std::move(company);
  m.contact.matched_number = std::move(number);
  m.kind = kind;
  return m;
}

LookupResult two_matches() {
  LookupResult r;
  // Two contacts sharing the number, as the lookup engine ranked them.
  r.matches = {match("17", "Max Muster", "ACME", MatchKind::exact, "+4989123456"),
               match("18", "Moritz Muster", "", MatchKind::exact, "+4989123456")};
  return r;
}

EventFilter tenant_scope() {
  EventFilter f;
  f.scope = EventScope::tenant;
  return f;
}

struct Collect : EventSubscriber {
  std::vector<std::string> got;
  void on_message(const HubMessage& m) override { got.push_back(*m.frame); }
};

// The app's wiring in miniature: model events -> observe -> hub; lookups and timers by hand.
struct RemoteInfoTest : ::testing::Test {
  struct Request {
    std::string tenant, e164;
    RemoteInfoOptions::LookupDone done;
  };
  base::ManualClock clock{at(0)};
  std::vector<Request> requests;
  std::vector<std::function<void()>> posted;
  std::mutex posted_mu;
  std::condition_variable posted_cv;
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> timers;
  std::vector<model::JournalEntry> written;
  std::vector<std::pair<std::string, std::string>> changed;
  std::vector<std::pair<std::string, std::string>> holder_changed;
  EventHub hub;
  model::CallModel model{base::TenantId("t1")};
  std::unique_ptr<RemoteInfoService> svc;
  Collect sub;

  RemoteInfoTest() {
    RemoteInfoOptions o;
    o.lookup = [this](const base::TenantId& t, const std::string& e, RemoteInfoOptions::LookupDone d) {
      requests.push_back({t, e, std::move(d)});
    };
    o.post = [this](std::function<void()> f) {
      std::lock_guard lock(posted_mu);
      posted.push_back(std::move(f));
      posted_cv.notify_all();
    };
    o.post_after = [this](std::chrono::milliseconds d, std::function<void()> f) { timers.emplace_back(d, std::move(f)); };
    auto plan = company_plan();
    o.plan = [plan](const base::TenantId& t) { return t == "t1" ? plan : nullptr; };
    o.on_changed = [this](const base::TenantId& t, const std::string& call_id) {
      changed.emplace_back(t, call_id);
      if (const auto* c = model.find_call(call_id)) hub.on_call_update(t, "remote_info", *c, model);
    };
    o.on_holder_changed = [this](const base::TenantId& t, const std::string& h) { holder_changed.emplace_back(t, h); };
    o.journal_out = [this](model::JournalEntry e) { written.push_back(std::move(e)); };
    o.journal_wait = 1500ms;
    o.keep_after_call = std::chrono::minutes(2);
    svc = std::make_unique<RemoteInfoService>(std::move(o), clock);
    hub.set_remote_info(svc.get());
    hub.add_model("t1", &model);
    model.set_sink([this](const model::CallEvent& e) {
      svc->observe(e.tenant, e.call_id, model);
      hub.on_call_event(e, model);
    });
    hub.subscribe("t1", tenant_scope(), std::nullopt, &sub);
  }

  std::string info_json(const base::TenantId& tenant, const std::string& remote) {
    std::string out;
    model::Connection c;
    c.remote = remote;
    c.state = ConnectionState::alerting;
    svc->append_remote_info(out, tenant, c);
    return out;
  }
  void ring(const std::string& call, const std::string& dev, std::optional<std::string> remote, int t = 0) {
    model.update(call, dev, ConnectionState::alerting, CallEventType::delivered, at(t), std::move(remote));
  }
  model::JournalEntry entry(std::string party, std::optional<std::string> remote,
                            model::Direction d = model::Direction::inbound) {
    model::JournalEntry e{.tenant = base::TenantId("t1")};
    e.party = std::move(party);
    e.call_id = "c-" + e.party;
    e.direction = d;
    e.remote = std::move(remote);
    e.remote_withheld = !e.remote;
    return e;
  }
};

TEST(RemoteInfoClassify, KindsNumbersAndDisplayFromTheDialingPlan) {
  auto plan = company_plan();
  auto ext = classify_remote("+4989123456", *plan);
  EXPECT_EQ(ext.kind, RemoteKind::external);
  EXPECT_EQ(ext.e164, "+4989123456");
  EXPECT_EQ(ext.display, "089 123456");
  EXPECT_EQ(ext.international, "+49 89 123456");
  EXPECT_EQ(ext.lookup, RemoteLookup::none);

  auto foreign = classify_remote("+41446681800", *plan);
  EXPECT_EQ(foreign.kind, RemoteKind::external);
  EXPECT_EQ(foreign.display, "+41 44 668 18 00");  // not the tenant's country: international

  auto in = classify_remote("12", *plan);
  EXPECT_EQ(in.kind, RemoteKind::internal);
  EXPECT_EQ(in.extension, "12");
  EXPECT_EQ(in.e164, "+4921133990312");
  EXPECT_EQ(in.display, "12");

  auto did = classify_remote("+4921133990312", *plan);  // the company's own DID in full
  EXPECT_EQ(did.kind, RemoteKind::internal);
  EXPECT_EQ(did.extension, "12");

  auto room = classify_remote("800", *plan);  // a conference room outside the extension length
  EXPECT_EQ(room.kind, RemoteKind::internal);
  EXPECT_EQ(room.extension, "800");
  EXPECT_FALSE(room.e164);

  auto uri = classify_remote("sip:someone@example.com", *plan);
  EXPECT_EQ(uri.kind, RemoteKind::unknown);
  EXPECT_EQ(uri.display, "sip:someone@example.com");
  EXPECT_FALSE(uri.e164);

  EXPECT_EQ(classify_missing_remote(ConnectionState::alerting).kind, RemoteKind::withheld);
  EXPECT_EQ(classify_missing_remote(ConnectionState::connected).kind, RemoteKind::withheld);
  EXPECT_EQ(classify_missing_remote(ConnectionState::initiated).kind, RemoteKind::unknown);
}

TEST(RemoteInfoClassify, JsonShapeIsTheApiContract) {
  RemoteInfo r = classify_remote("+4989123456", *company_plan());
  r.lookup = RemoteLookup::done;
  r.contacts = {{"17", "Max \"M\" Muster", "ACME", "store", "exact", "+4989123456"}};
  std::string out;
  append_remote_info_json(out, r);
  EXPECT_EQ(out,
            "{\"e164\":\"+4989123456\",\"extension\":null,\"kind\":\"external\",\"display\":\"089 123456\","
            "\"international\":\"+49 89 123456\",\"lookup\":\"done\",\"contacts\":[{\"id\":\"17\","
            "\"name\":\"Max \\\"M\\\" Muster\",\"company\":\"ACME\",\"source\":\"store\",\"match\":\"exact\","
            "\"number\":\"+4989123456\"}]}");
  out.clear();
  append_remote_info_json(out, classify_missing_remote(ConnectionState::alerting));
  EXPECT_EQ(out,
            "{\"e164\":null,\"extension\":null,\"kind\":\"withheld\",\"display\":null,\"international\":null,"
            "\"lookup\":\"none\",\"contacts\":[]}");
}

TEST_F(RemoteInfoTest, RingingShowsPendingThenBothMatchesRankedAndTheCallIsPublishedAgain) {
  ring("c1", "100", "+4989123456");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].tenant, "t1");
  EXPECT_EQ(requests[0].e164, "+4989123456");
  ASSERT_FALSE(sub.got.empty());
  EXPECT_NE(sub.got[0].find("\"event\":\"delivered\""), std::string::npos) << sub.got[0];
  EXPECT_NE(sub.got[0].find("\"remote\":\"+4989123456\",\"remote_info\":{\"e164\":\"+4989123456\","
                            "\"extension\":null,\"kind\":\"external\",\"display\":\"089 123456\","
                            "\"international\":\"+49 89 123456\",\"lookup\":\"pending\",\"contacts\":[]}"),
            std::string::npos)
      << sub.got[0];

  const auto before = sub.got.size();
  requests[0].done(two_matches());  // on the model thread: applied at once
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0], (std::pair<std::string, std::string>{"t1", "c1"}));
  ASSERT_EQ(sub.got.size(), before + 1);
  const auto& ev = sub.got.back();
  EXPECT_EQ(ev.rfind("{\"type\":\"call\",\"seq\":", 0), 0u) << ev;
  EXPECT_NE(ev.find("\"event\":\"remote_info\""), std::string::npos) << ev;
  const auto max = ev.find("\"name\":\"Max Muster\"");
  const auto acme = ev.find("\"name\":\"Moritz Muster\"");
  ASSERT_NE(max, std::string::npos) << ev;
  ASSERT_NE(acme, std::string::npos) << ev;
  EXPECT_LT(max, acme) << "in the lookup's ranking";
  EXPECT_NE(ev.find("\"id\":\"18\",\"name\":\"Moritz Muster\",\"company\":\"\",\"source\":\"store\","
                    "\"match\":\"exact\",\"number\":\"+4989123456\""),
            std::string::npos)
      << ev;
  EXPECT_NE(ev.find("\"lookup\":\"done\""), std::string::npos);

  // The snapshot (and REST, which uses the same call_json) shows it too.
  Collect late;
  auto a = hub.subscribe("t1", tenant_scope(), std::nullopt, &late);
  EXPECT_NE(a.initial[0]->find("\"name\":\"Max Muster\""), std::string::npos) << *a.initial[0];
  EXPECT_NE(call_json(*model.find_call("c1"), "t1", model, svc.get()).find("\"lookup\":\"done\""), std::string::npos);
}

TEST_F(RemoteInfoTest, OneLookupPerNumberWhileCallsUseItAndTenantsNeverShare) {
  ring("c1", "100", "+4989123456");
  ring("c2", "101", "+4989123456");
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1));
  EXPECT_EQ(requests.size(), 1u) << "same tenant and number: one lookup";

  model::CallModel other{base::TenantId("t2")};
  other.set_sink([&](const model::CallEvent& e) { svc->observe(e.tenant, e.call_id, other); });
  other.update("x1", "100", ConnectionState::alerting, CallEventType::delivered, at(2), "+4989123456");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].tenant, "t2");

  requests[0].done(two_matches());
  EXPECT_NE(info_json("t1", "+4989123456").find("Max Muster"), std::string::npos);
  EXPECT_NE(info_json("t2", "+4989123456").find("\"lookup\":\"pending\""), std::string::npos)
      << "t2 must not see t1's directory";
  EXPECT_EQ(info_json("t2", "+4989123456").find("Max Muster"), std::string::npos);
  // Both live calls of t1 were republished.
  EXPECT_EQ(changed.size(), 2u);
  // t2 has no dialing plan: the default (country 49) formats it.
  EXPECT_NE(info_json("t2", "+4989123456").find("\"display\":\"089 123456\""), std::string::npos);
}

TEST_F(RemoteInfoTest, WithheldAndInternalRemotesAreNeverLookedUp) {
  ring("c1", "100", std::nullopt);
  ring("c2", "101", "102");
  EXPECT_TRUE(requests.empty());
  std::string out;
  svc->append_remote_info(out, "t1", model.find_call("c1")->connections[0]);
  EXPECT_NE(out.find("\"kind\":\"withheld\",\"display\":null,\"international\":null,\"lookup\":\"none\""),
            std::string::npos)
      << out;
  EXPECT_NE(info_json("t1", "102").find("\"kind\":\"internal\""), std::string::npos);

  svc->annotate(entry("100", std::nullopt));
  svc->annotate(entry("101", "102", model::Direction::internal));
  ASSERT_EQ(written.size(), 2u);
  EXPECT_FALSE(written[0].contact);
  EXPECT_FALSE(written[1].contact);
  EXPECT_TRUE(requests.empty());
  EXPECT_TRUE(timers.empty());
}

// Issue 18: a slow lookup holds back only the entries of its own number (which keep their order:
// an answered call after a missed one of the same remote marks it done); an internal entry, or
// one whose number is known, leaves at once.
TEST_F(RemoteInfoTest, JournalWaitsForThePendingLookupOnlyForItsOwnNumber) {
  ring("c1", "100", "+4989123456");
  model.clear("c1", "100", at(5));  // call gone; the number is kept for the journal
  svc->annotate(entry("100", "+4989123456"));
  EXPECT_TRUE(written.empty()) << "the entry waits for its number's lookup";
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].first, 1500ms);
  EXPECT_EQ(requests.size(), 1u) << "the journal reuses the call's lookup";

  svc->annotate(entry("101", "102", model::Direction::internal));
  ASSERT_EQ(written.size(), 1u) << "an internal entry does not wait behind another number's lookup";
  EXPECT_EQ(written[0].party, "101");
  svc->annotate(entry("103", "+4989123456"), /*wait=*/false);
  EXPECT_EQ(written.size(), 1u) << "an entry of the same number follows the waiting one";

  requests[0].done(two_matches());
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[1].party, "100");
  ASSERT_TRUE(written[1].contact);
  EXPECT_EQ(written[1].contact->id, "17");
  EXPECT_EQ(written[1].contact->name, "Max Muster");
  EXPECT_EQ(written[1].contact->company, "ACME");
  EXPECT_EQ(written[1].contact->source, "store");
  EXPECT_EQ(written[1].remote_name, "Max Muster");
  EXPECT_EQ(written[2].party, "103");
  EXPECT_TRUE(changed.empty()) << "no live call to republish";

  timers[0].second();  // the timeout after the fact changes nothing
  EXPECT_EQ(written.size(), 3u);
  EXPECT_EQ(svc->stats().journal_timeouts, 0u);

  // A number whose contact is known already is not held behind a slow lookup of another number.
  svc->annotate(entry("104", "+4930777"));  // a new number: its lookup runs
  ASSERT_EQ(requests.size(), 2u);
  svc->annotate(entry("105", "+4989123456"));  // known from the lookup above
  ASSERT_EQ(written.size(), 4u);
  EXPECT_EQ(written[3].party, "105");
  ASSERT_TRUE(written[3].contact);
  requests[1].done(LookupResult{});
  ASSERT_EQ(written.size(), 5u);
  EXPECT_EQ(written[4].party, "104");
}

TEST_F(RemoteInfoTest, JournalWaitIsBoundedAndPbxNamesAreKept) {
  auto e = entry("100", "+4989123456");
  e.remote_name = "PBX Name";
  svc->annotate(e);
  ASSERT_EQ(requests.size(), 1u) << "an entry for a number no call showed starts its own lookup";
  EXPECT_TRUE(written.empty());
  ASSERT_EQ(timers.size(), 1u);
  timers[0].second();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_FALSE(written[0].contact);
  EXPECT_EQ(svc->stats().journal_timeouts, 1u);

  requests[0].done(two_matches());  // late: the number learns it, the written entry stays
  svc->annotate(e);
  ASSERT_EQ(written.size(), 2u);
  ASSERT_TRUE(written[1].contact);
  EXPECT_EQ(written[1].remote_name, "PBX Name") << "a name the PBX gave is not replaced";
}

// Issue 17: numbers a holder shows (a queue's waiting callers) are looked up once, shared with the
// calls that show them, the holder hears when the lookup ended, and letting go works like a call's end.
TEST_F(RemoteInfoTest, HeldNumbersAreLookedUpOnceAndLetGoLikeACallsNumbers) {
  svc->hold("t1", "queue:lab:support", {"+4989123456", "", "+4989123456"});
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].e164, "+4989123456");
  ring("c1", "100", "+4989123456");  // an agent's phone rings for the same caller: no second lookup
  EXPECT_EQ(requests.size(), 1u);
  svc->hold("t1", "queue:lab:support", {"+4989123456"});  // the same set again: nothing new
  EXPECT_EQ(requests.size(), 1u);
  requests[0].done(two_matches());
  EXPECT_EQ(changed.size(), 1u);
  ASSERT_EQ(holder_changed.size(), 1u);
  EXPECT_EQ(holder_changed[0], (std::pair<std::string, std::string>{"t1", "queue:lab:support"}));
  EXPECT_NE(info_json("t1", "+4989123456").find("Max Muster"), std::string::npos);
  // The caller leaves the queue and the call ends: kept for keep_after_call, then forgotten.
  svc->hold("t1", "queue:lab:support", {});
  model.clear("c1", "100", at(5));
  EXPECT_NE(svc->find("t1", "+4989123456"), nullptr);
  clock.advance(std::chrono::minutes(3));
  svc->hold("t1", "queue:lab:sales", {"+4930999"});  // any activity sweeps
  EXPECT_EQ(svc->find("t1", "+4989123456"), nullptr);
  // Another tenant's holder never shares.
  svc->hold("t2", "queue:lab:support", {"+4930999"});
  EXPECT_EQ(requests.size(), 3u);
}

TEST_F(RemoteInfoTest, NumbersAreKeptForAWhileAfterTheirLastCallThenForgotten) {
  ring("c1", "100", "+4989123456");
  requests[0].done(two_matches());
  model.clear("c1", "100", at(5));
  clock.advance(std::chrono::minutes(1));
  svc->annotate(entry("100", "+4989123456"));
  ASSERT_EQ(written.size(), 1u);
  EXPECT_TRUE(written[0].contact) << "within keep_after_call: what was shown";
  EXPECT_EQ(requests.size(), 1u);

  clock.advance(std::chrono::minutes(3));
  ring("c2", "101", "+4930999");  // any activity sweeps
  EXPECT_EQ(svc->find("t1", "+4989123456"), nullptr);
  EXPECT_EQ(svc->stats().numbers, 1u);
  ring("c3", "100", "+4989123456");
  EXPECT_EQ(requests.size(), 3u) << "a later call asks again";
}

TEST_F(RemoteInfoTest, InvalidationForgetsAStaleNoMatchSoTheNextCallAsksAgain) {
  // A call from an unknown number ends; its "nobody" stays known for keep_after_call.
  ring("c1", "100", "+4989123456");
  requests[0].done(LookupResult{});
  model.clear("c1", "100", at(5));
  ring("c2", "101", "+4989123456");
  ASSERT_EQ(requests.size(), 1u) << "without invalidation the known result is reused";
  model.clear("c2", "101", at(6));

  // The contact gets created (REST / import): the lookup cache is invalidated, and so is this.
  svc->invalidate("t2");  // another tenant's change leaves t1 alone
  EXPECT_NE(svc->find("t1", "+4989123456"), nullptr);
  svc->invalidate("t1");
  EXPECT_EQ(svc->find("t1", "+4989123456"), nullptr);
  ring("c3", "100", "+4989123456");
  ASSERT_EQ(requests.size(), 2u) << "the next call looks the number up again";
  requests[1].done(two_matches());
  EXPECT_NE(info_json("t1", "+4989123456").find("Max Muster"), std::string::npos) << info_json("t1", "+4989123456");
}

TEST_F(RemoteInfoTest, InvalidationDuringACallLooksUpAgainAndIgnoresTheOlderAnswer) {
  ring("c1", "100", "+4989123456");
  ASSERT_EQ(requests.size(), 1u);
  svc->invalidate_all();  // every tenant; the call still uses the number
  ASSERT_EQ(requests.size(), 2u) << "a live number is looked up again at once";
  EXPECT_NE(info_json("t1", "+4989123456").find("\"lookup\":\"pending\""), std::string::npos);
  requests[0].done(LookupResult{});  // started before the change: stale, ignored
  EXPECT_NE(info_json("t1", "+4989123456").find("\"lookup\":\"pending\""), std::string::npos);
  changed.clear();
  requests[1].done(two_matches());
  EXPECT_NE(info_json("t1", "+4989123456").find("Max Muster"), std::string::npos);
  ASSERT_EQ(changed.size(), 1u) << "the call is published again";
  EXPECT_EQ(changed[0].second, "c1");
}

TEST_F(RemoteInfoTest, CompletionOnAnotherThreadIsPostedToTheModelThread) {
  ring("c1", "100", "+4989123456");
  std::thread t([&] { requests[0].done(two_matches()); });
  t.join();
  EXPECT_NE(info_json("t1", "+4989123456").find("\"lookup\":\"pending\""), std::string::npos)
      << "nothing changes off the model thread";
  ASSERT_EQ(posted.size(), 1u);
  posted[0]();
  EXPECT_NE(info_json("t1", "+4989123456").find("\"lookup\":\"done\""), std::string::npos);
  EXPECT_EQ(changed.size(), 1u);
}

TEST_F(RemoteInfoTest, ShutdownFlushesHeldEntriesAndNoWaitNeverHolds) {
  svc->annotate(entry("100", "+4989123456"));
  EXPECT_TRUE(written.empty());
  svc->annotate(entry("101", "+4989123456"), /*wait=*/false);
  EXPECT_TRUE(written.empty()) << "order is kept even without waiting";
  svc->flush_journal();
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].party, "100");
  EXPECT_EQ(written[1].party, "101");
}

TEST_F(RemoteInfoTest, MergedCallsAreReleasedByTheGarbageCollector) {
  ring("c1", "100", "+4989123456");
  ring("c2", "101", "+4930999");
  model.merge("c1", "c2", at(3));  // c1 disappears without an event of its own
  EXPECT_EQ(svc->stats().calls, 2u);
  clock.advance(31s);
  ring("c3", "102", "+4930888");
  EXPECT_EQ(svc->stats().calls, 2u) << "c1 released, c3 added";
}

// The real lookup engine over a fake directory: worker-thread completions come back through
// post(); a cached answer is there before the ringing event is published.
class MapSource final : public ports::ContactSource {
 public:
  const std::string& name() const override { return name_; }
  int priority() const override { return 10; }
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override {
    std::vector<ports::ContactMatch> out;
    for (const auto& c : q.candidates) {
      if (c == "+4989123456") {
        out.push_back({"store", 10, "17", ports::ContactKind::person, "Max Muster", "ACME", c, "work"});
        out.push_back({"store", 10, "18", ports::ContactKind::person, "Anna Muster", "", c, "home"});
      }
      if (c == "+498912340") out.push_back({"store", 10, "3", ports::ContactKind::company, "ACME GmbH", "ACME", c, "main"});
    }
    return out;
  }

 private:
  std::string name_ = "store";
};

TEST_F(RemoteInfoTest, OverTheRealLookupServiceCachedAnswersAreShownAtOnce) {
  base::ManualClock lookup_clock{at(0)};
  LookupService lookups({{std::make_shared<MapSource>(), 2000ms}}, LookupOptions{.workers = 1}, lookup_clock);
  RemoteInfoOptions o;
  o.lookup = lookup_via(lookups);
  o.post = [this](std::function<void()> f) {
    std::lock_guard lock(posted_mu);
    posted.push_back(std::move(f));
    posted_cv.notify_all();
  };
  std::vector<std::string> republished;
  o.on_changed = [&](const base::TenantId&, const std::string& id) { republished.push_back(id); };
  RemoteInfoService real(std::move(o), clock);
  model::CallModel m{base::TenantId("t1")};
  m.set_sink([&](const model::CallEvent& e) { real.observe(e.tenant, e.call_id, m); });

  m.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  {
    std::unique_lock lock(posted_mu);
    ASSERT_TRUE(posted_cv.wait_for(lock, 10s, [&] { return !posted.empty(); }));
  }
  posted[0]();
  ASSERT_NE(real.find("t1", "+4989123456"), nullptr);
  const auto& info = *real.find("t1", "+4989123456");
  EXPECT_EQ(info.lookup, RemoteLookup::done);
  ASSERT_EQ(info.contacts.size(), 2u);
  EXPECT_EQ(info.contacts[0].name, "Anna Muster");  // same source and priority: by name
  EXPECT_EQ(info.contacts[0].match, "exact");
  EXPECT_EQ(info.contacts[1].name, "Max Muster");
  EXPECT_EQ(info.contacts[1].id, "17");
  EXPECT_EQ(republished, std::vector<std::string>{"c1"});

  // A direct-dial number nobody has: the company's switchboard (longest prefix).
  m.update("c9", "102", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123499");
  {
    std::unique_lock lock(posted_mu);
    ASSERT_TRUE(posted_cv.wait_for(lock, 10s, [&] { return posted.size() >= 2; }));
  }
  posted[1]();
  ASSERT_EQ(real.find("t1", "+4989123499")->contacts.size(), 1u);
  EXPECT_EQ(real.find("t1", "+4989123499")->contacts[0].match, "company");
  EXPECT_EQ(real.find("t1", "+4989123499")->contacts[0].number, "+498912340");
  m.clear("c9", "102", at(1));

  // Forget the number; the next call finds it in the lookup cache, inline.
  m.clear("c1", "100", at(1));
  clock.advance(std::chrono::minutes(5));
  m.update("c2", "101", ConnectionState::alerting, CallEventType::delivered, at(2), "+4989123456");
  EXPECT_EQ(posted.size(), 2u) << "cache hit: no thread hop";
  EXPECT_EQ(real.find("t1", "+4989123456")->lookup, RemoteLookup::done);
}

}  // namespace
}  // namespace callbridge::core
