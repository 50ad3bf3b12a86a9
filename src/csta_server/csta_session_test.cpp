// CstaSession / CstaServer without sockets: bytes in (the codec's encoder plays the client), bytes
// out (decoded again), over a real TenantRuntime whose fake driver's call model plays the PBX.
// Session starts of both styles, logins refused, visibility, event order and connection ids,
// call control through core's CallControlService, errors for every kind of bad input, limits.
#include "csta_server/csta_session.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/framing.hpp"

namespace callbridge::csta_server {
namespace {

namespace csta = protocols::csta;
using model::CallEventType;
using model::ConnectionState;

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1'795'000'000 + s)); }

class FixedClock final : public base::Clock {
 public:
  base::Timestamp now() const override { return at(0); }
};

struct NullStore final : ports::JournalStore {
  void append(model::JournalEntry) override {}
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery&) override {
    return std::vector<ports::StoredEntry>{};
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
};

struct Audit final : ports::AuditLog {
  std::vector<ports::AuditRecord> records;
  void append(ports::AuditRecord r) override { records.push_back(std::move(r)); }
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredAuditRecord>> query(const ports::AuditQuery&) override {
    return std::vector<ports::StoredAuditRecord>{};
  }
  base::Result<std::size_t> prune_before(base::Timestamp) override { return std::size_t{0}; }
};

// A PBX without a PBX: call control requests are recorded and accepted.
struct FakeDriver final : ports::PbxDriver {
  base::TenantId tenant_;
  std::string name_ = "pbx";
  ports::PbxEventSink& sink;
  model::CallModel model;
  struct Commands final : ports::PbxCommands {
    std::vector<std::string> log;
    bool available() const override { return true; }
    void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
      log.push_back("make_call " + r.from_device + " " + r.dial_string);
      d({});
    }
    void answer(const std::string& c, const std::string& dev, ports::CommandDone d) override {
      log.push_back("answer " + c + " " + dev);
      d({});
    }
    void hangup(const std::string& c, const std::string& dev, ports::CommandDone d) override {
      log.push_back("hangup " + c + " " + dev);
      d({});
    }
    void hold(const std::string& c, const std::string& dev, ports::CommandDone d) override {
      log.push_back("hold " + c + " " + dev);
      d({});
    }
    void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
    void transfer(const std::string& c, const std::string& dev, const std::string& to, ports::CommandDone d) override {
      log.push_back("transfer " + c + " " + dev + " " + to);
      d({});
    }
    void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
      d({});
    }
    void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
      d({});
    }
    void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  } cmds;
  // The PBX's line features (DND, forwarding), as drivers/ami AmiFeatures keeps them in AstDB.
  struct Features final : ports::PbxFeatures {
    std::map<std::string, ports::LineFeatures, std::less<>> lines;
    base::Status ready() const override { return {}; }
    ports::LineFeatures line(std::string_view l) const override {
      auto it = lines.find(l);
      return it == lines.end() ? ports::LineFeatures{} : it->second;
    }
    void set_line(const std::string& l, const ports::LineFeatures& f, ports::CommandDone done) override {
      lines[l] = f;
      done({});
      if (changed) changed(l);  // as a driver reports the change (PbxEventSink::on_line_features_changed)
    }
    std::function<void(const std::string&)> changed;
  } feats;
  bool with_features = true;
  ports::PbxFeatures* features() override { return with_features ? &feats : nullptr; }
  FakeDriver(base::TenantId t, ports::PbxEventSink& s)
      : tenant_(t), sink(s), model(t, [this](const model::CallEvent& e) { sink.on_call_event(e, model); }) {
    feats.changed = [this](const std::string& l) { features_changed(l); };
  }
  void features_changed(const std::string& line) {
    const std::vector<std::string> lines{line};
    sink.on_line_features_changed(feats, lines);
  }
  const std::string& name() const override { return name_; }
  const base::TenantId& tenant() const override { return tenant_; }
  void start() override {}
  void stop(std::function<void()> done) override { done(); }
  ports::PbxDriverStatus status() const override { return {.state = "up", .connected = true, .peer = "", .last_error = "", .counters = {}}; }
  const model::CallModel& call_model() const override { return model; }
  ports::PbxCommands* commands() override { return &cmds; }
};

std::shared_ptr<const core::DialingPlan> berlin() {
  core::DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "30";
  o.base_number = "555";
  o.extension_ranges = {{"100", "199"}};
  o.outside_prefix = "0";
  auto p = core::DialingPlan::create(std::move(o));
  EXPECT_TRUE(p);
  return std::make_shared<const core::DialingPlan>(std::move(*p));
}

// One client connection: what the server sent, decoded.
struct Client {
  std::shared_ptr<CstaSession> session;
  csta::FrameReader reader{csta::FrameLimits{.max_frame_bytes = 1 << 20}};
  std::deque<std::pair<int, csta::Message>> got;  // invoke id, message
  std::vector<std::string> raw;
  bool closed = false;

  void take(std::string bytes) {
    reader.feed(bytes);
    csta::Frame f;
    while (true) {
      auto r = reader.next(f);
      ASSERT_TRUE(r) << r.error().message();
      if (!*r) break;
      raw.emplace_back(f.xml);
      auto d = csta::decode(f.xml);
      ASSERT_TRUE(d) << d.error().message << "\n" << f.xml;
      got.emplace_back(f.invoke_id.value_or(-1), std::move(d->message));
    }
  }
  void send(const csta::Message& m, int invoke, csta::Edition ed = csta::Edition::ed5) {
    std::string frame;
    ASSERT_TRUE(csta::append_frame(frame, invoke, csta::encode(m, ed)));
    session->on_bytes(frame);
  }
  template <typename T>
  T next(int* invoke = nullptr) {
    EXPECT_FALSE(got.empty()) << "nothing received; expected " << typeid(T).name();
    if (got.empty()) return T{};
    auto [id, m] = std::move(got.front());
    got.pop_front();
    if (invoke) *invoke = id;
    auto* t = std::get_if<T>(&m);
    EXPECT_TRUE(t) << "got " << csta::root_name(m) << ", expected " << typeid(T).name();
    return t ? *t : T{};
  }
  csta::ErrorCode error() { return next<csta::CstaErrorCode>().error; }
};

struct SessionTest : ::testing::Test {
  FixedClock clock;
  core::EventHub hub;
  NullStore store;
  core::JournalPolicy policy{core::JournalPolicyConfig{}};
  Audit audit;
  std::unique_ptr<core::TenantRuntime> rt;
  FakeDriver* driver = nullptr;
  std::chrono::steady_clock::time_point now{};
  std::unique_ptr<CstaServer> server;

  SessionTest() { build({}); }

  void build(CstaServerOptions o) {
    server.reset();
    rt.reset();
    core::TenantServices s;
    s.hub = &hub;
    s.journal = &store;
    s.policy = &policy;
    s.clock = &clock;
    s.post = [](std::function<void()> f) { f(); };
    s.post_after = [](std::chrono::milliseconds, std::function<void()>) {};
    core::TenantSpec spec{.id = base::TenantId("default"), .plan = berlin()};
    rt = std::make_unique<core::TenantRuntime>(std::move(spec), s);
    auto d = std::make_unique<FakeDriver>(base::TenantId("default"), rt->sink());
    driver = d.get();
    EXPECT_TRUE(rt->add_driver(std::move(d)));
    rt->start();
    if (o.clients.empty()) o.clients = {{"tapi", sha256_hex("s3cret"), base::TenantId("default")}};
    CstaServerDeps deps;
    deps.hub = &hub;
    deps.runtime = [this](const base::TenantId& t) { return t == base::TenantId("default") ? rt.get() : nullptr; };
    deps.check_token = [](std::string token, std::string, std::function<void(std::expected<core::Viewer, std::string>)> done) {
      if (token == "cbt_anna_secret")
        return done(core::Viewer{.tenant = base::TenantId("default"), .user = "anna", .role = core::Role::user,
                                 .extensions = {"100"}});
      done(std::unexpected(std::string("invalid token")));
    };
    deps.users = [](const base::TenantId&) {
      return std::vector<ports::User>{
          ports::User{.tenant = base::TenantId("default"), .name = "anna", .extensions = {"100"}},
          ports::User{.tenant = base::TenantId("default"), .name = "ben", .extensions = {"101"}}};
    };
    deps.audit = &audit;
    deps.clock = &clock;
    deps.steady_now = [this] { return now; };
    server = std::make_unique<CstaServer>(std::move(o), std::move(deps));
  }

  std::unique_ptr<Client> connect() {
    auto c = std::make_unique<Client>();
    Client* raw = c.get();
    c->session = server->open(CstaServer::Transport{.send = [raw](std::shared_ptr<const std::string> b) { raw->take(*b); },
                                                    .close = [raw] { raw->closed = true; }},
                              "127.0.0.1");
    return c;
  }

  std::unique_ptr<Client> ecma354(std::string user, std::string password) {
    auto c = connect();
    csta::StartApplicationSession s;
    s.application_id = "test";
    s.user_id = std::move(user);
    s.password = std::move(password);
    s.protocol_versions = {std::string(csta::namespace_uri(csta::Edition::ed5))};
    c->send(s, 1, csta::Edition::none);
    return c;
  }
  std::unique_ptr<Client> anna() {
    auto c = ecma354("anna", "cbt_anna_secret");
    auto r = c->next<csta::StartApplicationSessionPosResponse>();
    EXPECT_EQ(r.actual_protocol_version, csta::namespace_uri(csta::Edition::ed5));
    return c;
  }
  std::string monitor(Client& c, const std::string& device, int invoke = 2) {
    c.send(csta::MonitorStart{.device_object = device}, invoke);
    int id = 0;
    auto r = c.next<csta::MonitorStartResponse>(&id);
    EXPECT_EQ(id, invoke);
    return r.monitor_cross_ref_id;
  }
  model::CallModel& pbx() { return driver->model; }
};

TEST_F(SessionTest, Ecma354WithATokenMonitorsAnExtensionAndSeesACallWithOneConnectionId) {
  auto c = anna();
  const auto ref = monitor(*c, "100");
  pbx().update("u1", "100", ConnectionState::alerting, CallEventType::delivered, at(1), "+498912345678");
  pbx().update("u1", "100", ConnectionState::connected, CallEventType::established, at(2), "+498912345678");
  pbx().clear("u1", "100", at(9), 16);
  int invoke = 0;
  auto d = c->next<csta::DeliveredEvent>(&invoke);
  EXPECT_EQ(invoke, csta::kUnsolicitedInvokeId);
  EXPECT_EQ(d.monitor_cross_ref_id, ref);
  EXPECT_EQ(d.connection.device_id, "100");
  EXPECT_EQ(d.alerting_device.id, "100");
  EXPECT_EQ(d.calling_device.id, "+498912345678");
  EXPECT_EQ(d.local_connection_info, csta::LocalConnectionState::alerting);
  EXPECT_EQ(d.cause, "newCall");
  auto e = c->next<csta::EstablishedEvent>();
  EXPECT_EQ(e.established_connection, d.connection);
  EXPECT_EQ(e.local_connection_info, csta::LocalConnectionState::connected);
  auto cc = c->next<csta::ConnectionClearedEvent>();
  EXPECT_EQ(cc.dropped_connection, d.connection);
  EXPECT_EQ(cc.cause, "normalClearing");
  auto end = c->next<csta::CallClearedEvent>();
  EXPECT_EQ(end.cleared_call.call_id, d.connection.call_id);
  EXPECT_EQ(d.connection.call_id.size(), 8u) << "8 hex digits";
  EXPECT_TRUE(c->got.empty());
  ASSERT_EQ(server->clients().size(), 1u);
  EXPECT_EQ(server->clients()[0].user, "anna");
  EXPECT_EQ(server->clients()[0].monitors, 1u);
}

TEST_F(SessionTest, OpenScapeStyleStartWithAClientCredentialSeesTheWholeTenant) {
  auto c = connect();
  c->session->on_quiet();  // the client waits: the switch speaks first
  int invoke = 0;
  auto st = c->next<csta::SystemStatus>(&invoke);
  EXPECT_EQ(st.status, csta::SystemStatusValue::normal);
  c->send(csta::SystemStatusResponse{}, invoke, csta::Edition::ed3);
  csta::SystemRegister reg;
  reg.user_id = "tapi";
  reg.password = "s3cret";
  c->send(reg, 7, csta::Edition::ed3);
  c->next<csta::SystemRegisterResponse>(&invoke);
  EXPECT_EQ(invoke, 7);
  monitor(*c, "101");  // not anna's: the credential covers every line
  pbx().update("u2", "101", ConnectionState::alerting, CallEventType::delivered, at(1), "100");
  c->next<csta::DeliveredEvent>();
  EXPECT_NE(c->raw.back().find("ecma-323/csta/ed3"), std::string::npos) << "answers in the client's edition\n"
                                                                        << c->raw.back();
}

TEST_F(SessionTest, WrongCredentialsAreRefusedAndTheConnectionCloses) {
  auto a = ecma354("anna", "cbt_anna_wrong");
  auto neg = a->next<csta::StartApplicationSessionNegResponse>();
  EXPECT_EQ(neg.error, "invalidApplicationInfo");
  EXPECT_TRUE(a->closed);
  auto b = ecma354("tapi", "not-the-secret");
  b->next<csta::StartApplicationSessionNegResponse>();
  EXPECT_TRUE(b->closed);
  EXPECT_EQ(server->stats().logins_refused, 2u);
  EXPECT_EQ(server->stats().sessions_started, 0u);
}

TEST_F(SessionTest, AUsersTokenCannotMonitorOrControlAnotherUsersLine) {
  auto c = anna();
  c->send(csta::MonitorStart{.device_object = "101"}, 2);
  auto e = c->error();
  EXPECT_EQ(e.category, csta::ErrorCategory::operation);
  EXPECT_EQ(e.value, "privilegeViolationSpecifiedDevice");
  c->send(csta::MakeCall{.calling_device = "101", .called_directory_number = "100"}, 3);
  EXPECT_EQ(c->error().value, "invalidCallingDeviceID");
  c->send(csta::SnapshotDevice{.device = "101"}, 4);
  EXPECT_EQ(c->error().value, "privilegeViolationSpecifiedDevice");
  EXPECT_TRUE(driver->cmds.log.empty());
  EXPECT_FALSE(c->closed);
}

TEST_F(SessionTest, RequestsBeforeTheSessionAndUnknownServicesGetErrorsNotSilence) {
  auto c = connect();
  c->send(csta::MonitorStart{.device_object = "100"}, 5);
  int invoke = 0;
  auto e = c->next<csta::CstaErrorCode>(&invoke).error;
  EXPECT_EQ(invoke, 5);
  EXPECT_EQ(e.category, csta::ErrorCategory::state_incompatibility);
  // Not XML at all, inside a good frame: an error, and the session goes on.
  std::string frame;
  ASSERT_TRUE(csta::append_frame(frame, 6, "<MonitorStart><oops"));
  c->session->on_bytes(frame);
  EXPECT_EQ(c->next<csta::CstaErrorCode>(&invoke).error.category, csta::ErrorCategory::operation);
  EXPECT_EQ(invoke, 6);
  EXPECT_FALSE(c->closed);
  c.reset();
  auto a = anna();
  frame.clear();
  ASSERT_TRUE(csta::append_frame(frame, 8,
                                 "<?xml version=\"1.0\"?><FrobnicateCall "
                                 "xmlns=\"http://www.ecma-international.org/standards/ecma-323/csta/ed5\"/>"));
  a->session->on_bytes(frame);
  EXPECT_EQ(a->error().value, "serviceNotSupported");
  // A PBX without line features: DND is refused and not offered.
  driver->with_features = false;
  a->send(csta::SetDoNotDisturb{.device = "100", .on = true}, 9);
  EXPECT_EQ(a->error().value, "serviceNotSupported");
  a->send(csta::GetCstaFeatures{}, 10);
  auto f = a->next<csta::GetCstaFeaturesResponse>();
  std::string all;
  for (const auto& g : f.services)
    for (const auto& i : g.items) all += i + ",";
  EXPECT_NE(all.find("makeCall,"), std::string::npos);
  EXPECT_EQ(all.find("setDoNotDisturb"), std::string::npos);
  EXPECT_EQ(all.find("setForwarding"), std::string::npos);
}

TEST_F(SessionTest, AnOversizedFrameIsAnsweredAndClosesOnlyThatConnection) {
  CstaServerOptions o;
  o.max_frame_bytes = 2048;
  build(o);
  auto a = anna();
  auto b = anna();
  std::string big(4000, ' ');
  std::string frame;
  ASSERT_TRUE(csta::append_frame(frame, 3, "<MonitorStart>" + big + "</MonitorStart>"));
  a->session->on_bytes(frame);
  EXPECT_EQ(a->error().value, "valueOutOfRange");
  EXPECT_TRUE(a->closed);
  EXPECT_EQ(server->stats().protocol_errors, 1u);
  monitor(*b, "100");  // the other client is served on
  EXPECT_FALSE(b->closed);
}

TEST_F(SessionTest, TheRequestRateIsLimitedPerClient) {
  CstaServerOptions o;
  o.requests_per_second = 3;
  build(o);
  auto c = anna();
  for (int i = 0; i < 3; ++i) c->send(csta::RequestSystemStatus{}, 10 + i);
  for (int i = 0; i < 3; ++i) c->next<csta::RequestSystemStatusResponse>();
  c->send(csta::RequestSystemStatus{}, 20);
  EXPECT_EQ(c->error().value, "performanceLimitExceeded");
  now += std::chrono::seconds(1);
  c->send(csta::RequestSystemStatus{}, 21);
  c->next<csta::RequestSystemStatusResponse>();
}

TEST_F(SessionTest, MakeCallAnswersWithTheCallIdTheNewCallThenCarries) {
  auto c = anna();
  monitor(*c, "100");
  c->send(csta::MakeCall{.calling_device = "+4930555100", .called_directory_number = "N<+498912345678>;noa=nk"}, 3);
  ASSERT_EQ(driver->cmds.log.size(), 1u);
  EXPECT_EQ(driver->cmds.log[0].rfind("make_call 100 ", 0), 0u) << driver->cmds.log[0];
  auto r = c->next<csta::MakeCallResponse>();
  EXPECT_EQ(r.calling_device.device_id, "100") << "the form of the client's first device id (MonitorStart)";
  pbx().update("u7", "100", ConnectionState::initiated, CallEventType::originated, at(1), "+498912345678");
  auto si = c->next<csta::ServiceInitiatedEvent>();
  EXPECT_EQ(si.initiated_connection.call_id, r.calling_device.call_id);
  EXPECT_EQ(si.cause, "makeCall");
  auto o = c->next<csta::OriginatedEvent>();
  EXPECT_EQ(o.called_device.id, "+498912345678");
  ASSERT_FALSE(audit.records.empty());
  EXPECT_EQ(audit.records.back().action, "call.make_call");
  EXPECT_EQ(audit.records.back().actor, "anna");
  EXPECT_EQ(audit.records.back().outcome, "accepted");
}

TEST_F(SessionTest, AnswerNeedsAPhoneThatCanBeAnsweredRemotely) {
  auto c = anna();
  monitor(*c, "100");
  pbx().update("u3", "100", ConnectionState::alerting, CallEventType::delivered, at(1), "+498912345678");
  auto d = c->next<csta::DeliveredEvent>();
  c->send(csta::AnswerCall{d.connection}, 4);
  auto e = c->error();
  EXPECT_EQ(e.category, csta::ErrorCategory::operation);
  EXPECT_EQ(e.value, "requestIncompatibleWithObject");
  EXPECT_EQ(audit.records.back().outcome, "rejected");
  pbx().set_device_caps("100", model::DeviceCaps{.remote_answer = true, .remote_hold = true});
  c->send(csta::AnswerCall{d.connection}, 5);
  c->next<csta::AnswerCallResponse>();
  ASSERT_EQ(driver->cmds.log.size(), 1u);
  EXPECT_EQ(driver->cmds.log[0], "answer u3 100");
  EXPECT_EQ(audit.records.back().action, "call.answer");
  // Holding a ringing call is the wrong state, not the wrong phone.
  c->send(csta::HoldCall{d.connection}, 6);
  EXPECT_EQ(c->error().category, csta::ErrorCategory::state_incompatibility);
  // Clearing a call id that never existed.
  c->send(csta::ClearConnection{csta::ConnectionId{"DEADBEEF", "100"}}, 7);
  EXPECT_EQ(c->error().value, "invalidCallID");
  c->send(csta::ClearConnection{d.connection}, 8);
  c->next<csta::ClearConnectionResponse>();
  EXPECT_EQ(driver->cmds.log.back(), "hangup u3 100");
}

TEST_F(SessionTest, SnapshotsAndTheSwitchingFunctionsDevices) {
  auto c = ecma354("tapi", "s3cret");
  c->next<csta::StartApplicationSessionPosResponse>();
  pbx().update("u4", "101", ConnectionState::connected, CallEventType::established, at(1), "+498912345678");
  c->send(csta::SnapshotDevice{.device = "N<+4930555101>"}, 2);
  auto s = c->next<csta::SnapshotDeviceResponse>();
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].connection.device_id, "N<+4930555101>");
  EXPECT_EQ(s.items[0].state, csta::LocalConnectionState::connected);
  c->send(csta::SnapshotCall{s.items[0].connection}, 3);
  auto sc = c->next<csta::SnapshotCallResponse>();
  ASSERT_EQ(sc.items.size(), 1u);
  EXPECT_EQ(sc.items[0].connection, s.items[0].connection);
  c->send(csta::GetSwitchingFunctionDevices{}, 4);
  c->next<csta::GetSwitchingFunctionDevicesResponse>();
  auto list = c->next<csta::SwitchingFunctionDevices>();
  ASSERT_EQ(list.devices.size(), 2u);
  EXPECT_EQ(list.devices[0].device_id, "N<+4930555100>");
  EXPECT_EQ(list.devices[1].device_id, "N<+4930555101>");
}

TEST_F(SessionTest, MonitorFilterAndMonitorStop) {
  auto c = anna();
  csta::MonitorFilter f;
  f.suppress(csta::EventKind::established);
  c->send(csta::MonitorStart{.device_object = "100", .filter = f}, 2);
  auto r = c->next<csta::MonitorStartResponse>();
  ASSERT_TRUE(r.actual_filter);
  EXPECT_TRUE(r.actual_filter->suppresses(csta::EventKind::established));
  pbx().update("u5", "100", ConnectionState::alerting, CallEventType::delivered, at(1), "+498912345678");
  pbx().update("u5", "100", ConnectionState::connected, CallEventType::established, at(2), "+498912345678");
  c->next<csta::DeliveredEvent>();
  EXPECT_TRUE(c->got.empty()) << "Established was filtered";
  c->send(csta::MonitorStop{r.monitor_cross_ref_id}, 3);
  c->next<csta::MonitorStopResponse>();
  c->send(csta::MonitorStop{r.monitor_cross_ref_id}, 4);
  EXPECT_EQ(c->error().value, "invalidMonitorCrossRefID");
  pbx().clear("u5", "100", at(3), 16);
  EXPECT_TRUE(c->got.empty());
}

// DND and forwarding are the PBX's line features (ports::PbxFeatures), set like REST sets them.
TEST_F(SessionTest, DoNotDisturbAndForwardingGoToThePbxsLineFeatures) {
  auto c = anna();
  c->send(csta::SetDoNotDisturb{.device = "+4930555100", .on = true}, 2);
  c->next<csta::SetDoNotDisturbResponse>();
  EXPECT_TRUE(driver->feats.lines["100"].dnd);
  c->send(csta::GetDoNotDisturb{.device = "100"}, 3);
  EXPECT_TRUE(c->next<csta::GetDoNotDisturbResponse>().on);
  csta::SetForwarding fw;
  fw.device = "100";
  fw.type = csta::ForwardingType::immediate;
  fw.activate = true;
  fw.forward_dn = "+4930555101";  // extension 101 in E.164
  c->send(fw, 4);
  c->next<csta::SetForwardingResponse>();
  EXPECT_EQ(driver->feats.lines["100"].unconditional, "101");
  fw.type = csta::ForwardingType::no_answer;
  fw.forward_dn = "08912345678";
  fw.ring_count = 4;
  c->send(fw, 5);
  c->next<csta::SetForwardingResponse>();
  EXPECT_EQ(driver->feats.lines["100"].no_answer, "+498912345678");
  EXPECT_EQ(driver->feats.lines["100"].no_answer_seconds, 20);
  c->send(csta::GetForwarding{.device = "100"}, 6);
  auto g = c->next<csta::GetForwardingResponse>();
  ASSERT_EQ(g.items.size(), 3u);
  EXPECT_TRUE(g.items[0].status);
  EXPECT_EQ(g.items[0].forward_dn, "+4930555101") << "in the client's form";
  EXPECT_FALSE(g.items[1].status);
  fw.type = csta::ForwardingType::immediate;
  fw.activate = false;
  c->send(fw, 7);
  c->next<csta::SetForwardingResponse>();
  EXPECT_FALSE(driver->feats.lines["100"].unconditional);
  fw.activate = true;
  fw.forward_dn = "100";  // to itself
  c->send(fw, 8);
  EXPECT_EQ(c->error().value, "invalidForwardingDestination");
  fw.type = csta::ForwardingType::dnd;
  c->send(fw, 9);
  EXPECT_EQ(c->error().value, "invalidForwardingType");
  c->send(csta::SetDoNotDisturb{.device = "101", .on = true}, 10);
  EXPECT_EQ(c->error().value, "privilegeViolationSpecifiedDevice");
  EXPECT_FALSE(driver->feats.lines["101"].dnd);
  ASSERT_FALSE(audit.records.empty());
  EXPECT_EQ(audit.records.back().action, "forwarding.set");
  c->send(csta::GetCstaFeatures{}, 11);
  auto f = c->next<csta::GetCstaFeaturesResponse>();
  ASSERT_FALSE(f.services.empty());
  EXPECT_EQ(f.services.back().group, "logicalDeviceServ");
}

// A monitored line's DND and forwarding changes reach its monitors (ECMA-269 22.2), whoever made
// them (a CSTA client, the REST API, the PBX's read-back); each monitor gets what changed.
TEST_F(SessionTest, MonitorsGetDoNotDisturbAndForwardingEvents) {
  auto c = anna();
  c->send(csta::MonitorStart{.device_object = "100"}, 2);
  auto r = c->next<csta::MonitorStartResponse>();
  ASSERT_TRUE(r.actual_filter);
  EXPECT_FALSE(r.actual_filter->suppresses(csta::EventKind::do_not_disturb));
  EXPECT_FALSE(r.actual_filter->suppresses(csta::EventKind::forwarding));
  // A whole-tenant client whose monitor of 100 filters forwarding out.
  auto t = connect();
  csta::StartApplicationSession st;
  st.user_id = "tapi";
  st.password = "s3cret";
  t->send(st, 1, csta::Edition::ed3);
  t->next<csta::StartApplicationSessionPosResponse>();
  csta::MonitorFilter nofw;
  nofw.suppress(csta::EventKind::forwarding);
  t->send(csta::MonitorStart{.device_object = "N<+4930555100>", .filter = nofw}, 2);
  const auto tref = t->next<csta::MonitorStartResponse>().monitor_cross_ref_id;

  c->send(csta::SetDoNotDisturb{.device = "100", .on = true}, 3);
  c->next<csta::SetDoNotDisturbResponse>();
  auto dnd = c->next<csta::DoNotDisturbEvent>();
  EXPECT_EQ(dnd.monitor_cross_ref_id, r.monitor_cross_ref_id);
  EXPECT_EQ(dnd.device.id, "100");
  EXPECT_TRUE(dnd.on);
  auto tdnd = t->next<csta::DoNotDisturbEvent>();
  EXPECT_EQ(tdnd.monitor_cross_ref_id, tref);
  EXPECT_EQ(tdnd.device.id, "N<+4930555100>") << "in that client's form";

  csta::SetForwarding fw;
  fw.device = "100";
  fw.type = csta::ForwardingType::immediate;
  fw.activate = true;
  fw.forward_dn = "101";
  c->send(fw, 4);
  c->next<csta::SetForwardingResponse>();
  auto f1 = c->next<csta::ForwardingEvent>();
  EXPECT_EQ(f1.type, csta::ForwardingType::immediate);
  EXPECT_TRUE(f1.status);
  EXPECT_EQ(f1.forward_to, "101");
  EXPECT_TRUE(c->got.empty()) << "only what changed: DND did not";
  EXPECT_TRUE(t->got.empty()) << "forwarding is filtered out of that monitor";

  // Changed elsewhere (REST, the web client), reported by the PBX driver.
  driver->feats.lines["100"].no_answer = "+498912345678";
  driver->feats.lines["100"].no_answer_seconds = 30;
  driver->features_changed("100");
  auto f2 = c->next<csta::ForwardingEvent>();
  EXPECT_EQ(f2.type, csta::ForwardingType::no_answer);
  EXPECT_EQ(f2.forward_to, "+498912345678");
  EXPECT_EQ(f2.ring_count, 6);
  // The same state again (the driver read it back after a reconnect): nothing to say.
  driver->features_changed("100");
  EXPECT_TRUE(c->got.empty());
  // Off.
  fw.activate = false;
  c->send(fw, 5);
  c->next<csta::SetForwardingResponse>();
  auto f3 = c->next<csta::ForwardingEvent>();
  EXPECT_EQ(f3.type, csta::ForwardingType::immediate);
  EXPECT_FALSE(f3.status);
  EXPECT_TRUE(f3.forward_to.empty());
  // Another line's change: not to 100's monitors.
  driver->feats.lines["101"].dnd = true;
  driver->features_changed("101");
  EXPECT_TRUE(c->got.empty());
  EXPECT_TRUE(t->got.empty());

  c->send(csta::GetCstaFeatures{}, 6);
  auto feats = c->next<csta::GetCstaFeaturesResponse>();
  ASSERT_FALSE(feats.events.empty());
  EXPECT_EQ(feats.events.back().group, "logicalDeviceFeatureEvents");
  // A PBX without line features: monitors say these events are filtered (none will come).
  driver->with_features = false;
  c->send(csta::MonitorStart{.device_object = "100"}, 7);
  auto r2 = c->next<csta::MonitorStartResponse>();
  ASSERT_TRUE(r2.actual_filter);
  EXPECT_TRUE(r2.actual_filter->suppresses(csta::EventKind::do_not_disturb));
  EXPECT_TRUE(r2.actual_filter->suppresses(csta::EventKind::forwarding));
}

TEST_F(SessionTest, HeaderlessClientsGetHeaderlessAnswers) {
  auto c = connect();
  csta::StartApplicationSession s;
  s.user_id = "tapi";
  s.password = "s3cret";
  c->session->on_bytes(csta::encode(s, csta::Edition::none));
  // The client reads bare documents: its reader must detect no header.
  ASSERT_FALSE(c->got.empty());
  EXPECT_EQ(c->reader.framing(), csta::Framing::headerless);
  c->next<csta::StartApplicationSessionPosResponse>();
}

}  // namespace
}  // namespace callbridge::csta_server
