// AmiLink against a real loopback TCP peer (tests/support/fake_asterisk): login, actions, lists,
// keepalive, reconnect, hostile input, record -> replay. Port 0, no sleeps: the io_context runs
// until a condition holds (with a generous safety deadline that fails the test).
#include "drivers/ami/ami_link.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <functional>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "drivers/ami/ami_replay.hpp"
#include "support/fake_asterisk.hpp"

namespace callbridge::drivers::ami {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::FakeAsterisk;
using testing::FakeAsteriskOptions;

struct Sink : AmiSink {
  std::vector<std::string> log;  // "start" / "end:<why>" / flattened message with time
  std::vector<std::string> ends;
  int starts = 0;
  bool with_times = true;
  void on_session_start(base::Timestamp at) override {
    ++starts;
    log.push_back("start@" + std::to_string(base::to_micros(at)));
  }
  void on_message(const AmiMessage& m, base::Timestamp at) override {
    std::string s = std::to_string(base::to_micros(at)) + "|";
    for (const auto& h : m.headers()) s += std::string(h.key) + "=" + std::string(h.value) + ";";
    log.push_back(std::move(s));
  }
  void on_session_end(base::Timestamp, const base::Error& why) override {
    ends.push_back(why.to_string());
    log.push_back("end");
  }
  std::size_t count(std::string_view needle) const {
    return std::count_if(log.begin(), log.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
};

// Runs the io_context until pred() holds. No sleeping: it only waits for I/O and timers.
bool run_until(asio::io_context& io, const std::function<bool()>& pred, milliseconds limit = milliseconds(10'000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(milliseconds(20));
  }
  return true;
}

AmiLinkOptions options_for(std::uint16_t port) {
  AmiLinkOptions o;
  o.session.host = "127.0.0.1";
  o.session.port = port;
  o.session.tick_interval = milliseconds(5);
  o.session.connect_timeout = milliseconds(2000);
  o.protocol.username = "cti";
  o.protocol.secret = "cti-secret";
  o.protocol.ping_interval = milliseconds(60'000);
  o.backoff = net::BackoffPolicy::none();
  o.backoff_seed = 1;
  o.stable_after = milliseconds(0);  // every session that logged in counts as healthy
  return o;
}

struct Fixture : ::testing::Test {
  asio::io_context io;
  Sink sink;
  std::unique_ptr<FakeAsterisk> pbx = std::make_unique<FakeAsterisk>(io);
  std::unique_ptr<AmiLink> link;
  std::vector<AmiLinkState> states;  // outlives the link's listener (TearDown changes state too)

  void start(AmiLinkOptions o) {
    auto l = AmiLink::create(io.get_executor(), std::move(o), sink);
    ASSERT_TRUE(l) << l.error().to_string();
    link = std::move(*l);
    link->start();
  }
  void start() { start(options_for(pbx->port())); }
  std::string dump() const {
    std::string out;
    for (const auto& l : sink.log) out += l.substr(0, 120) + "\n";
    for (const auto& a : pbx->actions()) out += "sent: " + a.name() + " " + a.action_id() + "\n";
    return out;
  }
  bool resynced() const {
    return link->state() == AmiLinkState::up && sink.count("CoreStatus") + sink.count("CoreStartupDate") > 0;
  }
  void TearDown() override {
    if (link) {
      link->stop();
      EXPECT_TRUE(run_until(io, [&] { return link->stopped(); }));
      EXPECT_EQ(link->state(), AmiLinkState::disconnected);
    }
  }
  // Runs an action to completion from a coroutine, as daemon code would.
  base::Result<AmiResponse> action(AmiAction a, std::optional<milliseconds> timeout = std::nullopt) {
    std::optional<base::Result<AmiResponse>> out;
    asio::co_spawn(io, [&, a]() -> asio::awaitable<void> { out = co_await link->async_action(a, timeout); },
                   asio::detached);
    EXPECT_TRUE(run_until(io, [&] { return out.has_value(); }));
    return out ? std::move(*out) : base::fail(base::Error::internal("no result"));
  }
};

TEST_F(Fixture, PlainLoginThenResyncOneActionAtATime) {
  start();
  link->set_state_listener([&](AmiLinkState s, const AmiLinkStats&) { states.push_back(s); });
  ASSERT_TRUE(run_until(io, [&] { return resynced(); })) << dump();
  EXPECT_EQ(sink.starts, 1);
  EXPECT_EQ(states, (std::vector<AmiLinkState>{AmiLinkState::connecting, AmiLinkState::logging_in, AmiLinkState::up}));
  std::vector<std::string> ids;
  for (const auto& a : pbx->actions()) ids.push_back(a.action_id());
  std::vector<std::string> want{"login"};
  for (const auto& n : default_resync_actions()) want.push_back("resync-" + n);
  EXPECT_EQ(ids, want);
  EXPECT_EQ(pbx->actions()[0].get("Secret"), "cti-secret");
  EXPECT_EQ(pbx->actions()[0].get("Events"), "on");
  auto st = link->stats();
  EXPECT_EQ(st.logins, 1u);
  EXPECT_EQ(st.connect_attempts, 1u);
  EXPECT_TRUE(st.connected_since.has_value());
  EXPECT_EQ(*st.banner, "Asterisk Call Manager/11.0.0");
  EXPECT_GE(st.events_received, 1u + 3u + 3u);  // FullyBooted, 3 CoreShowChannel, 3 Newstate, ...
}

TEST_F(Fixture, Md5Login) {
  auto o = options_for(pbx->port());
  o.protocol.auth = AmiAuth::md5;
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return link->state() == AmiLinkState::up; }));
  ASSERT_GE(pbx->actions().size(), 2u);
  EXPECT_EQ(pbx->actions()[0].name(), "Challenge");
  EXPECT_EQ(pbx->actions()[1].get("AuthType"), "MD5");
  EXPECT_EQ(pbx->actions()[1].get("Secret"), "");  // the secret never crosses the wire
  EXPECT_EQ(pbx->logins_ok(), 1);
}

TEST_F(Fixture, WrongSecretIsAClearErrorAndTheLinkKeepsTrying) {
  auto o = options_for(pbx->port());
  o.protocol.secret = "wrong";
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return pbx->logins_failed() >= 3; }));
  auto st = link->stats();
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code(), base::Errc::invalid_argument);
  EXPECT_NE(st.last_error->message().find("AMI login rejected for user 'cti': Authentication failed"), std::string::npos)
      << st.last_error->message();
  EXPECT_EQ(sink.starts, 0);
  EXPECT_TRUE(sink.ends.empty());
  EXPECT_GE(st.connect_attempts, 3u);
  EXPECT_EQ(st.logins, 0u);
}

TEST_F(Fixture, ListActionAndActionIdCorrelationWithInterleavedEvents) {
  start();
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  pbx->options().list_items = 5;
  std::optional<base::Result<AmiResponse>> list, ping, bad, silent;
  // Four actions in flight at once; the peer answers the list with events in between.
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { list = co_await link->async_action(AmiAction("CoreShowChannels")); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { ping = co_await link->async_action(AmiAction("Ping")); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { bad = co_await link->async_action(AmiAction("NoSuchAction")); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    silent = co_await link->async_action(AmiAction("Silent"), milliseconds(30));
  }, asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return list && ping && bad && silent; }));
  ASSERT_TRUE(*list) << list->error().to_string();
  EXPECT_TRUE((*list)->success());
  ASSERT_EQ((*list)->items.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*list)->items[i].view().event(), "CoreShowChannel");
    EXPECT_EQ((*list)->items[i].view().get("Channel"), "PJSIP/10" + std::to_string(i) + "-0000000" + std::to_string(i));
  }
  ASSERT_TRUE((*list)->complete.has_value());
  EXPECT_EQ((*list)->complete->view().get("ListItems"), "5");
  ASSERT_TRUE(*ping);
  EXPECT_EQ((*ping)->response.view().get("Ping"), "Pong");
  ASSERT_TRUE(*bad);
  EXPECT_FALSE((*bad)->success());
  EXPECT_EQ((*bad)->message(), "Invalid/unknown command");
  ASSERT_FALSE(*silent);
  EXPECT_EQ(silent->error().code(), base::Errc::timeout);
  // The interleaved events went to the sink as well (3 from resync + 5 now).
  EXPECT_EQ(sink.count("Event=Newstate;"), 8u);
  EXPECT_EQ(link->state(), AmiLinkState::up);  // a timed-out action does not kill the session
}

TEST_F(Fixture, ActionsFailFastWhenNotUpAndInvalidActionsAreRejected) {
  start();
  auto early = link->submit(AmiAction("Ping"), nullptr);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code(), base::Errc::unavailable);
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  auto r = action(AmiAction("Originate").set("Channel", "PJSIP/100\r\nAction: Hangup"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
  // Callback form: completes later on the executor, never inside submit().
  std::optional<base::Result<AmiResponse>> got;
  auto id = link->submit(AmiAction("Ping"), [&](base::Result<AmiResponse> res) { got = std::move(res); });
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->starts_with("cb-"));
  EXPECT_FALSE(got.has_value());
  ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }));
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->response.view().get("Ping"), "Pong");
}

TEST_F(Fixture, KeepaliveTimeoutTriggersReconnect) {
  pbx->options().answer_ping = false;
  auto o = options_for(pbx->port());
  o.protocol.ping_interval = milliseconds(20);
  o.protocol.ping_timeout = milliseconds(200);  // generous: a loaded CI box must not time out real Pongs
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return link->stats().logins >= 2; }));
  ASSERT_FALSE(sink.ends.empty());
  EXPECT_NE(sink.ends[0].find("timeout: AMI keepalive: no answer to Ping within 200 ms"), std::string::npos) << sink.ends[0];
  EXPECT_GE(link->stats().reconnects, 1u);
  pbx->options().answer_ping = true;
  const auto ends = sink.ends.size();
  // Once Pings are answered the session stays up across many ping intervals.
  const auto pings_before = std::count_if(pbx->actions().begin(), pbx->actions().end(), [](auto& a) { return a.name() == "Ping"; });
  ASSERT_TRUE(run_until(io, [&] {
    return std::count_if(pbx->actions().begin(), pbx->actions().end(), [](auto& a) { return a.name() == "Ping"; }) >= pings_before + 5;
  }));
  EXPECT_LE(sink.ends.size(), ends + 1);  // at most the session that was already timing out
}

TEST_F(Fixture, PeerCloseEndsSessionAndLinkReconnects) {
  start();
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  pbx->close_all();
  ASSERT_TRUE(run_until(io, [&] { return sink.starts == 2 && resynced(); }));
  ASSERT_EQ(sink.ends.size(), 1u);
  EXPECT_NE(sink.ends[0].find("unavailable"), std::string::npos) << sink.ends[0];
  EXPECT_EQ(link->stats().reconnects, 1u);
  EXPECT_EQ(pbx->accepted(), 2);
}

TEST_F(Fixture, OversizeLineDropsSessionWithoutCrashingAndLinkReconnects) {
  start();
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  pbx->send_all("Event: Huge\r\nData: " + std::string(10 << 20, 'x'));  // a 10 MB line
  ASSERT_TRUE(run_until(io, [&] { return sink.starts == 2 && resynced(); }));
  ASSERT_GE(sink.ends.size(), 1u);
  EXPECT_NE(sink.ends[0].find("protocol: AMI message exceeds"), std::string::npos) << sink.ends[0];
  EXPECT_EQ(sink.count("Event=Huge"), 0u);
}

TEST_F(Fixture, GarbageDropsSessionAndLinkReconnects) {
  start();
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919) % 256);
  pbx->send_all(garbage + "\r\n\r\n");
  ASSERT_TRUE(run_until(io, [&] { return sink.starts == 2 && resynced(); }));
  ASSERT_GE(sink.ends.size(), 1u);
  EXPECT_NE(sink.ends[0].find("protocol:"), std::string::npos) << sink.ends[0];
}

TEST_F(Fixture, BadBannerIsAClearErrorAndNeverUp) {
  pbx->options().banner = "SSH-2.0-OpenSSH_9.2";
  start();
  ASSERT_TRUE(run_until(io, [&] { return link->stats().connect_attempts >= 3; }));
  auto st = link->stats();
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_NE(st.last_error->message().find("Asterisk Call Manager/"), std::string::npos) << st.last_error->message();
  EXPECT_EQ(sink.starts, 0);
  EXPECT_EQ(st.logins, 0u);
}

TEST_F(Fixture, UnreachablePeerRetriesWithGrowingCappedBackoff) {
  std::uint16_t dead_port;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }  // closed: connecting there is refused
  auto o = options_for(dead_port);
  o.backoff = {milliseconds(1), milliseconds(4), 2.0, 0.0};
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return link->stats().connect_attempts >= 6; }));
  auto st = link->stats();
  EXPECT_EQ(st.last_backoff, milliseconds(4));
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code(), base::Errc::unavailable);
  EXPECT_NE(st.state, AmiLinkState::up);
  EXPECT_EQ(sink.starts, 0);
}

TEST_F(Fixture, BackoffResetsAfterASuccessfulLogin) {
  pbx->options().secret = "other";
  auto o = options_for(pbx->port());
  o.backoff = {milliseconds(1), milliseconds(8), 2.0, 0.0};
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return link->stats().last_backoff == milliseconds(8); }));
  pbx->options().secret = "cti-secret";
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  pbx->close_all();
  ASSERT_TRUE(run_until(io, [&] { return sink.ends.size() == 1 && link->state() != AmiLinkState::up; }));
  // The healthy session broke: the first attempt goes at once (events are being lost), a failure
  // after it would start the backoff over at 1 ms.
  EXPECT_EQ(link->stats().last_backoff, milliseconds(0));
  ASSERT_TRUE(run_until(io, [&] { return sink.starts == 2; }));
}

TEST_F(Fixture, APeerThatDropsUsRightAfterLoginGetsGrowingBackoffAndFewLogLines) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  pbx->options().after_login = "\x01garbage\r\n\r\n";
  auto o = options_for(pbx->port());
  o.stable_after = milliseconds(60'000);
  o.backoff = {milliseconds(1), milliseconds(8), 2.0, 0.0};
  start(o);
  bool ok = run_until(io, [&] { return sink.starts >= 12; });
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(ok);
  EXPECT_EQ(link->stats().last_backoff, milliseconds(8));  // not reset by each short-lived login
  std::string text = captured.str();
  EXPECT_LE(std::count(text.begin(), text.end(), '\n'), 4) << text;  // up, the reason, reminder(s)
  EXPECT_NE(text.find("neither Event nor Response"), std::string::npos) << text;
}

TEST_F(Fixture, StopWhileUpIsClean) {
  start();
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  std::optional<base::Result<AmiResponse>> pending;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { pending = co_await link->async_action(AmiAction("Silent")); }, asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return pbx->actions().back().name() == "Silent"; }));
  bool done = false;
  link->stop([&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done && pending.has_value(); }));
  EXPECT_TRUE(link->stopped());
  EXPECT_EQ(pbx->actions().back().name(), "Logoff");  // polite goodbye
  EXPECT_EQ(sink.count("Response=Goodbye;"), 1u);
  ASSERT_FALSE(*pending);
  EXPECT_EQ(pending->error().code(), base::Errc::unavailable);
  ASSERT_EQ(sink.ends.size(), 1u);
  EXPECT_NE(sink.ends[0].find("stopped"), std::string::npos) << sink.ends[0];
  ASSERT_TRUE(run_until(io, [&] { return pbx->open_connections() == 0; }));
}

TEST_F(Fixture, RecordThenReplayGivesIdenticalMessages) {
  fs::path dir = fs::temp_directory_path() / ("cb-ami-link-rec-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto o = options_for(pbx->port());
  o.record_dir = dir;
  o.record_prefix = "pbx1";
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return resynced(); }));
  pbx->send_all("Event: Newchannel\r\nTimestamp: 1795382940.100000\r\nChannel: PJSIP/100-00000001\r\n\r\n");
  ASSERT_TRUE(action(AmiAction("CoreShowChannels")));
  pbx->close_all();  // second session, like a PBX restart
  ASSERT_TRUE(run_until(io, [&] { return sink.starts == 2 && resynced(); }));
  pbx->send_all("Event: Hangup\r\nTimestamp: 1795382941.000000\r\nChannel: PJSIP/100-00000001\r\n\r\n");
  ASSERT_TRUE(run_until(io, [&] { return sink.count("Event=Hangup;") == 1; }));
  link->stop();
  ASSERT_TRUE(run_until(io, [&] { return link->stopped(); }));

  auto files = link->recorded_files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(files[0].filename().string().starts_with("pbx1-"));
  auto listed = recording_files_in(dir, "pbx1");
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, files);
  for (auto chunking : {ReplayChunking::whole, ReplayChunking::random}) {
    Sink replayed;
    AmiReplayOptions ro;
    ro.chunking = chunking;
    ro.chunk_bytes = 17;
    AmiReplay replay(replayed, ro);
    auto st = replay.run(files);
    ASSERT_TRUE(st) << st.error().to_string();
    // Same messages, same receive times, same session boundaries.
    EXPECT_EQ(replayed.log, sink.log);
    EXPECT_EQ(replayed.starts, 2);
  }
  fs::remove_all(dir);
}

TEST_F(Fixture, AnUnreachablePeerIsLoggedOnceNotPerRetry) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  std::uint16_t dead_port;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  start(options_for(dead_port));  // zero backoff: as many retries as the machine can do
  bool ok = run_until(io, [&] { return link->stats().connect_attempts >= 300; });
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(ok);
  std::string text = captured.str();
  std::size_t lines = std::count(text.begin(), text.end(), '\n');
  // The first failure, then reminders at 8, 16, 32, 64, 128, 256 failures: 7 lines for 300 tries.
  EXPECT_LE(lines, 8u) << text;
  EXPECT_GE(lines, 1u);
  EXPECT_NE(text.find("Connection refused (retrying with backoff)"), std::string::npos) << text;
}

TEST_F(Fixture, StopDuringALongBackoffIsPrompt) {
  std::uint16_t dead_port;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  auto o = options_for(dead_port);
  o.backoff = {milliseconds(60'000), milliseconds(60'000), 2.0, 0.0};
  start(o);
  ASSERT_TRUE(run_until(io, [&] { return link->stats().last_backoff == milliseconds(60'000); }));
  bool done = false;
  link->stop([&] { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }, milliseconds(2'000)));
  EXPECT_EQ(link->stats().connect_attempts, 1u);
}

TEST(AmiLinkStop, BeforeStartCallsBackAndStartDoesNothing) {
  asio::io_context io;
  Sink sink;
  auto l = AmiLink::create(io.get_executor(), options_for(5038), sink);
  ASSERT_TRUE(l);
  bool done = false;
  (*l)->stop([&] { done = true; });
  (*l)->start();
  io.run();
  EXPECT_TRUE(done);
  EXPECT_TRUE((*l)->stopped());
  EXPECT_EQ((*l)->stats().connect_attempts, 0u);
}

TEST(AmiLinkCreate, RejectsBadOptions) {
  asio::io_context io;
  Sink sink;
  auto o = options_for(5038);
  o.protocol.secret = "a\r\nAction: Logoff";
  auto r = AmiLink::create(io.get_executor(), o, sink);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
  o = options_for(0);
  EXPECT_FALSE(AmiLink::create(io.get_executor(), o, sink));
  o = options_for(5038);
  o.record_dir = "/proc/no/such/dir";
  auto rec = AmiLink::create(io.get_executor(), o, sink);
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().code(), base::Errc::io);
}

}  // namespace
}  // namespace callbridge::drivers::ami
