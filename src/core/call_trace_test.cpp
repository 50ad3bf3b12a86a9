// The explain trace (issue 17, "why did Anna get no pop?"): core::CallTraceLog's bounds, and one
// test per reason the trace gives, each through a real TenantRuntime with its lookup engine, event
// hub and journal policy: no directory match, a directory source timing out, a user whose devices
// are not in the call, a client that disconnected, an internal call the policy excludes.
#include "core/call_trace.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "core/tenant_runtime.hpp"

namespace callbridge::core {
namespace {

using model::CallEventType;
using model::ConnectionState;
using ports::TraceStage;

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1'795'000'000 + s)); }

TEST(CallTraceLog, KeepsStepsPerConversationOrderedByStageThenTime) {
  base::ManualClock clock(at(0));
  CallTraceLog log({}, clock);
  log.add("conv1", TraceStage::journal, at(9), "kept", "missed");
  log.add("conv1~x", TraceStage::pbx, at(2), "Hangup", "Channel=PJSIP/201-1");
  log.add("conv1", TraceStage::pbx, at(1), "Newchannel", "Channel=PJSIP/201-1");
  log.add("conv1", TraceStage::directory, at(3), "no match", "source store");
  auto r = log.find("conv1~x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->call_id, "conv1");
  ASSERT_EQ(r->steps.size(), 4u);
  EXPECT_EQ(r->steps[0].what, "Newchannel");
  EXPECT_EQ(r->steps[1].what, "Hangup");
  EXPECT_EQ(r->steps[2].stage, TraceStage::directory);
  EXPECT_EQ(r->steps[3].stage, TraceStage::journal);
  EXPECT_EQ(r->first, at(1));
  EXPECT_EQ(r->last, at(9));
  auto json = trace_json(*r);
  EXPECT_NE(json.find(R"("stage":"directory","what":"no match")"), std::string::npos) << json;
  EXPECT_FALSE(log.find("conv2"));
}

TEST(CallTraceLog, IsBoundedInCallsStepsTextAndTime) {
  base::ManualClock clock(at(0));
  CallTraceLog log({.max_calls = 3, .retention = std::chrono::seconds(60), .max_steps = 5, .max_pbx_steps = 3,
                    .max_text = 10},
                   clock);
  for (int i = 0; i < 5; ++i) log.add("c" + std::to_string(i), TraceStage::pbx, at(0), "Newchannel");
  EXPECT_EQ(log.size(), 3u);  // the oldest went first
  EXPECT_FALSE(log.find("c0"));
  EXPECT_FALSE(log.find("c1"));
  ASSERT_TRUE(log.find("c4"));
  for (int i = 0; i < 6; ++i) log.add("c4", TraceStage::pbx, at(1), "Newstate");
  for (int i = 0; i < 4; ++i) log.add("c4", TraceStage::journal, at(2), "kept", std::string(50, 'x'));
  auto r = log.find("c4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->steps.size(), 5u);
  EXPECT_EQ(r->pbx_steps, 3u);  // PBX events leave room for the other stages
  EXPECT_EQ(r->dropped, 6u);  // 4 PBX events over their limit, 2 journal steps over the call's
  EXPECT_LE(r->steps.back().detail.size(), 10u + 3u);  // cut, plus the ellipsis
  // Past the retention window since its last step: gone (an ended call's trace expires).
  clock.advance(std::chrono::seconds(63));  // its last step was at 2 s
  EXPECT_FALSE(log.find("c4"));
  log.add("c9", TraceStage::pbx, at(63), "Newchannel");  // the next append sweeps the old ones out
  EXPECT_EQ(log.size(), 1u);
}

// PBX steps kept raw (add_raw) are formatted only when read, under the same limits as add(): the
// trace reads as if they had been formatted on the way in.
int raw_formats = 0;
bool format_test_raw(std::string_view raw, std::string& what, std::string& detail) {
  ++raw_formats;
  if (raw.starts_with("junk")) return false;
  auto colon = raw.find(':');
  what = std::string(raw.substr(0, colon));
  detail = colon == std::string_view::npos ? std::string() : std::string(raw.substr(colon + 1));
  return true;
}

TEST(CallTraceLog, RawStepsReadAsFormattedOnesUnderTheSameLimits) {
  base::ManualClock clock(at(0));
  const CallTraceOptions limits{.max_calls = 3, .retention = std::chrono::seconds(60), .max_steps = 7,
                                .max_pbx_steps = 4, .max_text = 10};
  CallTraceLog raw(limits, clock), formatted(limits, clock);
  auto both_pbx = [&](std::string_view call, int s, std::string text) {
    raw.add_raw(call, at(s), text, &format_test_raw);
    std::string what, detail;
    ASSERT_TRUE(format_test_raw(text, what, detail));
    formatted.add(call, TraceStage::pbx, at(s), std::move(what), std::move(detail));
  };
  auto both = [&](std::string_view call, TraceStage st, int s, std::string what) {
    raw.add(call, st, at(s), what, "d");
    formatted.add(call, st, at(s), what, "d");
  };
  raw_formats = 0;
  both_pbx("c1", 1, "Newchannel:Channel=PJSIP/201-1");  // cut at 10 bytes when read
  both("c1~a", TraceStage::journal, 9, "kept");
  both_pbx("c1~b", 2, "Hangup:Cause=16");
  both("c1", TraceStage::directory, 2, "no match");
  both_pbx("c1", 2, "DialEnd:x");  // the same time as the Hangup: arrival order stays
  both_pbx("c1", 3, "Newstate:y");
  both_pbx("c1", 4, "BridgeEnter:z");  // the 5th PBX event: over max_pbx_steps
  both("c1", TraceStage::delivery, 5, "delivered");
  both("c1", TraceStage::delivery, 6, "delivered");  // the 7th step: over max_steps
  EXPECT_EQ(raw_formats, 5);  // formatted for `formatted` only: the raw log has not yet
  auto r = raw.find("c1~x");
  auto f = formatted.find("c1");
  ASSERT_TRUE(r);
  ASSERT_TRUE(f);
  EXPECT_EQ(raw_formats, 5 + 4);  // the 4 kept raw steps, when read
  EXPECT_EQ(trace_json(*r), trace_json(*f));
  EXPECT_EQ(r->pbx_steps, 4u);
  EXPECT_EQ(r->dropped, 2u);
  EXPECT_EQ(r->steps[0].detail, "Channel=PJ…");
  EXPECT_EQ(r->steps[1].what, "Hangup");
  EXPECT_EQ(r->steps[2].what, "DialEnd");
  // Bytes the formatter refuses when read are no step.
  raw.add_raw("c2", at(7), "junk", &format_test_raw);
  raw.add("c2", TraceStage::journal, at(7), "kept");
  auto j = raw.find("c2");
  ASSERT_TRUE(j);
  ASSERT_EQ(j->steps.size(), 1u);
  EXPECT_EQ(j->pbx_steps, 0u);
  // Calls come and go (max_calls 3): a new call's raw steps never read an old one's bytes.
  for (int i = 0; i < 20; ++i) {
    const std::string id = "n" + std::to_string(i);
    for (int k = 0; k < 3; ++k) raw.add_raw(id, at(8), "Ev" + std::to_string(k) + ":" + id, &format_test_raw);
  }
  EXPECT_EQ(raw.size(), 3u);
  auto last = raw.find("n19");
  ASSERT_TRUE(last);
  ASSERT_EQ(last->steps.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(last->steps[k].what, "Ev" + std::to_string(k));
    EXPECT_EQ(last->steps[k].detail, "n19");
  }
  EXPECT_FALSE(raw.find("n16"));
}

TEST(CallTraceLog, RawStepsOverTheCallsRawBudgetAreFormattedAtOnce) {
  base::ManualClock clock(at(0));
  // 200 raw bytes per call: one chunk; each step below takes 24 + 48 bytes of it.
  CallTraceLog log({.max_raw_bytes = 200}, clock);
  raw_formats = 0;
  const std::string text = "Newstate:" + std::string(39, 'x');  // 48 bytes
  for (int i = 0; i < 6; ++i) log.add_raw("c1", at(i), text, &format_test_raw);
  EXPECT_EQ(raw_formats, 4);  // 2 fit the budget, the other 4 were formatted now
  // An event larger than the budget: formatted now as well.
  log.add_raw("c1", at(7), "Big:" + std::string(500, 'y'), &format_test_raw);
  EXPECT_EQ(raw_formats, 5);
  auto r = log.find("c1");
  ASSERT_TRUE(r);
  EXPECT_EQ(raw_formats, 7);
  ASSERT_EQ(r->steps.size(), 7u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(r->steps[i].what, "Newstate");
    EXPECT_EQ(r->steps[i].at, at(i));
    EXPECT_EQ(r->steps[i].detail, std::string(39, 'x'));
  }
  EXPECT_EQ(r->steps[6].detail.size(), 400u + std::string_view("…").size());
}

// A directory source: answers from its numbers, fails, or blocks until released (a timeout).
struct Source final : ports::ContactSource {
  std::string name_;
  std::map<std::string, std::string> numbers;  // e164 -> name
  bool block = false;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  explicit Source(std::string n) : name_(std::move(n)) {}
  const std::string& name() const override { return name_; }
  int priority() const override { return 10; }
  std::atomic<int> calls{0};
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override {
    ++calls;
    if (block) {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return released; });
      return base::fail(base::Error::timeout("released"));
    }
    std::vector<ports::ContactMatch> out;
    for (const auto& c : q.candidates)
      if (auto it = numbers.find(c); it != numbers.end())
        out.push_back(ports::ContactMatch{.source = name_, .priority = 10, .contact_id = "1",
                                          .display_name = it->second, .matched_number = c});
    return out;
  }
  void release() {
    std::lock_guard l(mu);
    released = true;
    cv.notify_all();
  }
};

struct NullStore final : ports::JournalStore {
  std::vector<model::JournalEntry> appended;
  void append(model::JournalEntry e) override { appended.push_back(std::move(e)); }
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery&) override {
    return std::vector<ports::StoredEntry>{};
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
};

struct Driver final : ports::PbxDriver {
  std::string name_ = "pbx";
  base::TenantId tenant_;
  ports::PbxEventSink& sink;
  model::CallModel model;
  Driver(base::TenantId t, ports::PbxEventSink& s)
      : tenant_(t), sink(s), model(t, [this](const model::CallEvent& e) { sink.on_call_event(e, model); }) {}
  const std::string& name() const override { return name_; }
  const base::TenantId& tenant() const override { return tenant_; }
  void start() override {}
  void stop(std::function<void()> done) override { done(); }
  ports::PbxDriverStatus status() const override { return {}; }
  const model::CallModel& call_model() const override { return model; }
  ports::PbxCommands* commands() override { return nullptr; }
  model::QueueState queue_state{"pbx"};
  const model::QueueState* queues() const override { return &queue_state; }
};

struct Sub final : EventSubscriber {
  int got = 0;
  std::vector<std::string> frames;
  void on_message(const HubMessage& m) override {
    ++got;
    frames.push_back(*m.frame);
  }
};

struct Explain : ::testing::Test {
  base::ManualClock clock{at(0)};
  EventHub hub;
  NullStore store;
  JournalPolicy policy{JournalPolicyConfig{.exclude_internal = true}};
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> posted;
  base::TenantId acme{"acme"};
  std::shared_ptr<Source> store_src = std::make_shared<Source>("store");
  std::shared_ptr<Source> crm = std::make_shared<Source>("crm");
  std::unique_ptr<TenantRuntime> rt;
  Driver* driver = nullptr;

  void build(bool with_crm) {
    TenantServices s{.hub = &hub, .journal = &store, .policy = &policy, .clock = &clock};
    s.post = [this](std::function<void()> f) {
      std::lock_guard l(mu);
      posted.push_back(std::move(f));
      cv.notify_all();
    };
    s.post_after = [](std::chrono::milliseconds, std::function<void()>) {};
    TenantSpec spec{.id = acme};
    spec.directories.push_back(LookupSourceConfig{.source = store_src, .timeout = std::chrono::milliseconds(5000)});
    if (with_crm)
      spec.directories.push_back(LookupSourceConfig{.source = crm, .timeout = std::chrono::milliseconds(30)});
    rt = std::make_unique<TenantRuntime>(std::move(spec), std::move(s));
    auto d = std::make_unique<Driver>(acme, rt->sink());
    driver = d.get();
    ASSERT_TRUE(rt->add_driver(std::move(d)));
  }
  // Waits for the lookup's completion to come back to the "io thread", then runs it.
  void run_lookup() {
    std::function<void()> f;
    {
      std::unique_lock l(mu);
      ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(20), [&] { return !posted.empty(); }));
      f = std::move(posted.front());
      posted.pop_front();
    }
    f();
  }
  void TearDown() override {
    crm->release();
    if (rt) rt->flush_journal();
    rt.reset();
  }
  const TraceStep* step(const CallTraceRecord& r, TraceStage stage, std::string_view what) {
    for (const auto& s : r.steps)
      if (s.stage == stage && s.what == what) return &s;
    return nullptr;
  }
  static std::string dump(const CallTraceRecord& r) { return trace_json(r); }
};

// Issue 17: a caller waiting in a queue before any phone rings is looked up like a call's remote;
// the queue goes out again with the contact once the lookup ends (the queue board's pop info).
TEST_F(Explain, AQueuesWaitingCallerIsLookedUpBeforeAnyPhoneRings) {
  build(false);
  store_src->numbers["+4989123456"] = "Max Muster";
  hub.set_remote_info(&rt->remote_info());  // as the app's per-tenant router does
  Sub sub;
  EventFilter f;
  f.scope = EventScope::tenant;
  hub.subscribe(acme, f, std::nullopt, &sub);
  const int before = sub.got;
  model::Queue q;
  q.name = "support";
  q.callers.push_back(model::QueueCaller{.channel = "PJSIP/trunk-00000001", .uniqueid = "u1", .linkedid = "u1",
                                         .number = "+4989123456", .name = "", .position = 1, .joined = at(1)});
  driver->queue_state.put(q);
  auto names = driver->queue_state.take_changed();
  rt->on_queues_changed(driver->queue_state, names);
  ASSERT_EQ(sub.got, before + 1);
  EXPECT_NE(sub.frames.back().find("\"lookup\":\"pending\""), std::string::npos) << sub.frames.back();
  run_lookup();
  ASSERT_EQ(sub.got, before + 2) << "published again once the lookup ended";
  EXPECT_NE(sub.frames.back().find("\"type\":\"queue\""), std::string::npos) << sub.frames.back();
  EXPECT_NE(sub.frames.back().find("\"name\":\"Max Muster\""), std::string::npos) << sub.frames.back();
  EXPECT_EQ(store_src->calls.load(), 1);
  // Still waiting, the queue changes (an agent rings): no second lookup.
  q.callers[0].position = 1;
  q.strategy = "ringall";
  driver->queue_state.put(q);
  names = driver->queue_state.take_changed();
  rt->on_queues_changed(driver->queue_state, names);
  EXPECT_NE(sub.frames.back().find("\"name\":\"Max Muster\""), std::string::npos) << sub.frames.back();
  EXPECT_EQ(store_src->calls.load(), 1);
}

TEST_F(Explain, NoDirectoryMatchIsNamedWithTheSourceAndTheNormalizedNumber) {
  build(false);
  driver->model.update("c1", "201", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989123456");
  run_lookup();
  auto r = rt->traces().find("c1");
  ASSERT_TRUE(r);
  const auto* num = step(*r, TraceStage::number, "external");
  ASSERT_TRUE(num) << dump(*r);
  EXPECT_NE(num->detail.find("E.164 +4989123456"), std::string::npos) << num->detail;
  EXPECT_NE(num->detail.find("rule: external number"), std::string::npos) << num->detail;
  ASSERT_TRUE(step(*r, TraceStage::directory, "lookup started")) << dump(*r);
  const auto* none = step(*r, TraceStage::directory, "no match");
  ASSERT_TRUE(none) << dump(*r);
  bool source_named = false, summary = false;
  for (const auto& s : r->steps) {
    source_named |= s.stage == TraceStage::directory && s.detail.find("source store: ") == 0 &&
                    s.detail.find("0 match(es)") != std::string::npos;
    summary |= s.detail.find("nobody found for +4989123456") != std::string::npos;
  }
  EXPECT_TRUE(source_named) << dump(*r);
  EXPECT_TRUE(summary) << dump(*r);
  // With a match, the trace says whom the pop showed.
  store_src->numbers["+4930555"] = "Max Muster";
  driver->model.update("c2", "201", ConnectionState::alerting, CallEventType::delivered, at(2), "+4930555");
  run_lookup();
  auto r2 = rt->traces().find("c2");
  ASSERT_TRUE(r2);
  const auto* match = step(*r2, TraceStage::directory, "match");
  ASSERT_TRUE(match) << dump(*r2);
  bool shown = false;
  for (const auto& s : r2->steps) shown |= s.detail.find("shown: Max Muster (store, exact") != std::string::npos;
  EXPECT_TRUE(shown) << dump(*r2);
}

TEST_F(Explain, ADirectorySourceTimingOutIsNamedWithItsTiming) {
  crm->block = true;
  build(true);
  driver->model.update("c1", "201", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989123456");
  run_lookup();  // the lookup engine gives up on crm after its 30 ms timeout
  auto r = rt->traces().find("c1");
  ASSERT_TRUE(r);
  const auto* t = step(*r, TraceStage::directory, "timeout");
  ASSERT_TRUE(t) << dump(*r);
  EXPECT_EQ(t->detail.find("source crm: "), 0u) << t->detail;
  bool incomplete = false;
  for (const auto& s : r->steps) incomplete |= s.detail.find("incomplete") != std::string::npos;
  EXPECT_TRUE(incomplete) << dump(*r);
}

TEST_F(Explain, AUserWhoseDevicesAreNotInTheCallIsNamedWithHerDevices) {
  build(false);
  EventFilter anna{.scope = EventScope::own, .own = {"201"}, .user = "anna"};
  EventFilter boss{.scope = EventScope::tenant, .user = "boss"};
  Sub sa, sb;
  hub.subscribe(acme, anna, std::nullopt, &sa);
  hub.subscribe(acme, boss, std::nullopt, &sb);
  driver->model.update("c1", "202", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989123456");
  EXPECT_EQ(sa.got, 0);
  EXPECT_GT(sb.got, 0);
  auto r = rt->traces().find("c1");
  ASSERT_TRUE(r);
  const auto* d = step(*r, TraceStage::delivery, "delivered");
  ASSERT_TRUE(d) << dump(*r);
  EXPECT_NE(d->detail.find("Sent to boss (scope tenant, 1 client)"), std::string::npos) << d->detail;
  EXPECT_NE(d->detail.find("Not to anna (scope own: their devices 201 are not in this call, 1 client)"),
            std::string::npos)
      << d->detail;
}

TEST_F(Explain, AClientThatDisconnectedIsNamedWithTheTime) {
  build(false);
  EventFilter anna{.scope = EventScope::own, .own = {"201"}, .user = "anna"};
  Sub sa;
  auto id = hub.subscribe(acme, anna, std::nullopt, &sa).id;
  hub.unsubscribe(acme, id);
  driver->model.update("c1", "201", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989123456");
  auto r = rt->traces().find("c1");
  ASSERT_TRUE(r);
  const auto* d = step(*r, TraceStage::delivery, "not delivered");
  ASSERT_TRUE(d) << dump(*r);
  EXPECT_NE(d->detail.find("Sent to nobody"), std::string::npos) << d->detail;
  EXPECT_NE(d->detail.find("Device 201: no connected client shows it (anna's client disconnected at "),
            std::string::npos)
      << d->detail;
}

TEST_F(Explain, AnExcludedInternalCallSaysWhichSettingDroppedIt) {
  build(false);
  model::JournalEntry e{.tenant = acme};
  e.call_id = "c7";
  e.party = "201";
  e.remote = "202";
  e.direction = model::Direction::internal;
  e.disposition = model::Disposition::missed;
  e.started_at = at(1);
  e.ended_at = at(5);
  rt->record(e);
  EXPECT_TRUE(store.appended.empty());
  auto r = rt->traces().find("c7");
  ASSERT_TRUE(r);
  const auto* j = step(*r, TraceStage::journal, "excluded internal");
  ASSERT_TRUE(j) << dump(*r);
  EXPECT_NE(j->detail.find("[journal] exclude_internal"), std::string::npos) << j->detail;
  EXPECT_NE(j->detail.find("nobody in the conversation answered"), std::string::npos) << j->detail;
  // An external entry is kept and written; the trace says so and why it reads "answered elsewhere".
  e.call_id = "c8";
  e.remote = "+4989123456";
  e.direction = model::Direction::inbound;
  e.disposition = model::Disposition::answered_elsewhere;
  rt->record(e);
  run_lookup();
  rt->flush_journal();
  auto r8 = rt->traces().find("c8");
  ASSERT_TRUE(r8);
  const auto* k = step(*r8, TraceStage::journal, "kept");
  ASSERT_TRUE(k) << dump(*r8);
  EXPECT_NE(k->detail.find("another phone of the same conversation answered"), std::string::npos) << k->detail;
  ASSERT_TRUE(step(*r8, TraceStage::journal, "written")) << dump(*r8);
}

}  // namespace
}  // namespace callbridge::core
