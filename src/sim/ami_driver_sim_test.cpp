// The daemon's AMI driver (drivers/ami AmiDriver, a ports::PbxDriver) against the simulator's
// AMI server over a real socket (port 0): what demo mode runs. Call events, line changes and the
// journal entry of one inbound call reach the driver's sink, all of the driver's tenant; status
// shows the link; stop() ends cleanly.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <algorithm>
#include <optional>
#include <span>
#include <thread>

#include "drivers/ami/ami_driver.hpp"
#include "sim/flows.hpp"
#include "sim/sim_server.hpp"

namespace callbridge::sim {
namespace {

using namespace std::chrono_literals;

// The driver's options for the simulator listening on `port` (its lab login, no reconnect backoff).
drivers::ami::AmiDriverOptions sim_driver_options(std::uint16_t port) {
  drivers::ami::AmiDriverOptions o{.name = "sim",
                                   .tracker = {.tenant = base::TenantId("acme")},
                                   .link = {},
                                   .commands = {},
                                   .device_caps = {},
                                   .open_state = nullptr};
  o.link.session.host = "127.0.0.1";
  o.link.session.port = port;
  o.link.protocol.username = "cti";
  o.link.protocol.secret = "cti-secret";
  o.link.backoff = net::BackoffPolicy::none();
  return o;
}

struct RecordingSink final : ports::PbxEventSink {
  std::vector<model::CallEvent> events;
  std::vector<model::JournalEntry> entries;
  int line_changes = 0;
  std::vector<std::optional<model::ChannelUsage>> channels;  // the call's, as each event left it
  void on_call_event(const model::CallEvent& e, const model::CallModel& m) override {
    EXPECT_EQ(m.tenant(), e.tenant);
    events.push_back(e);
    channels.push_back(m.channel_usage(e.call_id));
  }
  void on_lines_changed(const model::CallModel&) override { ++line_changes; }
  void on_journal_entry(model::JournalEntry e) override { entries.push_back(std::move(e)); }
  // Each resync's calls (PbxEventSink::on_calls_resynced), sorted, and how many events came before.
  std::vector<std::pair<std::vector<std::string>, std::size_t>> resynced;
  void on_calls_resynced(const model::CallModel& m) override {
    std::vector<std::string> ids;
    for (const auto& [id, c] : m.calls()) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    resynced.emplace_back(std::move(ids), events.size());
  }
};

template <typename Pred>
bool run_until(boost::asio::io_context& io, Pred done) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.restart();
    io.run_one_for(20ms);
  }
  return done();
}

// The simulator (`lab`, `speed` simulated seconds per real second, `first` run at the driver's
// first login) on a free port in a thread of its own, and an AmiDriver on it recording into
// `sink`, started; stop() stops both in order (the driver first). `error` says why it could not.
class SimAndDriver {
 public:
  explicit SimAndDriver(LabConfig lab, int speed = 10, std::function<void(SimEngine&)> first = {})
      : engine_(std::move(lab),
                std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()), nullptr),
        server_(options(speed), engine_) {
    auto port = server_.listen();
    if (!port) {
      error = port.error().message();
      return;
    }
    if (first) server_.on_first_login(std::move(first));
    sim_ = std::thread([this] { server_.run(); });
    auto d = drivers::ami::AmiDriver::create(io.get_executor(), sim_driver_options(*port), sink);
    if (!d) {
      error = d.error().message();
      return;
    }
    driver_ = std::move(*d);
    driver_->start();
  }
  ~SimAndDriver() { stop(); }
  ports::PbxDriver& d() { return *driver_; }
  void stop() {
    if (driver_) {
      bool stopped = false;
      driver_->stop([&] { stopped = true; });
      EXPECT_TRUE(run_until(io, [&] { return stopped; }));
      driver_.reset();
    }
    if (sim_.joinable()) {
      server_.stop();
      sim_.join();
    }
  }
  // The call id of `device`'s latest event of `type` (empty: none yet).
  std::string last_call(std::string_view device, model::CallEventType type) const {
    for (auto it = sink.events.rbegin(); it != sink.events.rend(); ++it)
      if (it->device == device && it->type == type) return it->call_id;
    return {};
  }

  boost::asio::io_context io;
  RecordingSink sink;
  std::string error;

 private:
  static SimServerOptions options(int speed) {
    SimServerOptions so;
    so.port = 0;
    so.speed = speed;
    return so;
  }
  SimEngine engine_;
  SimServer server_;
  std::thread sim_;
  std::unique_ptr<drivers::ami::AmiDriver> driver_;
};

TEST(AmiDriverOverSimulator, DeliversEventsLinesAndJournalToItsSinkAndStops) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 0;  // no waiting: the call plays as fast as the client reads
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) { start_inbound(e, {.ring = 2s, .talk = 3s}); });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  const base::TenantId tenant("acme");
  auto o = sim_driver_options(*port);  // tenant "acme"
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  EXPECT_EQ(d.tenant(), tenant);
  EXPECT_NE(d.commands(), nullptr);
  d.start();

  ASSERT_TRUE(run_until(io, [&] { return !sink.entries.empty(); })) << "no journal entry";
  auto st = d.status();
  EXPECT_TRUE(st.connected);
  EXPECT_EQ(st.peer, "127.0.0.1:" + std::to_string(*port));
  ASSERT_FALSE(sink.events.empty());
  bool delivered = false, established = false;
  for (const auto& e : sink.events) {
    EXPECT_EQ(e.tenant, tenant);
    delivered |= e.type == model::CallEventType::delivered;
    established |= e.type == model::CallEventType::established;
  }
  EXPECT_TRUE(delivered);
  EXPECT_TRUE(established);
  EXPECT_GT(sink.line_changes, 0) << "the resync's device state lists change lines";
  for (const auto& e : sink.entries) EXPECT_EQ(e.tenant, tenant);
  EXPECT_EQ(d.call_model().tenant(), tenant);
  std::uint64_t journal_entries = 0;
  for (const auto& [k, v] : st.counters)
    if (k == "journal_entries") journal_entries = v;
  EXPECT_EQ(journal_entries, sink.entries.size());

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  EXPECT_EQ(d.status().state, "stopped");
  EXPECT_FALSE(d.status().connected);
  server.stop();
  sim.join();
}

// Issue 19 (cluster mode, docs/cluster.md): once the login's resync has placed the PBX's calls in
// the model, the driver says so (PbxEventSink::on_calls_resynced: every node's mirror drops the
// link's calls the list does not name); a call that was in progress before the driver connected is
// listed, with the events of it before the notice. Once per login.
TEST(AmiDriverOverSimulator, TheSinkHearsThatTheResyncPlacedThePbxsCalls) {
  // Real time (the call still rings when the resync ends); the call starts at the login, before
  // the resync's lists are asked for.
  SimAndDriver r(LabConfig{}, 1, [](SimEngine& e) { start_inbound(e, {.ring = 30s, .talk = 3s}); });
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_TRUE(run_until(r.io, [&] { return !r.sink.resynced.empty(); })) << "no resync notice";
  const auto [ids, events_before] = r.sink.resynced.front();
  ASSERT_EQ(ids.size(), 1u) << "the ringing call";
  bool seen = false;
  for (std::size_t i = 0; i < events_before; ++i)
    seen |= r.sink.events[i].call_id == ids[0] && r.sink.events[i].device == "100";
  EXPECT_TRUE(seen) << "the call's events came first";
  EXPECT_EQ(r.d().call_model().calls().size(), 1u);
  // Nothing else resyncs while the session lasts.
  const auto settle = std::chrono::steady_clock::now() + 300ms;
  run_until(r.io, [&] { return std::chrono::steady_clock::now() > settle; });
  EXPECT_EQ(r.sink.resynced.size(), 1u);
}

// Issue 13: the driver's remote answer/hold/retrieve (PJSIPNotify, docs/call-control.md) work on
// the simulator's phones in real time, as in demo mode: the ringing call connects long before its
// caller would give up, holds and resumes.
TEST(AmiDriverOverSimulator, RemoteAnswerHoldAndRetrieveReachTheSimulatedPhone) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;  // real time: the phone would ring for a minute
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "100", .outcome = Outcome::missed, .ring = 60s, .talk = 600s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto o = sim_driver_options(*port);
  o.device_caps = [](std::string_view) { return model::DeviceCaps{true, true}; };
  o.commands.phone = [](std::string_view) { return drivers::ami::PhoneNotifyEvents{"talk", "hold", "talk"}; };
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  auto event_of_100 = [&](model::CallEventType t) -> const model::CallEvent* {
    for (const auto& e : sink.events)
      if (e.device == "100" && e.type == t) return &e;
    return nullptr;
  };
  ASSERT_TRUE(run_until(io, [&] { return event_of_100(model::CallEventType::delivered) != nullptr; }));
  const std::string call = event_of_100(model::CallEventType::delivered)->call_id;
  EXPECT_TRUE(model::has(event_of_100(model::CallEventType::delivered)->allowed_actions, model::Action::answer));

  std::optional<base::Status> answered, held, retrieved;
  const auto t0 = std::chrono::steady_clock::now();
  d.commands()->answer(call, "100", [&](base::Status st) { answered = st; });
  ASSERT_TRUE(run_until(io, [&] { return event_of_100(model::CallEventType::established) != nullptr; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "connected by the NOTIFY, not after the 60 s ring";
  ASSERT_TRUE(answered && *answered) << (answered ? answered->error().message() : "no answer");

  d.commands()->hold(call, "100", [&](base::Status st) { held = st; });
  ASSERT_TRUE(run_until(io, [&] { return event_of_100(model::CallEventType::held) != nullptr; }));
  ASSERT_TRUE(held && *held);
  d.commands()->retrieve(call, "100", [&](base::Status st) { retrieved = st; });
  ASSERT_TRUE(run_until(io, [&] { return event_of_100(model::CallEventType::retrieved) != nullptr; }));
  ASSERT_TRUE(retrieved && *retrieved);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issues 13/17: directed pickup on the simulator as on Asterisk 22 (live_pickup_via_api): the
// driver's pickup (Originate into PickupChan) rings 102, which answers after 2 s and talks to the
// caller that rang 101; the journal has 101 answered_elsewhere and 102 inbound answered. A second
// pickup of the same call, no longer ringing at 101, is refused at once (no channel to take).
TEST(AmiDriverOverSimulator, PickupHandsTheCallerRingingAt101To102) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;  // real time: 101 rings for a minute, the picker's phone 2 s
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "101", .outcome = Outcome::missed, .ring = 60s, .talk = 600s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto o = sim_driver_options(*port);
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  auto event_of = [&](std::string_view dev, model::CallEventType t) -> const model::CallEvent* {
    for (const auto& e : sink.events)
      if (e.device == dev && e.type == t) return &e;
    return nullptr;
  };
  ASSERT_TRUE(run_until(io, [&] { return event_of("101", model::CallEventType::delivered) != nullptr; }));
  const std::string call = event_of("101", model::CallEventType::delivered)->call_id;

  std::optional<base::Status> sent, taken;
  d.commands()->pickup(call, "101", "102", "+4989123456", [&](base::Status st) { sent = st; },
                       [&](base::Status st) { taken = st; });
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& [id, c] : d.call_model().calls())
      for (const auto& conn : c.connections)
        if (conn.device == "102" && conn.state == model::ConnectionState::connected && conn.remote == "+4989123456")
          return true;
    return false;
  })) << "102 never talked to the caller";
  ASSERT_TRUE(sent && *sent) << (sent ? sent->error().message() : "no answer");
  ASSERT_TRUE(run_until(io, [&] { return taken.has_value(); })) << "no final word on the pickup";
  EXPECT_TRUE(*taken) << taken->error().message();
  std::string picked;
  for (const auto& [id, c] : d.call_model().calls())
    for (const auto& conn : c.connections)
      if (conn.device == "102") picked = id;

  // Too late for 103: the call no longer rings at 101 (its channel is gone): not_found at once.
  std::optional<base::Status> late;
  d.commands()->pickup(call, "101", "103", "", [&](base::Status st) { late = st; }, {});
  ASSERT_TRUE(late);
  EXPECT_EQ(late->error().code(), base::Errc::not_found);

  std::optional<base::Status> hung;
  d.commands()->hangup(picked, "102", [&](base::Status st) { hung = st; });
  ASSERT_TRUE(run_until(io, [&] { return sink.entries.size() >= 2; })) << sink.entries.size();
  std::map<std::string, model::JournalEntry> by_party;
  for (const auto& e : sink.entries) by_party.emplace(e.party, e);
  ASSERT_TRUE(by_party.contains("101") && by_party.contains("102"));
  EXPECT_EQ(by_party.at("101").disposition, model::Disposition::answered_elsewhere);
  EXPECT_EQ(by_party.at("101").remote, "+4989123456");
  EXPECT_EQ(by_party.at("102").disposition, model::Disposition::answered);
  EXPECT_EQ(by_party.at("102").direction, model::Direction::inbound);
  EXPECT_EQ(by_party.at("102").remote, "+4989123456");
  EXPECT_EQ(sink.entries.size(), 2u);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 13: a pickup too late (as live_pickup_too_late on Asterisk 22): 101 answers after 1 s
// while the picker 102's phone rings 2 s; the Originate was accepted, but PickupChan finds nothing,
// so the pickup's final word is not_found and the caller stays with 101; no entry for 102.
TEST(AmiDriverOverSimulator, PickupThatFindsTheCallAnsweredSaysNothingToPickUp) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;  // real time: 101 answers after 1 s, the picker's phone after 2 s
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "101", .outcome = Outcome::answered, .ring = 1s, .talk = 2s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto o = sim_driver_options(*port);
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  std::string call;
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& e : sink.events)
      if (e.device == "101" && e.type == model::CallEventType::delivered) call = e.call_id;
    return !call.empty();
  }));
  std::optional<base::Status> sent, outcome;
  d.commands()->pickup(call, "101", "102", "+4989123456", [&](base::Status st) { sent = st; },
                       [&](base::Status st) { outcome = st; });
  ASSERT_TRUE(run_until(io, [&] { return outcome.has_value(); })) << "no final word on the pickup";
  ASSERT_TRUE(sent && *sent) << (sent ? sent->error().message() : "no answer");
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().code(), base::Errc::not_found) << outcome->error().message();
  EXPECT_NE(outcome->error().message().find("nothing to pick up"), std::string::npos) << outcome->error().message();
  ASSERT_TRUE(run_until(io, [&] { return !sink.entries.empty() && d.call_model().calls().empty(); }));
  // EXPECT, not ASSERT: a wrong count still stops the driver and joins the simulator below (an
  // ASSERT returned with the thread joinable and aborted the binary), and names every entry, so
  // a rare failure under load says which extra entry came.
  EXPECT_EQ(sink.entries.size(), 1u);
  if (sink.entries.size() != 1u)
    for (const auto& e : sink.entries) ADD_FAILURE() << "entry: " << model::to_json_line(e);
  if (!sink.entries.empty()) {
    EXPECT_EQ(sink.entries[0].party, "101");
    EXPECT_EQ(sink.entries[0].disposition, model::Disposition::answered);
  }

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 13: Cancel of a consultation on the simulator as on Asterisk 22 (tests/live
// consult_cancel_api): 101 talks to a caller and consults 102 (AMI Atxfer); 102 answers; the
// driver's hangup of the consultation (the web client's Cancel) hangs up the consulted side, and
// the simulator returns 101 to the caller instead of completing the transfer. Journal: 101's call
// with the caller is not transferred.
TEST(AmiDriverOverSimulator, CancelOfAnAtxferConsultationReturnsToTheCaller) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;  // real time: the target answers after the Atxfer's ring, the transfer completes 2.6 s later
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "101", .outcome = Outcome::answered, .ring = 500ms, .talk = 8s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto o = sim_driver_options(*port);
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  auto call_with = [&](std::string_view dev, model::ConnectionState st, std::optional<std::string> remote) {
    for (const auto& [id, c] : d.call_model().calls())
      for (const auto& conn : c.connections)
        if (conn.device == dev && conn.state == st && (!remote || conn.remote == remote)) return id;
    return std::string();
  };
  std::string call;
  ASSERT_TRUE(run_until(io, [&] { return !(call = call_with("101", model::ConnectionState::connected, "+4989123456")).empty(); }));
  std::optional<base::Status> consulted;
  d.commands()->consult(call, "101", "102", [&](base::Status st) { consulted = st; });
  std::string consult;
  ASSERT_TRUE(run_until(io, [&] { return !(consult = call_with("102", model::ConnectionState::connected, std::nullopt)).empty(); }))
      << "102 never answered the consultation";
  ASSERT_TRUE(consulted && *consulted);
  ASSERT_NE(consult, call);
  std::optional<base::Status> cancelled;
  d.commands()->hangup(consult, "101", [&](base::Status st) { cancelled = st; });
  ASSERT_TRUE(run_until(io, [&] {
    return cancelled.has_value() && call_with("102", model::ConnectionState::connected, std::nullopt).empty() &&
           call_with("101", model::ConnectionState::connected, "+4989123456") == call;
  })) << "101 is not back with the caller";
  ASSERT_TRUE(*cancelled) << cancelled->error().message();
  // The caller hangs up after the talk: 101's entry is the answered call, not transferred.
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& e : sink.entries)
      if (e.party == "101" && e.direction == model::Direction::inbound) return true;
    return false;
  }));
  for (const auto& e : sink.entries) {
    if (e.party != "101" || e.direction != model::Direction::inbound) continue;
    EXPECT_EQ(e.disposition, model::Disposition::answered);
    EXPECT_EQ(e.remote, "+4989123456");
    EXPECT_FALSE(e.transferred_to) << *e.transferred_to;
  }

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 17: the device registry over the simulator. The resync lists the lab's phones with the
// User-Agents of real models (model and firmware parsed) and the trunk's configured contact; a
// phone that unregisters turns unregistered and offline (ContactStatus Removed, DeviceStateChange
// UNAVAILABLE), registering again asks PJSIPShowEndpoint for its User-Agent; every change reaches
// the sink; forget_device() removes a device and says so.
TEST(AmiDriverOverSimulator, DeviceRegistryFollowsRegistrationsOfTheSimulatedPhones) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 0;
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  std::thread sim([&] { server.run(); });

  struct DeviceSink final : ports::PbxEventSink {
    std::vector<std::string> changed;
    void on_call_event(const model::CallEvent&, const model::CallModel&) override {}
    void on_lines_changed(const model::CallModel&) override {}
    void on_journal_entry(model::JournalEntry) override {}
    void on_devices_changed(const model::DeviceRegistry&, std::span<const std::string> ids) override {
      changed.insert(changed.end(), ids.begin(), ids.end());
    }
  } sink;
  boost::asio::io_context io;
  auto o = sim_driver_options(*port);
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  ASSERT_NE(d.devices(), nullptr);
  d.start();
  const model::DeviceRegistry& reg = *d.devices();
  auto dev = [&](std::string_view ep) { return reg.find(ep); };
  ASSERT_TRUE(run_until(io, [&] { return reg.size() == 7 && dev("105") && !dev("105")->user_agent.empty(); }))
      << reg.size() << " devices";
  ASSERT_NE(dev("100"), nullptr);
  EXPECT_EQ(dev("100")->agent, (model::UserAgentInfo{"Yealink", "SIP-T46S", "66.86.0.15"}));
  EXPECT_EQ(dev("101")->agent, (model::UserAgentInfo{"snom", "D785", "10.1.54.13"}));
  EXPECT_EQ(dev("105")->agent, (model::UserAgentInfo{"", "MicroSIP", "3.21.3"}));
  EXPECT_EQ(dev("100")->address(), "127.0.0.1:5100");
  EXPECT_EQ(dev("100")->registration(), model::Registration::registered);
  EXPECT_EQ(dev("100")->status, model::DeviceStatus::on_hook);
  EXPECT_EQ(dev("trunk")->registration(), model::Registration::static_contact);
  // The first resync: the endpoint list creates it, the contact list adds the registration.
  const auto first = std::count(sink.changed.begin(), sink.changed.end(), "sim:100");
  EXPECT_TRUE(first == 1 || first == 2) << first;

  sink.changed.clear();
  server.post([](SimEngine& e) { e.model().set_registered("104", false); });
  ASSERT_TRUE(run_until(io, [&] {
    return dev("104")->registration() == model::Registration::unregistered && dev("104")->status == model::DeviceStatus::offline;
  }));
  EXPECT_TRUE(dev("104")->last_seen.has_value());
  EXPECT_NE(std::find(sink.changed.begin(), sink.changed.end(), "sim:104"), sink.changed.end());

  server.post([](SimEngine& e) { e.model().set_registered("104", true); });
  ASSERT_TRUE(run_until(io, [&] {
    return dev("104")->registration() == model::Registration::registered && !dev("104")->user_agent.empty();
  }));
  EXPECT_EQ(dev("104")->agent, (model::UserAgentInfo{"Polycom", "VVX_411", "5.9.5.0614"}));  // from PJSIPShowEndpoint
  EXPECT_EQ(dev("104")->sip_user, "104");
  EXPECT_EQ(dev("104")->status, model::DeviceStatus::on_hook);
  std::uint64_t asked = 0;
  for (const auto& [k, v] : d.status().counters)
    if (k == "device_detail_requests") asked = v;
  EXPECT_GE(asked, 1u);

  sink.changed.clear();
  EXPECT_FALSE(d.forget_device("sim:nope"));
  EXPECT_TRUE(d.forget_device("sim:102"));
  EXPECT_EQ(dev("102"), nullptr);
  EXPECT_EQ(sink.changed, std::vector<std::string>{"sim:102"});

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 17: the queue over the simulator: the resync's QueueStatus lists the demo queue with its two
// static agents; a caller waiting appears at position 1 and leaves when 102 answers (answered
// today); 103 logs in (QueueAdd), pauses with a reason, unpauses, logs out (QueueRemove) through
// the driver's queue_member; the PBX's refusals come back as errors.
TEST(AmiDriverOverSimulator, QueueStateAndAgentChangesFollowTheSimulatedQueue) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;  // real time: the caller waits 1 s before 102 answers
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  std::thread sim([&] { server.run(); });

  struct QueueSink final : ports::PbxEventSink {
    int changes = 0;
    void on_call_event(const model::CallEvent&, const model::CallModel&) override {}
    void on_lines_changed(const model::CallModel&) override {}
    void on_journal_entry(model::JournalEntry) override {}
    void on_queues_changed(const model::QueueState&, std::span<const std::string> names) override {
      changes += static_cast<int>(names.size());
    }
  } sink;
  boost::asio::io_context io;
  auto o = sim_driver_options(*port);
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  ASSERT_NE(d.queues(), nullptr);
  d.start();
  const model::QueueState& qs = *d.queues();
  auto q = [&] { return qs.find("support"); };
  ASSERT_TRUE(run_until(io, [&] { return q() && q()->members.size() == 2; }));
  EXPECT_EQ(q()->strategy, "ringall");
  EXPECT_NE(q()->member_by_device("101"), nullptr);
  // The queue's wrapuptime from GetConfig queues.conf after the resync.
  ASSERT_TRUE(run_until(io, [&] { return q()->wrapup_seconds.has_value(); }));
  EXPECT_EQ(*q()->wrapup_seconds, 0);

  server.post([](SimEngine& e) { start_queue(e, {.caller = "+4989123456", .answered_by = "102", .ring = 1s, .talk = 1s}); });
  ASSERT_TRUE(run_until(io, [&] { return q()->callers.size() == 1; }));
  EXPECT_EQ(q()->callers[0].position, 1);
  EXPECT_EQ(q()->callers[0].number, "+4989123456");
  ASSERT_TRUE(run_until(io, [&] { return q()->callers.empty() && q()->answered_today == 1; }));

  using Op = ports::QueueMemberRequest::Op;
  auto send = [&](ports::QueueMemberRequest r) {
    std::optional<base::Status> got;
    d.queue_member(r, [&](base::Status st) { got = st; });
    EXPECT_TRUE(run_until(io, [&] { return got.has_value(); }));
    return got.value_or(base::fail(base::Error::timeout("no answer")));
  };
  ASSERT_TRUE(send({.op = Op::add, .queue = "support", .device = "103", .member_name = "Dora Delta"}));
  ASSERT_TRUE(run_until(io, [&] { return q()->member_by_device("103") != nullptr; }));
  EXPECT_EQ(q()->member_by_device("103")->membership, "dynamic");
  EXPECT_EQ(q()->member_by_device("103")->name, "Dora Delta");
  ASSERT_TRUE(send({.op = Op::pause, .queue = "support", .device = "103", .reason = "lunch break"}));
  ASSERT_TRUE(run_until(io, [&] { return q()->member_by_device("103")->paused; }));
  EXPECT_EQ(q()->member_by_device("103")->paused_reason, "lunch break");
  EXPECT_EQ(q()->state(*q()->member_by_device("103"), base::Timestamp{}), model::AgentState::paused);
  ASSERT_TRUE(send({.op = Op::unpause, .queue = "support", .device = "103"}));
  ASSERT_TRUE(run_until(io, [&] { return !q()->member_by_device("103")->paused; }));
  // The PBX refuses to remove a static member.
  auto refused = send({.op = Op::remove, .queue = "support", .device = "101"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), base::Errc::conflict);
  EXPECT_EQ(refused.error().message(), "Member not dynamic");
  ASSERT_TRUE(send({.op = Op::remove, .queue = "support", .device = "103"}));
  ASSERT_TRUE(run_until(io, [&] { return q()->member_by_device("103") == nullptr; }));
  EXPECT_GT(sink.changes, 5);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

}  // namespace
}  // namespace callbridge::sim

namespace callbridge::sim {
namespace {

struct ParkingSink final : ports::PbxEventSink {
  std::vector<model::CallEvent> events;
  std::vector<model::JournalEntry> entries;
  std::vector<model::ParkingChange> parking;
  void on_call_event(const model::CallEvent& e, const model::CallModel&) override { events.push_back(e); }
  void on_lines_changed(const model::CallModel&) override {}
  void on_journal_entry(model::JournalEntry e) override { entries.push_back(std::move(e)); }
  void on_parking_changed(const model::ParkingState&, std::span<const model::ParkingChange> c) override {
    parking.insert(parking.end(), c.begin(), c.end());
  }
};

// docs/parking.md on the simulator as on the lab's Asterisk 22: 101 talks to a caller and parks
// it through the driver (Park): the space (701) comes from ParkedCall and the parking state lists
// the caller, parked by 101; 101's leg ends. A reconnect's ParkedCalls resync keeps it. 102
// retrieves it (Originate into ParkedCall(default,701)): UnParkedCall, 102 talks to the caller,
// the state is empty; the journal: 101 transferred_to 701, 102 inbound from the caller,
// transferred_from 101. A second retrieval of the empty space fails with not_found.
TEST(AmiDriverOverSimulator, ParkAndUnparkThroughTheDriver) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "101", .ring = 1s, .talk = 600s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  ParkingSink sink;
  auto o = sim_driver_options(*port);
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  auto connected = [&](std::string_view dev) -> std::string {
    for (const auto& [id, c] : d.call_model().calls())
      for (const auto& conn : c.connections)
        if (conn.device == dev && conn.state == model::ConnectionState::connected && conn.remote == "+4989123456")
          return id;
    return "";
  };
  ASSERT_TRUE(run_until(io, [&] { return !connected("101").empty(); }));
  const std::string call = connected("101");
  const auto* conn = d.call_model().find_call(call);
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(model::has(d.call_model().allowed_actions(*conn, "101"), model::Action::park));

  std::optional<base::Status> sent;
  std::optional<base::Result<std::string>> space;
  d.commands()->park(call, "101", "default", [&](base::Status st) { sent = st; },
                     [&](base::Result<std::string> s) { space = std::move(s); });
  ASSERT_TRUE(run_until(io, [&] { return space.has_value() && sent.has_value(); })) << "no ParkedCall";
  ASSERT_TRUE(*sent) << sent->error().message();
  ASSERT_TRUE(*space) << space->error().message();
  EXPECT_EQ(**space, "701");
  ASSERT_NE(d.parking(), nullptr);
  const auto* parked = d.parking()->find("default", "701");
  ASSERT_NE(parked, nullptr);
  EXPECT_EQ(parked->number, "+4989123456");
  EXPECT_EQ(parked->parker, "101");
  ASSERT_TRUE(parked->times_out_at);
  ASSERT_FALSE(sink.parking.empty());
  EXPECT_EQ(sink.parking[0].kind, model::ParkingChange::Kind::parked);
  ASSERT_TRUE(run_until(io, [&] { return connected("101").empty(); })) << "101 stayed in the call";

  std::optional<base::Status> taken;
  d.commands()->unpark(ports::UnparkRequest{.from_device = "102", .lot = "default", .space = "701",
                                            .caller_id = "+4989123456"},
                       [](base::Status) {}, [&](base::Status st) { taken = st; });
  ASSERT_TRUE(run_until(io, [&] { return taken.has_value() && !connected("102").empty(); })) << "102 never took it";
  EXPECT_TRUE(*taken) << taken->error().message();
  EXPECT_EQ(d.parking()->size(), 0u);
  ASSERT_GE(sink.parking.size(), 2u);
  EXPECT_EQ(sink.parking.back().reason, model::ParkingChange::Reason::retrieved);
  EXPECT_EQ(sink.parking.back().by, "102");

  // Nothing at 701 any more: the phone answers, ParkedCall() finds nothing, not_found.
  std::optional<base::Status> empty;
  d.commands()->unpark(ports::UnparkRequest{.from_device = "103", .lot = "default", .space = "701"},
                       [](base::Status) {}, [&](base::Status st) { empty = st; });
  ASSERT_TRUE(run_until(io, [&] { return empty.has_value(); }));
  ASSERT_FALSE(*empty);
  EXPECT_EQ(empty->error().code(), base::Errc::not_found);

  std::optional<base::Status> hung;
  d.commands()->hangup(connected("102"), "102", [&](base::Status st) { hung = st; });
  ASSERT_TRUE(run_until(io, [&] { return sink.entries.size() >= 2; })) << sink.entries.size();
  std::map<std::string, model::JournalEntry> by_party;
  for (const auto& e : sink.entries) by_party.emplace(e.party, e);
  ASSERT_TRUE(by_party.contains("101") && by_party.contains("102"));
  EXPECT_EQ(by_party.at("101").transferred_to, "701");
  EXPECT_EQ(by_party.at("101").disposition, model::Disposition::answered);
  EXPECT_EQ(by_party.at("102").direction, model::Direction::inbound);
  EXPECT_EQ(by_party.at("102").remote, "+4989123456");
  EXPECT_EQ(by_party.at("102").transferred_from, "101");

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 14 (demo mode shows AnyDevice): callbridge's AnyDevice make call against the simulator as
// against the lab (live_make_call_from_mobile): the Originate of Local/<mobile>@from-internal with
// CALLBRIDGE_PARTY=100 rings the mobile behind the trunk, which answers after its delay; then the
// destination; the Local pair optimizes away. The driver shows it as 100's call carried by the
// mobile: 2 trunk channels, no internal one, and a journal entry of 100 with the device.
TEST(AmiDriverOverSimulator, AnyDeviceMakeCallRingsTheMobileBehindTheTrunkFirst) {
  LabConfig lab;
  lab.mobile_answer = 2s;
  SimEngine engine(lab, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 10;  // ten simulated seconds a second: the desk phone's call below overlaps ours
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  // Meanwhile a caller rings the desk phone (the demo's traffic does that): two calls of 100.
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "100", .outcome = Outcome::missed, .ring = 30s, .talk = 1s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), sim_driver_options(*port), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  ASSERT_TRUE(run_until(io, [&] { return d.status().connected && d.commands()->available(); }));
  ports::MakeCallRequest r{.from_device = "100", .first_leg_dial_string = "01701234567", .dial_string = "089123456",
                           .caller_id_name = "+4930555100", .caller_id_number = "+4930555100", .request_id = "c2d-0001"};
  std::optional<base::Status> accepted;
  std::optional<model::ChannelUsage> talking;
  d.commands()->make_call(r, [&](base::Status st) { accepted = st; });
  ASSERT_TRUE(run_until(io, [&] { return sink.entries.size() == 2; })) << "no journal entries";
  for (std::size_t i = 0; i < sink.events.size(); ++i)
    if (sink.events[i].device == "100" && sink.events[i].type == model::CallEventType::established)
      talking = sink.channels[i];
  ASSERT_TRUE(accepted && *accepted) << (accepted ? accepted->error().message() : "no answer");
  ASSERT_TRUE(talking) << "100 never talked";
  EXPECT_EQ(talking->trunk, 2u);
  EXPECT_EQ(talking->internal, 0u);
  EXPECT_EQ(d.channel_usage().trunk_peak, 3u);  // and the desk phone's caller
  ASSERT_EQ(sink.entries.size(), 2u);
  const auto& e = sink.entries[0].direction == model::Direction::outbound ? sink.entries[0] : sink.entries[1];
  EXPECT_EQ(e.party, "100");
  EXPECT_EQ(e.direction, model::Direction::outbound);
  EXPECT_EQ(e.disposition, model::Disposition::answered);
  EXPECT_EQ(e.remote, "089123456");  // no dialing plan here: as dialled
  EXPECT_EQ(e.device_number, "+491701234567");
  // The simulator shows real time, ten simulated seconds per second: the mobile's 2 s and the
  // destination's 2 s of ringing are 0.4 s, its 20 s of talk 2 s.
  EXPECT_NEAR(e.ring_s(), 0.4, 0.25) << model::to_json_line(e);
  EXPECT_NEAR(e.talk_s(), 2.0, 0.5) << model::to_json_line(e);
  EXPECT_GT(e.trunk_channel_s, e.talk_s() * 2);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 14, hold of a call on the mobile (docs/call-control.md "Hold on an external device"): with
// callbridge's dialplan (version 2, [callbridge-hold]) the connection of a call carried by the
// mobile offers hold and retrieve although no phone can be asked; hold moves both channels to music
// on hold (Setvar, Setvar, dual Redirect), retrieve bridges them again (AMI Bridge). The call keeps
// its id; the entry of 100 is answered, carried by the mobile (its time on hold: the live scenario
// hold_and_retrieve_on_mobile and its fixture, where the hold lasts 2 s).
TEST(AmiDriverOverSimulator, AnyDeviceCallIsHeldAndRetrievedByThePbx) {
  LabConfig lab;
  lab.mobile_answer = 1s;
  lab.callbridge_dialplan = true;
  SimAndDriver r(lab);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ports::PbxDriver& d = r.d();
  ASSERT_TRUE(run_until(r.io, [&] { return d.status().connected && d.commands()->available() && d.features()->ready(); }));
  ports::MakeCallRequest m{.from_device = "100", .first_leg_dial_string = "+491701234567", .dial_string = "089123456",
                           .caller_id_name = "", .caller_id_number = "+4930555100", .request_id = "c2d-0001"};
  d.commands()->make_call(m, [](base::Status) {});
  auto last_of = [&](model::CallEventType type) -> const model::CallEvent* {
    for (auto it = r.sink.events.rbegin(); it != r.sink.events.rend(); ++it)
      if (it->device == "100" && it->type == type) return &*it;
    return nullptr;
  };
  ASSERT_TRUE(run_until(r.io, [&] { return last_of(model::CallEventType::established) != nullptr; }));
  const model::CallEvent established = *last_of(model::CallEventType::established);
  EXPECT_TRUE(model::has(established.allowed_actions, model::Action::hold)) << "the PBX holds a call on the mobile";
  const std::string call = established.call_id;

  std::optional<base::Status> held, retrieved;
  d.commands()->hold(call, "100", [&](base::Status st) { held = st; });
  ASSERT_TRUE(run_until(r.io, [&] { return held && last_of(model::CallEventType::held); })) << "never held";
  ASSERT_TRUE(*held) << held->error().message();
  EXPECT_EQ(last_of(model::CallEventType::held)->call_id, call);
  EXPECT_TRUE(model::has(last_of(model::CallEventType::held)->allowed_actions, model::Action::retrieve));
  EXPECT_EQ(d.channel_usage().trunk, 2u) << "both parties wait on hold";
  d.commands()->retrieve(call, "100", [&](base::Status st) { retrieved = st; });
  ASSERT_TRUE(run_until(r.io, [&] { return retrieved && last_of(model::CallEventType::retrieved); })) << "never retrieved";
  ASSERT_TRUE(*retrieved) << retrieved->error().message();
  EXPECT_EQ(last_of(model::CallEventType::retrieved)->call_id, call) << "the same call goes on";
  // The destination ends its talk (20 simulated seconds): one entry of 100.
  ASSERT_TRUE(run_until(r.io, [&] { return !r.sink.entries.empty(); })) << "the call never ended";
  ASSERT_EQ(r.sink.entries.size(), 1u);
  const auto& e = r.sink.entries[0];
  EXPECT_EQ(e.party, "100");
  EXPECT_EQ(e.disposition, model::Disposition::answered);
  EXPECT_EQ(e.device_number, "+491701234567");
  EXPECT_EQ(d.channel_usage().trunk, 0u) << "no channel left";
}

// Without callbridge's dialplan on the PBX (no [callbridge-hold]) a call on the mobile offers no
// hold, and a hold asked anyway is refused in words before anything reaches the PBX (a Redirect to
// a context Asterisk lacks would hang both parties up).
TEST(AmiDriverOverSimulator, AnyDeviceHoldWithoutTheDialplanIsRefusedInWords) {
  SimAndDriver r(LabConfig{});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ports::PbxDriver& d = r.d();
  ASSERT_TRUE(run_until(r.io, [&] { return d.status().connected && d.commands()->available(); }));
  ports::MakeCallRequest m{.from_device = "100", .first_leg_dial_string = "+491701234567", .dial_string = "089123456",
                           .caller_id_name = "", .caller_id_number = "+4930555100", .request_id = "c2d-0001"};
  d.commands()->make_call(m, [](base::Status) {});
  std::string call;
  ASSERT_TRUE(run_until(r.io, [&] { return !(call = r.last_call("100", model::CallEventType::established)).empty(); }));
  for (const auto& e : r.sink.events)
    if (e.device == "100" && e.type == model::CallEventType::established)
      EXPECT_FALSE(model::has(e.allowed_actions, model::Action::hold));
  std::optional<base::Status> held;
  d.commands()->hold(call, "100", [&](base::Status st) { held = st; });
  ASSERT_TRUE(run_until(r.io, [&] { return held.has_value(); }));
  ASSERT_FALSE(*held);
  EXPECT_NE(held->error().message().find("dialplan version 2"), std::string::npos) << held->error().message();
  ASSERT_TRUE(run_until(r.io, [&] { return !r.sink.entries.empty(); })) << "the call never ended";
  EXPECT_EQ(r.sink.entries[0].disposition, model::Disposition::answered) << "the call went on";
}

// The user hangs up from the browser right after the destination answered, before chan_local
// optimized the pair away: the hangup of the mobile's channel ends the whole call (the Local pair
// passes it on), and the entry is written.
TEST(AmiDriverOverSimulator, AnyDeviceHangupBeforeTheLocalOptimizationEndsTheCall) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 10;
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  std::thread sim([&] { server.run(); });
  boost::asio::io_context io;
  RecordingSink sink;
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), sim_driver_options(*port), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  ASSERT_TRUE(run_until(io, [&] { return d.status().connected && d.commands()->available(); }));
  ports::MakeCallRequest r{.from_device = "100", .first_leg_dial_string = "+491701234567", .dial_string = "089123456",
                           .caller_id_name = "", .caller_id_number = "+4930555100", .request_id = "c2d-0001"};
  d.commands()->make_call(r, [](base::Status) {});
  std::string call;
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& e : sink.events)
      if (e.device == "100" && e.type == model::CallEventType::established) call = e.call_id;
    return !call.empty();
  }));
  std::optional<base::Status> hung;
  d.commands()->hangup(call, "100", [&](base::Status st) { hung = st; });
  ASSERT_TRUE(run_until(io, [&] { return !sink.entries.empty() && hung.has_value(); })) << "the call never ended";
  ASSERT_TRUE(hung && *hung) << (hung ? hung->error().message() : "no answer");
  EXPECT_EQ(sink.entries[0].disposition, model::Disposition::answered);
  EXPECT_EQ(sink.entries[0].device_number, "+491701234567");
  EXPECT_EQ(d.channel_usage().trunk, 0u) << "no channel left";
  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 14, moving a live call (docs/call-control.md "Moving a call"): an inbound call talks at
// desk phone 100; "take it on my mobile" rings the mobile behind the trunk (Originate of
// Local/<mobile>@from-internal, Application Bridge), which takes the caller over once it answers;
// "back to my desk" rings 100 again. The call keeps its id throughout, the user's connection stays
// connected, and the journal has one entry of 100: answered, no device at the end (the desk phone
// ended it), with the mobile's trunk time in trunk_channel_s. A second move to the device the call
// is on is refused before anything is dialled.
// Moving an internal call (100 talks with 101) to 100's mobile: for 101 nothing changes but the
// channel it talks to: the same call id, still connected to 100, one journal entry each (101's
// leg must follow the move, not start a second call with the mobile's channel).
TEST(AmiDriverOverSimulator, MovingAnInternalCallKeepsTheOtherPartysCall) {
  LabConfig lab;
  lab.mobile_answer = 1s;
  SimAndDriver r(lab, 10, [](SimEngine& e) { start_internal(e, {.from = "101", .to = "100", .ring = 1s, .talk = 300s}); });
  ASSERT_TRUE(r.error.empty()) << r.error;
  ports::PbxDriver& d = r.d();
  std::string call;
  ASSERT_TRUE(run_until(r.io, [&] { return !(call = r.last_call("100", model::CallEventType::established)).empty(); }));
  const std::size_t events_before = r.sink.events.size();
  std::optional<base::Status> moved;
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100",
                                                 .external_dial_string = "01701234567",
                                                 .external_number = "+491701234567",
                                                 .caller_id_number = "+4930555100",
                                                 .on_outcome = [&](base::Status st) { moved = st; }},
                          [](base::Status) {});
  ASSERT_TRUE(run_until(r.io, [&] { return moved.has_value(); })) << "the move never finished";
  ASSERT_TRUE(*moved) << moved->error().message();
  ASSERT_TRUE(run_until(r.io, [&] {
    auto u = d.call_model().channel_usage(call);
    return u && u->trunk == 1 && u->internal == 1;  // the mobile and 101's phone
  })) << "the desk phone's channel never left";
  const model::Call* c = d.call_model().find_call(call);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->connections.size(), 2u) << "101 still in the same call";
  for (const auto& conn : c->connections) EXPECT_EQ(conn.state, model::ConnectionState::connected) << conn.device;
  for (std::size_t i = events_before; i < r.sink.events.size(); ++i)
    EXPECT_EQ(r.sink.events[i].call_id, call) << "a second call appeared: " << model::to_json_line(r.sink.events[i]);
  // 101 hangs up: one entry each.
  d.commands()->hangup(call, "101", [](base::Status) {});
  ASSERT_TRUE(run_until(r.io, [&] { return r.sink.entries.size() >= 2 && d.call_model().find_call(call) == nullptr; }));
  ASSERT_EQ(r.sink.entries.size(), 2u) << model::to_json_line(r.sink.entries.back());
  for (const auto& e : r.sink.entries) {
    EXPECT_EQ(e.call_id, call) << model::to_json_line(e);
    EXPECT_EQ(e.disposition, model::Disposition::answered) << model::to_json_line(e);
  }
}

TEST(AmiDriverOverSimulator, MoveACallToTheMobileAndBackToTheDesk) {
  LabConfig lab;
  lab.mobile_answer = 2s;
  SimEngine engine(lab, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 10;
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "100", .ring = 1s, .talk = 600s});
  });
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), sim_driver_options(*port), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  std::string call;
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& e : sink.events)
      if (e.device == "100" && e.type == model::CallEventType::established) call = e.call_id;
    return !call.empty();
  }));
  const std::size_t events_before = sink.events.size();

  // Already on the desk phone: refused, nothing dialled.
  std::optional<base::Status> refused;
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100"}, [&](base::Status st) { refused = st; });
  ASSERT_TRUE(refused.has_value());
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().code(), base::Errc::conflict) << refused->error().message();

  // To the mobile.
  std::optional<base::Status> accepted, moved;
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100",
                                                 .external_dial_string = "01701234567",
                                                 .external_number = "+491701234567",
                                                 .caller_id_number = "+4930555100",
                                                 .on_outcome = [&](base::Status st) { moved = st; }},
                          [&](base::Status st) { accepted = st; });
  // A second move while the first is under way is refused.
  std::optional<base::Status> second;
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100",
                                                 .external_dial_string = "01701234567",
                                                 .external_number = "+491701234567"},
                          [&](base::Status st) { second = st; });
  ASSERT_TRUE(second && !*second);
  EXPECT_EQ(second->error().code(), base::Errc::conflict);
  ASSERT_TRUE(run_until(io, [&] { return moved.has_value(); })) << "the move never finished";
  ASSERT_TRUE(accepted && *accepted) << (accepted ? accepted->error().message() : "no answer");
  ASSERT_TRUE(*moved) << moved->error().message();
  // The call is on the mobile now: same call id, 100 still connected, the mobile's channel is
  // the party's (what a hangup would address), 2 trunk channels and no internal one.
  auto on_mobile = [&] {
    auto u = d.call_model().channel_usage(call);
    return u && u->trunk == 2 && u->internal == 0;
  };
  ASSERT_TRUE(run_until(io, on_mobile)) << "the desk phone's channel never left";
  const model::Call* c = d.call_model().find_call(call);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->connections.size(), 1u);
  EXPECT_EQ(c->connections[0].device, "100");
  EXPECT_EQ(c->connections[0].state, model::ConnectionState::connected);
  for (std::size_t i = events_before; i < sink.events.size(); ++i)
    EXPECT_EQ(sink.events[i].call_id, call) << "a second call appeared: " << model::to_json_line(sink.events[i]);
  EXPECT_TRUE(sink.entries.empty()) << model::to_json_line(sink.entries[0]);

  // The mobile again: refused.
  refused.reset();
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100",
                                                 .external_dial_string = "01701234567",
                                                 .external_number = "+491701234567"},
                          [&](base::Status st) { refused = st; });
  ASSERT_TRUE(refused && !*refused);
  EXPECT_EQ(refused->error().code(), base::Errc::conflict);

  // Back to the desk.
  moved.reset();
  accepted.reset();
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100", .caller_id_number = "+4989123456",
                                                 .on_outcome = [&](base::Status st) { moved = st; }},
                          [&](base::Status st) { accepted = st; });
  ASSERT_TRUE(run_until(io, [&] { return moved.has_value(); })) << "the move back never finished";
  ASSERT_TRUE(*moved) << moved->error().message();
  ASSERT_TRUE(run_until(io, [&] {
    auto u = d.call_model().channel_usage(call);
    return u && u->trunk == 1 && u->internal == 1;
  })) << "the mobile's channel never left";

  // The caller hangs up (the simulator: 20 s after the last move): one entry.
  ASSERT_TRUE(run_until(io, [&] { return !sink.entries.empty() && d.call_model().find_call(call) == nullptr; }));
  ASSERT_EQ(sink.entries.size(), 1u) << model::to_json_line(sink.entries.back());
  const auto& e = sink.entries[0];
  EXPECT_EQ(e.call_id, call);
  EXPECT_EQ(e.party, "100");
  EXPECT_EQ(e.direction, model::Direction::inbound);
  EXPECT_EQ(e.remote, "+4989123456");
  EXPECT_EQ(e.disposition, model::Disposition::answered);
  EXPECT_FALSE(e.device_number.has_value()) << "the desk phone ended the call";
  // The caller's channel all along, plus the mobile's from its ring to the move back.
  EXPECT_GT(e.trunk_channel_s, e.talk_s() + 0.1) << model::to_json_line(e);
  for (std::size_t i = events_before; i < sink.events.size(); ++i)
    EXPECT_EQ(sink.events[i].call_id, call) << model::to_json_line(sink.events[i]);
  EXPECT_EQ(d.channel_usage().trunk, 0u);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// A move whose mobile does not answer leaves the call where it was (the desk phone talks on, same
// call id); the outcome says why; the entry names no device.
TEST(AmiDriverOverSimulator, MoveToAMobileThatDoesNotAnswerLeavesTheCall) {
  LabConfig lab;
  lab.mobile_answer = 60s;
  SimEngine engine(lab, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 10;
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  server.on_first_login([](SimEngine& e) {
    start_inbound(e, {.caller = "+4989123456", .ext = "100", .ring = 1s, .talk = 12s});
  });
  std::thread sim([&] { server.run(); });
  boost::asio::io_context io;
  RecordingSink sink;
  auto o = sim_driver_options(*port);
  o.commands.originate_timeout = 3s;
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  std::string call;
  ASSERT_TRUE(run_until(io, [&] {
    for (const auto& e : sink.events)
      if (e.device == "100" && e.type == model::CallEventType::established) call = e.call_id;
    return !call.empty();
  }));
  std::optional<base::Status> moved;
  d.commands()->move_call(ports::MoveCallRequest{.call_id = call, .device = "100",
                                                 .external_dial_string = "01701234567",
                                                 .external_number = "+491701234567",
                                                 .on_outcome = [&](base::Status st) { moved = st; }},
                          [](base::Status) {});
  ASSERT_TRUE(run_until(io, [&] { return moved.has_value(); }));
  ASSERT_FALSE(*moved);
  EXPECT_EQ(moved->error().code(), base::Errc::conflict) << moved->error().message();
  const model::Call* c = d.call_model().find_call(call);
  ASSERT_NE(c, nullptr) << "the call is still there";
  EXPECT_EQ(c->connections[0].state, model::ConnectionState::connected);
  ASSERT_TRUE(run_until(io, [&] { return !sink.entries.empty(); }));
  ASSERT_EQ(sink.entries.size(), 1u);
  EXPECT_EQ(sink.entries[0].call_id, call);
  EXPECT_EQ(sink.entries[0].disposition, model::Disposition::answered);
  EXPECT_FALSE(sink.entries[0].device_number.has_value());
  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 17: DND, forwarding and follow-me on the simulator with callbridge.conf "loaded"
// (LabConfig::callbridge_dialplan), as on the lab's Asterisk with the include (tests/live group
// features): the driver finds the include (ShowDialPlan), writes each line's AstDB keys (DBPut/
// DBDel) and the simulator's calls honour them, with the journal the live captures produced
// (live_dnd_busy_then_rings_again, live_forward_*, live_follow_me_*).
TEST(AmiDriverOverSimulator, DndForwardingAndFollowMeAsTheLabWithTheInclude) {
  LabConfig lab;
  lab.callbridge_dialplan = true;
  SimEngine engine(lab, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 0;  // no waiting: each call plays as fast as the driver reads
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  std::thread sim([&] { server.run(); });

  boost::asio::io_context io;
  RecordingSink sink;
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), sim_driver_options(*port), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  ports::PbxFeatures* features = d.features();
  ASSERT_NE(features, nullptr);
  d.start();
  ASSERT_TRUE(run_until(io, [&] { return features->ready().has_value(); })) << features->ready().error().message();

  auto line_features = [](auto fill) {
    ports::LineFeatures f;
    fill(f);
    return f;
  };
  auto set = [&](const std::string& line, ports::LineFeatures f) {
    std::optional<base::Status> done;
    features->set_line(line, f, [&](base::Status st) { done = st; });
    ASSERT_TRUE(run_until(io, [&] { return done.has_value(); }));
    ASSERT_TRUE(*done) << done->error().message();
    EXPECT_EQ(features->line(line), f);
  };
  auto entry = [&](std::string_view party, std::string_view remote) -> const model::JournalEntry* {
    for (const auto& e : sink.entries)
      if (e.party == party && e.remote == remote) return &e;
    return nullptr;
  };
  auto entries_for = [&](std::string_view remote) {
    return std::count_if(sink.entries.begin(), sink.entries.end(), [&](const auto& e) { return e.remote == remote; });
  };
  auto call = [&](InboundCall c) { server.post([c](SimEngine& e) { start_inbound(e, c); }); };

  // DND on 101: the caller hears busy at once, 101 never rings (no entry); a later call to 100 shows
  // the first one is over.
  set("101", line_features([](auto& f) { f.dnd = true; }));
  call({.caller = "+4989123001", .ext = "101", .ring = 1s, .talk = 1s});
  call({.caller = "+4989123090", .ext = "100", .ring = 1s, .talk = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("100", "+4989123090") != nullptr; }));
  EXPECT_EQ(entries_for("+4989123001"), 0) << "DND: the phone did not ring";
  for (const auto& e : sink.events) EXPECT_FALSE(e.device == "101" && e.type == model::CallEventType::delivered);

  // Unconditional to 102: 102 rings and answers, its entry shows the forwarding; 101 has none.
  set("101", line_features([](auto& f) { f.unconditional = "102"; }));
  call({.caller = "+4989123002", .ext = "101", .ring = 1s, .talk = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("102", "+4989123002") != nullptr; }));
  EXPECT_EQ(entry("102", "+4989123002")->disposition, model::Disposition::answered);
  EXPECT_EQ(entry("102", "+4989123002")->transferred_from, "101");
  EXPECT_EQ(entry("101", "+4989123002"), nullptr);

  // No answer after 5 s to 102: 101 rings 5 s (answered_elsewhere), 102 answers (transferred_from 101).
  set("101", line_features([](auto& f) { f.no_answer = "102", f.no_answer_seconds = 5; }));
  call({.caller = "+4989123004", .ext = "101", .ring = 8s, .talk = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("102", "+4989123004") && entry("101", "+4989123004"); }));
  EXPECT_EQ(entry("101", "+4989123004")->disposition, model::Disposition::answered_elsewhere);
  EXPECT_EQ(entry("102", "+4989123004")->disposition, model::Disposition::answered);
  EXPECT_EQ(entry("102", "+4989123004")->transferred_from, "101");
  // ... answered within the 5 s: no forwarding.
  call({.caller = "+4989123014", .ext = "101", .ring = 2s, .talk = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("101", "+4989123014") != nullptr; }));
  EXPECT_EQ(entry("101", "+4989123014")->disposition, model::Disposition::answered);
  EXPECT_EQ(entries_for("+4989123014"), 1);

  // No answer to an external number: 101 answered_elsewhere, transferred_to the number.
  set("101", line_features([](auto& f) { f.no_answer = "+4989123456", f.no_answer_seconds = 5; }));
  call({.caller = "+4989123007", .ext = "101", .outcome = Outcome::missed, .ring = 20s, .talk = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("101", "+4989123007") != nullptr; }));
  EXPECT_EQ(entry("101", "+4989123007")->disposition, model::Disposition::answered_elsewhere);
  EXPECT_EQ(entry("101", "+4989123007")->transferred_to, "+4989123456");

  // Busy to 103: 101 refuses (486), 103 answers.
  set("101", line_features([](auto& f) { f.busy = "103"; }));
  call({.caller = "+4989123008", .ext = "101", .outcome = Outcome::busy, .ring = 1s, .talk = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("103", "+4989123008") != nullptr; }));
  EXPECT_EQ(entry("103", "+4989123008")->disposition, model::Disposition::answered);
  EXPECT_EQ(entry("103", "+4989123008")->transferred_from, "101");
  set("101", ports::LineFeatures{});

  // Follow-me (parallel) on 103: desk and mobile ring together, the mobile takes it: 103's call,
  // answered on the device (docs/journal.md "AnyDevice"), one entry.
  const std::optional<std::string> mobile = "+491701234567";
  set("103", line_features([](auto& f) { f.follow_me = "+491701234567"; }));
  call({.caller = "+4989123005", .ext = "103", .outcome = Outcome::missed, .ring = 10s, .talk = 1s, .far_ring = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("103", "+4989123005") != nullptr; }));
  EXPECT_EQ(entry("103", "+4989123005")->disposition, model::Disposition::answered);
  EXPECT_EQ(entry("103", "+4989123005")->device_number, mobile);
  // ... the desk phone answers first: the mobile's leg is cancelled.
  call({.caller = "+4989123015", .ext = "103", .ring = 1s, .talk = 1s, .far_ring = 5s});
  ASSERT_TRUE(run_until(io, [&] { return entry("103", "+4989123015") != nullptr; }));
  EXPECT_EQ(entry("103", "+4989123015")->disposition, model::Disposition::answered);
  EXPECT_EQ(entry("103", "+4989123015")->device_number, std::nullopt);
  // Sequential: the desk rings 5 s alone, then the mobile answers after 1 s.
  set("103", line_features([](auto& f) {
    f.follow_me = "+491701234567", f.follow_me_mode = ports::FollowMeMode::sequential, f.desk_seconds = 5;
  }));
  call({.caller = "+4989123025", .ext = "103", .outcome = Outcome::missed, .ring = 20s, .talk = 1s, .far_ring = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("103", "+4989123025") != nullptr; }));
  const model::JournalEntry* seq = entry("103", "+4989123025");
  EXPECT_EQ(seq->disposition, model::Disposition::answered);
  EXPECT_EQ(seq->device_number, mobile);
  ASSERT_TRUE(seq->answered_at.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(*seq->answered_at - seq->started_at).count(), 6.0, 0.5);
  EXPECT_EQ(entries_for("+4989123025"), 1);
  // Device only: the mobile alone, answering after 1 s.
  set("103", line_features([](auto& f) { f.follow_me = "+491701234567", f.follow_me_mode = ports::FollowMeMode::device; }));
  call({.caller = "+4989123035", .ext = "103", .ring = 1s, .talk = 1s, .far_ring = 1s});
  ASSERT_TRUE(run_until(io, [&] { return entry("103", "+4989123035") != nullptr; }));
  EXPECT_EQ(entry("103", "+4989123035")->device_number, mobile);
  EXPECT_EQ(entries_for("+4989123035"), 1);
  set("103", ports::LineFeatures{});

  // Every call has ended: no channel is left in the simulator.
  std::optional<std::size_t> channels;
  server.post([&](SimEngine& e) { channels = e.model().channels().size(); });
  ASSERT_TRUE(run_until(io, [&] { return channels.has_value(); }));
  EXPECT_EQ(*channels, 0u);

  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

// Issue 17: "answered/abandoned today" survive a restart of callbridged (docs/queues.md): the first
// driver counts one answered and one abandoned queue call and keeps the row in its open-call state
// store; while no driver runs the PBX completes one more queue call and loses one more caller; the
// next driver (same store, a new process in effect) starts from the kept counts plus what the
// simulator's QueueParams say happened meanwhile: 2 answered, 2 abandoned.
TEST(AmiDriverOverSimulator, QueueCountsOfTodaySurviveARestart) {
  SimEngine engine(LabConfig{}, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 0;
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  std::thread sim([&] { server.run(); });

  // The journal store's open-call state (ports::JournalStore::put_open_state), kept in memory.
  struct StateStore final : ports::JournalStore {
    std::map<std::string, std::string> rows;  // scope '\n' key -> text
    void append(model::JournalEntry) override {}
    base::Status flush() override { return {}; }
    base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery&) override {
      return std::vector<ports::StoredEntry>{};
    }
    base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
    base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
    bool keeps_open_state() const override { return true; }
    void put_open_state(std::string scope, std::string key, std::string text) override {
      if (text.empty()) rows.erase(scope + '\n' + key);
      else rows[scope + '\n' + key] = std::move(text);
    }
    base::Result<std::vector<std::string>> load_open_state(const std::string& scope) override {
      std::vector<std::string> out;
      for (const auto& [k, v] : rows)
        if (k.starts_with(scope + '\n')) out.push_back(v);
      return out;
    }
  } store;
  struct NullSink final : ports::PbxEventSink {
    void on_call_event(const model::CallEvent&, const model::CallModel&) override {}
    void on_lines_changed(const model::CallModel&) override {}
    void on_journal_entry(model::JournalEntry) override {}
  } sink;
  boost::asio::io_context io;
  auto run_driver = [&](auto&& body) {
    auto o = sim_driver_options(*port);
    o.open_state = &store;
    auto driver = drivers::ami::AmiDriver::create(io.get_executor(), std::move(o), sink);
    ASSERT_TRUE(driver) << driver.error().message();
    ports::PbxDriver& d = **driver;
    d.start();
    auto q = [&] { return d.queues()->find("support"); };
    ASSERT_TRUE(run_until(io, [&] { return q() && q()->members.size() == 2; }));
    body(q);
    bool stopped = false;
    d.stop([&] { stopped = true; });
    ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  };
  run_driver([&](auto q) {
    EXPECT_EQ(q()->answered_today, 0u);
    server.post([](SimEngine& e) { start_queue(e, {.caller = "+4989123456", .answered_by = "102", .ring = 1s, .talk = 1s}); });
    server.post([](SimEngine& e) { start_queue(e, {.caller = "+4989123457", .answered_by = "", .ring = 2s}); });
    ASSERT_TRUE(run_until(io, [&] { return q()->answered_today == 1 && q()->abandoned_today == 1 && q()->callers.empty(); }));
  });
  // Meanwhile, without callbridged: one more of each, and every channel gone.
  std::optional<std::size_t> channels;
  server.post([](SimEngine& e) {
    start_queue(e, {.caller = "+4989123458", .answered_by = "101", .ring = 1s, .talk = 1s});
    start_queue(e, {.caller = "+4989123459", .answered_by = "", .ring = 2s});
  });
  server.post([&](SimEngine& e) {
    e.run_all();
    channels = e.model().channels().size();
  });
  ASSERT_TRUE(run_until(io, [&] { return channels.has_value(); }));
  ASSERT_EQ(*channels, 0u);
  run_driver([&](auto q) {
    ASSERT_TRUE(run_until(io, [&] { return q()->answered_today == 2 && q()->abandoned_today == 2; }))
        << "answered " << q()->answered_today << ", abandoned " << q()->abandoned_today;
    // ... and go on counting live.
    server.post([](SimEngine& e) { start_queue(e, {.caller = "+4989123460", .answered_by = "102", .ring = 1s, .talk = 1s}); });
    ASSERT_TRUE(run_until(io, [&] { return q()->answered_today == 3; }));
  });
  server.stop();
  sim.join();
}

// Issue 17: wrap-up in the simulator as app_queue does it (LabConfig::queue_wrapup_seconds, the
// queue's wrapuptime in queues.conf): the driver reads the queue's 30 s from GetConfig; after 102
// took a queue call it is in wrap-up (docs/queues.md) while 101 is available, and the next queue
// call rings 101 only.
TEST(AmiDriverOverSimulator, WrapUpAfterAQueueCallAsAppQueue) {
  LabConfig lab;
  lab.queue_wrapup_seconds = 30;
  SimEngine engine(lab, std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                   nullptr);
  SimServerOptions so;
  so.port = 0;
  so.speed = 1;  // real time: wrap-up is measured on the clock the PBX shows
  SimServer server(so, engine);
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().message();
  std::thread sim([&] { server.run(); });
  struct NullSink final : ports::PbxEventSink {
    void on_call_event(const model::CallEvent&, const model::CallModel&) override {}
    void on_lines_changed(const model::CallModel&) override {}
    void on_journal_entry(model::JournalEntry) override {}
  } sink;
  boost::asio::io_context io;
  auto driver = drivers::ami::AmiDriver::create(io.get_executor(), sim_driver_options(*port), sink);
  ASSERT_TRUE(driver) << driver.error().message();
  ports::PbxDriver& d = **driver;
  d.start();
  auto q = [&] { return d.queues()->find("support"); };
  ASSERT_TRUE(run_until(io, [&] { return q() && q()->members.size() == 2 && q()->wrapup_seconds.has_value(); }));
  EXPECT_EQ(*q()->wrapup_seconds, 30);
  auto member = [&](const char* i) { return q()->member(i); };
  server.post([](SimEngine& e) { start_queue(e, {.caller = "+4989123456", .answered_by = "102", .ring = 1s, .talk = 1s}); });
  ASSERT_TRUE(run_until(io, [&] {
    return q()->answered_today == 1 && member("PJSIP/102") && !member("PJSIP/102")->in_call &&
           member("PJSIP/102")->last_call.has_value();
  }));
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  EXPECT_EQ(q()->state(*member("PJSIP/102"), now), model::AgentState::wrap_up);
  EXPECT_EQ(q()->state(*member("PJSIP/101"), now), model::AgentState::available);
  server.post([](SimEngine& e) { start_queue(e, {.caller = "+4989123457", .answered_by = "101", .ring = 1s, .talk = 1s}); });
  ASSERT_TRUE(run_until(io, [&] { return member("PJSIP/101")->ringing; }));
  EXPECT_FALSE(member("PJSIP/102")->ringing) << "rung during its wrap-up";
  ASSERT_TRUE(run_until(io, [&] { return q()->answered_today == 2; }));
  bool stopped = false;
  d.stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  server.stop();
  sim.join();
}

}  // namespace
}  // namespace callbridge::sim
