// CstaDriver over real sockets against a small fake switch (Asio, this thread, the codec of
// protocols/csta): both session starts, a monitor and a snapshot per line, events into the call
// model and the sink, call control requests and the switch's errors, and after the switch drops
// the link: the reconnect (backoff), the monitors again and the resync by SnapshotDevice ending a
// call that ended meanwhile. No sleeps: the io_context runs until a condition holds.
#include "drivers/csta/csta_driver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "protocols/csta/codec.hpp"
#include "protocols/csta/framing.hpp"

namespace callbridge::drivers::csta {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using L = wire::LocalConnectionState;

struct Sink final : ports::PbxEventSink {
  std::vector<model::CallEvent> events;
  std::vector<model::JournalEntry> journal;
  int lines = 0;
  void on_call_event(const model::CallEvent& e, const model::CallModel&) override { events.push_back(e); }
  void on_lines_changed(const model::CallModel&) override { ++lines; }
  void on_journal_entry(model::JournalEntry e) override { journal.push_back(std::move(e)); }
  std::vector<std::vector<std::string>> feature_changes;
  void on_line_features_changed(const ports::PbxFeatures&, std::span<const std::string> lines) override {
    feature_changes.emplace_back(lines.begin(), lines.end());
  }
  // Each report that the resync is complete: the model's calls then (sorted) and how many call
  // events came before it.
  std::vector<std::vector<std::string>> resynced;
  std::vector<std::size_t> events_before_resync;
  void on_calls_resynced(const model::CallModel& m) override {
    std::vector<std::string> ids;
    for (const auto& [id, c] : m.calls())
      if (!c.connections.empty()) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    resynced.push_back(std::move(ids));
    events_before_resync.push_back(events.size());
  }
};

// The switch: one connection at a time.
class FakeSwitch {
 public:
  explicit FakeSwitch(asio::io_context& io, bool osv = false) : io_(io), acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}), osv_(osv) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void drop() {
    boost::system::error_code ec;
    if (sock_) sock_->close(ec);
    sock_.reset();
  }
  void event(const wire::Message& m) { send(m, wire::kUnsolicitedInvokeId); }

  std::vector<std::string> requests;  // root names
  std::vector<wire::Message> request_messages;
  std::map<std::string, std::vector<wire::SnapshotDeviceItem>> snapshot;  // device -> items
  int connections = 0;
  bool refuse_login = false;
  // Logical device features (ECMA-269 22): offered by GetCSTAFeatures when `features`.
  bool features = false;
  std::map<std::string, bool> dnd;
  std::map<std::string, std::vector<wire::ForwardListItem>> forwarding;
  // SnapshotDevice requests of these devices wait for release_snapshots().
  std::set<std::string> hold_snapshots;
  void release_snapshots() {
    for (const auto& [device, invoke] : std::exchange(held_, {}))
      send(wire::SnapshotDeviceResponse{snapshot[device], ""}, invoke);
  }
  // Answer to GetSwitchingFunctionDevices: these segments (SwitchingFunctionDevices requests).
  std::vector<wire::SwitchingFunctionDevices> device_list;

 private:
  std::vector<std::pair<std::string, int>> held_;
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      drop();
      sock_ = std::make_shared<tcp::socket>(std::move(s));
      reader_ = wire::FrameReader{};
      ++connections;
      if (osv_) send(wire::SystemStatus{wire::SystemStatusValue::normal}, 1);
      read(sock_);
      accept();
    });
  }
  void read(std::shared_ptr<tcp::socket> s) {
    s->async_read_some(asio::buffer(buf_), [this, s](boost::system::error_code ec, std::size_t n) {
      if (ec || s != sock_) return;
      reader_.feed(std::string_view(buf_.data(), n));
      wire::Frame f;
      while (true) {
        auto r = reader_.next(f);
        ASSERT_TRUE(r) << r.error().message();
        if (!*r) break;
        auto d = wire::decode(f.xml);
        ASSERT_TRUE(d) << d.error().message;
        on_request(d->message, f.invoke_id.value_or(0));
      }
      read(s);
    });
  }
  void on_request(const wire::Message& m, int invoke) {
    requests.emplace_back(wire::root_name(m));
    request_messages.push_back(m);
    if (auto* s = std::get_if<wire::StartApplicationSession>(&m)) {
      if (refuse_login || s->password != "pw") return send(wire::StartApplicationSessionNegResponse{"invalidApplicationInfo"}, invoke);
      return send(wire::StartApplicationSessionPosResponse{"s1", s->protocol_versions.at(0), 60}, invoke);
    }
    if (auto* r = std::get_if<wire::SystemRegister>(&m)) {
      if (r->password != "pw") return send(wire::CstaErrorCode{{wire::ErrorCategory::security, "securityViolation"}}, invoke);
      return send(wire::SystemRegisterResponse{"r1"}, invoke);
    }
    if (std::holds_alternative<wire::SystemStatusResponse>(m)) return;
    if (auto* ms = std::get_if<wire::MonitorStart>(&m)) return send(wire::MonitorStartResponse{"m" + ms->device_object, {}}, invoke);
    if (auto* sd = std::get_if<wire::SnapshotDevice>(&m)) {
      if (hold_snapshots.count(sd->device)) {
        held_.emplace_back(sd->device, invoke);
        return;
      }
      return send(wire::SnapshotDeviceResponse{snapshot[sd->device], ""}, invoke);
    }
    if (!device_list.empty() && std::holds_alternative<wire::GetSwitchingFunctionDevices>(m)) {
      send(wire::GetSwitchingFunctionDevicesResponse{"sf1"}, invoke);
      int n = 7000;
      for (const auto& seg : device_list) send(seg, ++n);
      return;
    }
    if (std::holds_alternative<wire::SwitchingFunctionDevicesResponse>(m)) return;
    if (auto* mc = std::get_if<wire::MakeCall>(&m)) return send(wire::MakeCallResponse{{"C9", mc->calling_device}}, invoke);
    if (features && std::holds_alternative<wire::GetCstaFeatures>(m)) {
      wire::GetCstaFeaturesResponse r;
      r.services = {{"callControlServ", {"makeCall"}},
                    {"logicalDeviceServ", {"getDoNotDisturb", "getForwarding", "setDoNotDisturb", "setForwarding"}}};
      return send(r, invoke);
    }
    if (auto* g = std::get_if<wire::GetDoNotDisturb>(&m)) return send(wire::GetDoNotDisturbResponse{dnd[g->device]}, invoke);
    if (auto* g = std::get_if<wire::GetForwarding>(&m)) return send(wire::GetForwardingResponse{forwarding[g->device]}, invoke);
    if (auto* r = std::get_if<wire::SetDoNotDisturb>(&m)) {
      dnd[r->device] = r->on;
      return send(wire::SetDoNotDisturbResponse{}, invoke);
    }
    if (std::holds_alternative<wire::SetForwarding>(m)) return send(wire::SetForwardingResponse{}, invoke);
    if (std::holds_alternative<wire::ClearConnection>(m))
      return send(wire::CstaErrorCode{{wire::ErrorCategory::operation, "invalidConnectionID"}}, invoke);
    if (std::holds_alternative<wire::HoldCall>(m))
      return send(wire::CstaErrorCode{{wire::ErrorCategory::state_incompatibility, "invalidObjectState"}}, invoke);
    send(wire::CstaErrorCode{{wire::ErrorCategory::operation, "serviceNotSupported"}}, invoke);
  }
  void send(const wire::Message& m, int invoke) {
    if (!sock_) return;
    auto frame = std::make_shared<std::string>();
    ASSERT_TRUE(wire::append_frame(*frame, invoke, wire::encode(m, wire::Edition::ed4)));
    asio::async_write(*sock_, asio::buffer(*frame), [frame](boost::system::error_code, std::size_t) {});
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  bool osv_;
  std::shared_ptr<tcp::socket> sock_;
  wire::FrameReader reader_;
  std::array<char, 16384> buf_{};
};

class DriverTest : public ::testing::Test {
 protected:
  std::unique_ptr<CstaDriver> make(FakeSwitch& sw, SessionStart start = SessionStart::ecma354, std::string pw = "pw",
                                   const ports::LinkFence* fence = nullptr) {
    CstaDriverOptions o{.name = "osv", .tenant = base::TenantId("acme"), .link = {}, .devices = {}, .device_caps = {},
                        .fence = fence};
    o.link.host = "127.0.0.1";
    o.link.port = sw.port();
    o.link.user = "cb";
    o.link.password = std::move(pw);
    o.link.start = start;
    // Long enough that the test sees the link down before the next attempt.
    o.link.backoff = net::BackoffPolicy{std::chrono::milliseconds(500), std::chrono::milliseconds(1000), 2.0, 0.0};
    o.link.keepalive = std::chrono::milliseconds(0);
    o.devices = {"100", "101"};
    auto d = CstaDriver::create(io.get_executor(), std::move(o), sink);
    EXPECT_TRUE(d);
    return std::move(*d);
  }
  // Runs the io_context until `pred` holds (fails after 10 s of real time without it).
  template <typename P>
  void run_until(P pred, const char* what) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      ASSERT_LT(std::chrono::steady_clock::now(), end) << "never: " << what;
      io.run_for(std::chrono::milliseconds(5));
    }
  }
  int count(const FakeSwitch& sw, std::string_view name) const {
    return static_cast<int>(std::count(sw.requests.begin(), sw.requests.end(), name));
  }
  void stop(CstaDriver& d) {
    bool done = false;
    d.stop([&] { done = true; });
    run_until([&] { return done; }, "stopped");
  }

  asio::io_context io;
  Sink sink;
};

TEST_F(DriverTest, MonitorsSnapshotsEventsCommandsAndResyncAfterReconnect) {
  FakeSwitch sw(io);
  auto d = make(sw);
  d->start();
  run_until([&] { return d->status().connected && count(sw, "SnapshotDevice") == 2 && d->monitored() == 2; },
            "session, two monitors and snapshots");
  EXPECT_EQ(sw.requests.front(), "StartApplicationSession");
  EXPECT_EQ(d->status().state, "up");
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::idle);

  // Events of monitor "m100" become call events of line 100.
  sw.event(wire::DeliveredEvent{"m100", {"C1", "100"}, wire::EventDevice::of("100"), wire::EventDevice::of("+4989123456"),
                                wire::EventDevice::of("100"), {}, L::alerting, "newCall"});
  sw.event(wire::EstablishedEvent{"m100", {"C1", "100"}, wire::EventDevice::of("100"), wire::EventDevice::of("+4989123456"),
                                  wire::EventDevice::of("100"), {}, L::connected, "newCall"});
  run_until([&] { return sink.events.size() == 2; }, "two call events");
  EXPECT_EQ(sink.events[0].type, model::CallEventType::delivered);
  EXPECT_EQ(sink.events[1].type, model::CallEventType::established);
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::busy);

  // Call control: requests as CSTA services, the switch's errors as PbxCommands errors.
  std::optional<base::Status> made, cleared, held;
  d->commands()->make_call({.from_device = "100", .first_leg_dial_string = std::nullopt, .dial_string = "0891234",
                            .caller_id_name = "", .caller_id_number = "", .request_id = "r1", .on_outcome = {}},
                           [&](base::Status s) { made = s; });
  d->commands()->hangup("C7", "100", [&](base::Status s) { cleared = s; });
  d->commands()->hold("C1", "100", [&](base::Status s) { held = s; });
  run_until([&] { return made && cleared && held; }, "three answers");
  EXPECT_TRUE(*made);
  ASSERT_FALSE(*cleared);
  EXPECT_EQ(cleared->error().code(), base::Errc::not_found);
  ASSERT_FALSE(*held);
  EXPECT_EQ(held->error().code(), base::Errc::conflict);
  EXPECT_NE(held->error().message().find("stateIncompatibility/invalidObjectState"), std::string::npos);
  auto* mc = std::get_if<wire::MakeCall>(&sw.request_messages[sw.requests.size() - 3]);
  ASSERT_NE(mc, nullptr);
  EXPECT_EQ(mc->calling_device, "100");
  EXPECT_EQ(mc->called_directory_number, "0891234");

  // The switch drops the link; meanwhile the call ended. Reconnect, monitors, snapshot: resync.
  sw.snapshot["100"] = {};
  sw.drop();
  run_until([&] { return !d->status().connected; }, "link down noticed");
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::busy);  // as last seen, until the resync
  bool ok = false;
  d->commands()->answer("C1", "100", [&](base::Status s) { ok = !s && s.error().code() == base::Errc::unavailable; });
  EXPECT_TRUE(ok);
  run_until([&] { return sw.connections == 2 && count(sw, "SnapshotDevice") == 4 && sink.journal.size() == 1; },
            "reconnected, resynchronised");
  EXPECT_TRUE(d->status().connected);
  EXPECT_EQ(d->call_model().find_call("C1"), nullptr);
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::idle);
  EXPECT_EQ(d->call_model().device_state("101"), model::DeviceState::idle);
  EXPECT_EQ(sink.journal[0].disposition, model::Disposition::answered);
  EXPECT_TRUE(sink.journal[0].estimated & model::kEstimatedEnd);
  std::uint64_t reconnects = 0;
  for (const auto& [k, v] : d->status().counters)
    if (k == "reconnects") reconnects = v;
  EXPECT_GE(reconnects, 1u);
  stop(*d);
  EXPECT_EQ(count(sw, "StopApplicationSession"), 1);
}

// Issue 19 (docs/cluster.md "Each call's link"): once every line's snapshot of a session is in,
// the driver tells its sink the link's calls (cluster mode: every node's mirror drops the calls that
// ended while no node owned the link); not while a line's snapshot is outstanding, and again after
// each reconnect, once per session.
TEST_F(DriverTest, TheSinkHearsTheLinksCallsOnceEveryLineIsResynced) {
  FakeSwitch sw(io);
  sw.snapshot["101"] = {wire::SnapshotDeviceItem{{"C5", "101"}, L::connected}};
  sw.hold_snapshots = {"101"};
  auto d = make(sw);
  d->start();
  run_until([&] { return count(sw, "SnapshotDevice") == 2 && sink.lines >= 1; }, "100's snapshot in, 101's asked for");
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(sink.resynced.empty()) << "101's snapshot is not in yet";
  sw.release_snapshots();
  run_until([&] { return !sink.resynced.empty(); }, "the resync reported");
  ASSERT_EQ(sink.resynced.size(), 1u);
  EXPECT_EQ(sink.resynced[0], (std::vector<std::string>{"C5"}));
  ASSERT_GE(sink.events_before_resync[0], 1u) << "the calls first, then the list";
  EXPECT_EQ(sink.events[0].call_id, "C5");

  // An event after the resync: no new report. The link drops; meanwhile C5 ended and C6 rings at 100.
  sw.event(wire::DeliveredEvent{"m100", {"C7", "100"}, wire::EventDevice::of("100"), wire::EventDevice::of("+4989123456"),
                                wire::EventDevice::of("100"), {}, L::alerting, "newCall"});
  run_until([&] { return d->call_model().find_call("C7") != nullptr; }, "C7 rings");
  EXPECT_EQ(sink.resynced.size(), 1u);
  sw.snapshot["101"] = {};
  sw.snapshot["100"] = {wire::SnapshotDeviceItem{{"C6", "100"}, L::alerting}};
  sw.hold_snapshots.clear();
  sw.drop();
  run_until([&] { return !d->status().connected; }, "link down noticed");
  run_until([&] { return sink.resynced.size() == 2; }, "reconnected, resynced again");
  ASSERT_EQ(sink.resynced.size(), 2u);
  EXPECT_EQ(sink.resynced[1], (std::vector<std::string>{"C6"}));
  EXPECT_EQ(d->call_model().find_call("C5"), nullptr);
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sink.resynced.size(), 2u);
  stop(*d);
}

// Without configured lines the switch lists them (GetSwitchingFunctionDevices, in segments): the
// resync is complete when the last segment came and each listed station's snapshot is in.
TEST_F(DriverTest, WithTheSwitchsListTheResyncEndsAfterItsLastSegment) {
  FakeSwitch sw(io);
  wire::SwitchingFunctionDevices first{"sf1", 1, false, {{"100", "station"}, {"G1", "group"}}};
  wire::SwitchingFunctionDevices last{"sf1", 2, true, {{"101", "station"}}};
  sw.device_list = {first, last};
  sw.snapshot["101"] = {wire::SnapshotDeviceItem{{"C8", "101"}, L::connected}};
  sw.hold_snapshots = {"101"};
  CstaDriverOptions o{.name = "osv", .tenant = base::TenantId("acme"), .link = {}, .devices = {}, .device_caps = {},
                      .fence = nullptr};
  o.link.host = "127.0.0.1";
  o.link.port = sw.port();
  o.link.user = "cb";
  o.link.password = "pw";
  o.link.keepalive = std::chrono::milliseconds(0);
  auto created = CstaDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(created);
  auto& d = *created;
  d->start();
  run_until([&] { return count(sw, "SnapshotDevice") == 2 && sink.lines >= 1; }, "both stations monitored, 100's snapshot in");
  EXPECT_EQ(count(sw, "MonitorStart"), 2) << "stations only";
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(sink.resynced.empty());
  sw.release_snapshots();
  run_until([&] { return !sink.resynced.empty(); }, "the resync reported");
  ASSERT_EQ(sink.resynced.size(), 1u);
  EXPECT_EQ(sink.resynced[0], (std::vector<std::string>{"C8"}));
  stop(*d);
}

TEST_F(DriverTest, OpenScapeStyleStart) {
  FakeSwitch sw(io, true);
  auto d = make(sw, SessionStart::osv);
  d->start();
  run_until([&] { return d->status().connected && d->monitored() == 2; }, "OpenScape-style session and monitors");
  ASSERT_GE(sw.requests.size(), 2u);
  EXPECT_EQ(sw.requests[0], "SystemStatusResponse");
  EXPECT_EQ(sw.requests[1], "SystemRegister");
  auto* r = std::get_if<wire::SystemRegister>(&sw.request_messages[1]);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->user_id, "cb");
  EXPECT_EQ(r->password, "pw");
  stop(*d);
}

TEST_F(DriverTest, RefusedLoginIsRetriedAndReported) {
  FakeSwitch sw(io);
  auto d = make(sw, SessionStart::ecma354, "wrong");
  d->start();
  run_until([&] { return sw.connections >= 2; }, "a second attempt after the refusal");
  EXPECT_FALSE(d->status().connected);
  EXPECT_NE(d->status().last_error.find("invalidApplicationInfo"), std::string::npos) << d->status().last_error;
  EXPECT_EQ(count(sw, "MonitorStart"), 0);
  stop(*d);
}

// DND and forwarding through the switch (ECMA-269 22): read after each monitor, kept current by
// the monitors' events, set with SetDoNotDisturb/SetForwarding; the DND shows as the line state.
TEST_F(DriverTest, DoNotDisturbAndForwardingFromTheSwitch) {
  FakeSwitch sw(io);
  sw.features = true;
  sw.dnd["101"] = true;
  sw.forwarding["100"] = {{wire::ForwardingType::immediate, false, "", std::nullopt},
                          {wire::ForwardingType::no_answer, true, "+4989123456", 4}};
  auto d = make(sw);
  d->start();
  auto* f = d->features();
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->ready()) << "link down";
  run_until([&] { return d->monitored() == 2 && count(sw, "GetForwarding") == 2 && f->ready(); },
            "monitors and the features read");
  EXPECT_EQ(sw.requests[1], "GetCSTAFeatures");
  EXPECT_TRUE(f->line("101").dnd);
  EXPECT_EQ(d->call_model().device_state("101"), model::DeviceState::dnd);
  EXPECT_EQ(f->line("100").no_answer, "+4989123456");
  EXPECT_EQ(f->line("100").no_answer_seconds, 20);
  EXPECT_FALSE(f->line("100").unconditional);

  // The switch reports changes made elsewhere.
  sink.feature_changes.clear();
  sw.event(wire::DoNotDisturbEvent{"m100", wire::EventDevice::of("100"), true});
  sw.event(wire::ForwardingEvent{"m100", wire::EventDevice::of("100"), wire::ForwardingType::immediate, true, "102",
                                 std::nullopt});
  sw.event(wire::DoNotDisturbEvent{"m101", wire::EventDevice::of("101"), true});  // no change
  run_until([&] { return sink.feature_changes.size() >= 2; }, "two changes");
  EXPECT_TRUE(f->line("100").dnd);
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::dnd);
  EXPECT_EQ(f->line("100").unconditional, "102");
  EXPECT_EQ(sink.feature_changes[0], std::vector<std::string>{"100"});

  // Set through the switch: only what differs.
  auto want = f->line("100");
  want.dnd = false;
  want.unconditional.reset();
  want.busy = "+4930555999";
  std::optional<base::Status> done;
  f->set_line("100", want, [&](base::Status s) { done = s; });
  run_until([&] { return done.has_value(); }, "set_line answered");
  ASSERT_TRUE(*done) << done->error().to_string();
  EXPECT_FALSE(f->line("100").dnd);
  EXPECT_EQ(f->line("100").busy, "+4930555999");
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::idle);
  EXPECT_EQ(count(sw, "SetDoNotDisturb"), 1);
  ASSERT_EQ(count(sw, "SetForwarding"), 2);
  std::vector<wire::SetForwarding> sets;
  for (const auto& m : sw.request_messages)
    if (auto* r = std::get_if<wire::SetForwarding>(&m)) sets.push_back(*r);
  EXPECT_EQ(sets[0].type, wire::ForwardingType::immediate);
  EXPECT_FALSE(sets[0].activate);
  EXPECT_EQ(sets[1].type, wire::ForwardingType::busy);
  EXPECT_TRUE(sets[1].activate);
  EXPECT_EQ(sets[1].forward_dn, "+4930555999");
  // Follow-me is not a CSTA feature.
  want.follow_me = "+491701234567";
  done.reset();
  f->set_line("100", want, [&](base::Status s) { done = s; });
  ASSERT_TRUE(done.has_value());
  ASSERT_FALSE(*done);
  EXPECT_EQ(done->error().code(), base::Errc::invalid_argument);
  stop(*d);
  EXPECT_FALSE(f->ready());
}

TEST_F(DriverTest, SwitchWithoutLogicalDeviceFeaturesSaysSo) {
  FakeSwitch sw(io);  // answers GetCSTAFeatures with an error
  auto d = make(sw);
  d->start();
  run_until([&] { return d->monitored() == 2 && count(sw, "SnapshotDevice") == 2; }, "monitors");
  auto st = d->features()->ready();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("offers no DND and forwarding"), std::string::npos) << st.error().message();
  EXPECT_EQ(count(sw, "GetDoNotDisturb"), 0);
  stop(*d);
}

// Cluster mode (docs/cluster.md "Fencing"): a fence that closes while the link is up ends it; what
// the switch sends afterwards is dropped unseen, nothing more is written, commands fail, no new
// connection is made and the calls in progress are not journaled at stop (the new owner's).
struct TestFence final : ports::LinkFence {
  bool ok = true;
  bool valid() const override { return ok; }
  std::uint64_t token() const override { return 7; }
};

std::uint64_t counter(const ports::PbxDriverStatus& st, std::string_view name) {
  for (const auto& [k, v] : st.counters)
    if (k == name) return v;
  return 0;
}

TEST_F(DriverTest, ClosedFenceStopsReadingWritingAndConnecting) {
  FakeSwitch sw(io);
  TestFence fence;
  auto d = make(sw, SessionStart::ecma354, "pw", &fence);
  d->start();
  run_until([&] { return d->status().connected && count(sw, "SnapshotDevice") == 2 && d->monitored() == 2; },
            "session, monitors and snapshots while the fence is valid");
  sw.event(wire::DeliveredEvent{"m100", {"C1", "100"}, wire::EventDevice::of("100"), wire::EventDevice::of("+4989123456"),
                                wire::EventDevice::of("100"), {}, L::alerting, "newCall"});
  run_until([&] { return sink.events.size() == 1; }, "an event while the fence is valid");

  fence.ok = false;  // the lease's deadline passed
  const auto written = sw.requests.size();
  // The switch's next event arrives after the deadline: dropped unseen, and the session ends.
  sw.event(wire::EstablishedEvent{"m100", {"C1", "100"}, wire::EventDevice::of("100"), wire::EventDevice::of("+4989123456"),
                                  wire::EventDevice::of("100"), {}, L::connected, "newCall"});
  run_until([&] { return !d->status().connected; }, "the session ended by the read after the deadline");
  bool refused = false;
  d->commands()->hangup("C1", "100", [&](base::Status s) { refused = !s && s.error().code() == base::Errc::unavailable; });
  EXPECT_TRUE(refused) << "a command is refused at once, not sent";
  run_until([&] { return counter(d->status(), "connect_attempts") >= 3; }, "two more attempts, both fenced");
  EXPECT_FALSE(d->status().connected);
  EXPECT_NE(d->status().last_error.find("this node no longer owns the link (lease lost)"), std::string::npos)
      << d->status().last_error;
  EXPECT_EQ(sink.events.size(), 1u) << "the Established read after the deadline was not applied";
  EXPECT_EQ(d->call_model().device_state("100"), model::DeviceState::ringing);
  EXPECT_EQ(sw.requests.size(), written) << "nothing written after the deadline";
  EXPECT_EQ(sw.connections, 1) << "no connection without the lease";
  stop(*d);
  EXPECT_TRUE(sink.journal.empty()) << "the call in progress is the new owner's to journal";
  EXPECT_EQ(count(sw, "StopApplicationSession"), 0);
}

TEST_F(DriverTest, FenceClosedFromTheStartNeverConnects) {
  FakeSwitch sw(io);
  TestFence fence;
  fence.ok = false;
  auto d = make(sw, SessionStart::ecma354, "pw", &fence);
  d->start();
  run_until([&] { return counter(d->status(), "connect_attempts") >= 2; }, "two attempts");
  EXPECT_EQ(sw.connections, 0);
  EXPECT_NE(d->status().last_error.find("lease lost"), std::string::npos) << d->status().last_error;
  fence.ok = true;  // this node gained the lease again: the next attempt connects
  run_until([&] { return d->status().connected && d->monitored() == 2; }, "connected once the fence is valid");
  stop(*d);
}

TEST_F(DriverTest, ClosedFenceRefusesACommandWithoutWritingIt) {
  FakeSwitch sw(io);
  TestFence fence;
  auto d = make(sw, SessionStart::ecma354, "pw", &fence);
  d->start();
  run_until([&] { return d->status().connected && count(sw, "SnapshotDevice") == 2; }, "session up");
  fence.ok = false;
  const auto written = sw.requests.size();
  std::optional<base::Status> made;
  d->commands()->make_call({.from_device = "100", .first_leg_dial_string = std::nullopt, .dial_string = "101",
                            .caller_id_name = "", .caller_id_number = "", .request_id = "r1", .on_outcome = {}},
                           [&](base::Status s) { made = s; });
  ASSERT_TRUE(made) << "answered at once";
  ASSERT_FALSE(*made);
  EXPECT_EQ(made->error().code(), base::Errc::unavailable);
  EXPECT_NE(made->error().message().find("no longer owns the link"), std::string::npos) << made->error().message();
  run_until([&] { return !d->status().connected; }, "the link closed");
  EXPECT_EQ(sw.requests.size(), written);
  EXPECT_EQ(count(sw, "MakeCall"), 0);
  stop(*d);
}

TEST(CstaDriverCreate, RefusesBadOptions) {
  asio::io_context io;
  Sink sink;
  CstaDriverOptions o{.name = "x", .tenant = base::TenantId("acme"), .link = {}, .devices = {}, .device_caps = {},
                      .fence = nullptr};
  o.link.host = "127.0.0.1";
  o.link.user = "u";
  EXPECT_FALSE(CstaDriver::create(io.get_executor(), o, sink));  // no password
  o.link.password = "p";
  o.link.host = "";
  EXPECT_FALSE(CstaDriver::create(io.get_executor(), o, sink));
}

}  // namespace
}  // namespace callbridge::drivers::csta
