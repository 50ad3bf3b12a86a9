// Integration: `callbridged --demo` (and [demo] enabled) on port 0 with a temp data dir: the
// simulator link comes up, live calls reach the journal (never dated in the future, also at demo
// speed), contacts, the demo users and both sign-in links (Anna, the admin) are seeded; Anna's
// link signs her in and a call for her rings within seconds, long enough to answer it from the
// API; Frank's old phone says why it has no Answer/Hold.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "base/time.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "identity/sqlite/identity_store.hpp"

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/http_get.hpp"
#include "support/ws_text_client.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

using callbridge::testing::TempDir;

// callbridged (or the CLI) as a child process with its output captured.
class Daemon : public callbridge::testing::ChildProcess {
 public:
  explicit Daemon(std::vector<std::string> args, std::string bin = CALLBRIDGED_PATH)
      : ChildProcess(std::move(bin), std::move(args)) {}
  // Waits up to timeout_ms for more output (used between polls instead of sleeping).
  void wait_output(int timeout_ms) { pump(timeout_ms); }
};

using callbridge::testing::http_get;


void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// The admin's link, and Anna's (docs/pbxsim.md "Demo mode").
const std::regex kOpen(R"(Open as the admin \(demo-admin[^)]*\): http://127\.0\.0\.1:(\d+)/\?token=(cbt_[A-Za-z0-9_]+))");
const std::regex kOpenAnna(
    R"(Open as Anna Berger \(extension 100[^)]*\): http://127\.0\.0\.1:(\d+)/\?token=(cbt_[A-Za-z0-9_]+))");

namespace json = boost::json;

// The body of a raw HTTP answer as JSON (null when it is not JSON).
json::value body_json(const std::string& raw) {
  auto at = raw.find("\r\n\r\n");
  boost::system::error_code ec;
  auto v = json::parse(at == std::string::npos ? std::string_view() : std::string_view(raw).substr(at + 4), ec);
  return ec ? json::value() : v;
}

// The first live call with a connection of `device` in one of `states`, or null.
json::value call_of(const json::value& calls, const std::string& device, std::initializer_list<const char*> states) {
  if (!calls.is_object() || !calls.as_object().contains("calls")) return {};
  for (const auto& c : calls.at("calls").as_array())
    for (const auto& conn : c.at("connections").as_array())
      if (conn.at("device") == device.c_str())
        for (const char* st : states)
          if (conn.at("state") == st) return c;
  return {};
}

bool contains(const json::value& list, const char* s) {
  if (!list.is_array()) return false;
  for (const auto& v : list.as_array())
    if (v == s) return true;
  return false;
}

// The "committed" counter of the journal in /api/v1/diagnostics; -1 when not found.
long committed(const std::string& diagnostics) {
  static const std::regex re(R"re("journal":\{[^}]*"committed":(\d+))re");
  std::smatch m;
  if (!std::regex_search(diagnostics, m, re)) return -1;
  return std::stol(m[1].str());
}

struct DemoRun {
  int port = 0;
  std::string token;
};

// Starts callbridged in demo mode, waits for the URL, the link and the first journal entries.
DemoRun run_demo_until_journaled(Daemon& d) {
  DemoRun r;
  auto open = d.wait_for(kOpen);
  EXPECT_FALSE(open.empty()) << d.output();
  if (open.empty()) return r;
  r.port = std::stoi(open[1].str());
  r.token = open[2].str();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  long n = -1;
  std::string diag;
  while (std::chrono::steady_clock::now() < deadline) {
    diag = http_get(r.port, "/api/v1/diagnostics", r.token);  // the printed admin token works
    n = committed(diag);
    if (n > 0) break;
    d.wait_output(50);  // new log lines or 50 ms, whichever comes first
  }
  EXPECT_GT(n, 0) << diag << "\n" << d.output();
  EXPECT_NE(diag.find(R"("name":"demo")"), std::string::npos) << diag;
  EXPECT_NE(diag.find(R"("connected":true)"), std::string::npos) << diag;
  return r;
}

TEST(Demo, ConfigEnabledStartsSimulatorSeedsContactsTokenAndJournalsLiveCalls) {
  TempDir dir;
  write_file(dir / "callbridge.toml",
             "[demo]\nenabled = true\nspeed = 50\ncalls_per_minute = 60\nseed = 7\n");
  DemoRun first;
  std::string first_anna;
  {
    Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
    first = run_demo_until_journaled(d);
    ASSERT_FALSE(first.token.empty());
    const std::string out = d.output();
    std::smatch am;
    ASSERT_TRUE(std::regex_search(out, am, kOpenAnna)) << out;
    first_anna = am[2].str();
    EXPECT_NE(out.find("demo: 6 demo users of team Sales added"), std::string::npos) << out;
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.output();
  }
  // Contacts were seeded: every outside number of the demo pool, plus duplicates.
  {
    callbridge::directory::SqliteContactStoreOptions so;
    so.path = dir / "data/contacts.db";
    auto store = callbridge::directory::SqliteContactStore::open(so);
    ASSERT_TRUE(store) << store.error().message();
    auto n = (*store)->count("default");
    ASSERT_TRUE(n);
    EXPECT_GE(*n, 24u);
  }
  // The printed token is a valid admin token in identity.db.
  {
    auto ids = callbridge::identity::SqliteIdentityStore::open(dir / "data/identity.db");
    ASSERT_TRUE(ids);
    auto parts = callbridge::identity::parse_token(first.token);
    ASSERT_TRUE(parts);
    auto rec = (*ids)->get_token(parts->id);
    ASSERT_TRUE(rec);
    EXPECT_TRUE(callbridge::identity::verify_secret(rec->hash, parts->secret));
    auto user = (*ids)->get_user("default", rec->user);
    ASSERT_TRUE(user);
    EXPECT_EQ(user->role, "admin");
  }
  // What an admin changed about a demo user is kept across starts.
  {
    auto ids = callbridge::identity::SqliteIdentityStore::open(dir / "data/identity.db");
    ASSERT_TRUE(ids);
    auto anna = (*ids)->get_user("default", "anna");
    ASSERT_TRUE(anna);
    EXPECT_EQ(anna->team, "Sales");
    EXPECT_EQ(anna->extensions, std::vector<std::string>{"100"});
    anna->team = "Support";
    ASSERT_TRUE((*ids)->put_user(*anna));
  }
  // A second start (the --demo flag this time) reuses both tokens and does not seed twice.
  {
    Daemon d({"--demo", "--demo-speed", "50", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
    auto anna = d.wait_for(kOpenAnna);
    ASSERT_FALSE(anna.empty()) << d.output();
    EXPECT_EQ(anna[2].str(), first_anna);
    auto open = d.wait_for(kOpen);
    ASSERT_FALSE(open.empty()) << d.output();
    EXPECT_EQ(open[2].str(), first.token);
    EXPECT_EQ(d.output().find("demo contacts added"), std::string::npos) << d.output();
    EXPECT_EQ(d.output().find("demo users"), std::string::npos) << d.output();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(), 0) << d.output();
  }
  auto ids = callbridge::identity::SqliteIdentityStore::open(dir / "data/identity.db");
  ASSERT_TRUE(ids);
  EXPECT_EQ((*ids)->get_user("default", "anna")->team, "Support") << "the admin's change survives the start";
}

// Issue 13: the README's demo, as a new user meets it. Real time (speed 1), as `scripts/run.sh`.
TEST(Demo, AnnasLinkSignsHerInAndHerPhoneRingsWithinSecondsLongEnoughToAnswer) {
  TempDir dir;
  Daemon d({"--demo", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  auto anna_link = d.wait_for(kOpenAnna);
  ASSERT_FALSE(anna_link.empty()) << d.output();
  const auto opened = std::chrono::steady_clock::now();
  auto admin_link = d.wait_for(kOpen);
  ASSERT_FALSE(admin_link.empty()) << d.output();
  const auto port = static_cast<std::uint16_t>(std::stoi(anna_link[1].str()));
  const std::string anna = anna_link[2].str(), admin = admin_link[2].str();
  EXPECT_NE(anna, admin);

  // What the browser does with the link: the token becomes a session for Anna (extension 100).
  callbridge::testing::HttpClient http(port);
  auto session = http.request("POST", "/api/v1/session", {}, json::serialize(json::object{{"token", anna}}));
  ASSERT_EQ(session.status, 200) << session.body;
  auto me = json::parse(http.request("GET", "/api/v1/me", {"Authorization: Bearer " + anna}).body);
  EXPECT_EQ(me.at("user"), "anna");
  EXPECT_EQ(me.at("role"), "user");
  EXPECT_EQ(me.at("display_name"), "Anna Berger");
  EXPECT_EQ(me.at("extensions"), json::array{"100"});

  // The demo users: one team, names, one extension each (the admin's view).
  auto users = json::parse(http.request("GET", "/api/v1/users", {"Authorization: Bearer " + admin}).body);
  int sales = 0;
  for (const auto& u : users.at("users").as_array()) {
    if (u.at("team") == "Sales") ++sales;
    if (u.at("user") == "frank") {
      EXPECT_EQ(u.at("display_name"), "Frank Lehmann");
    }
  }
  EXPECT_EQ(sales, 6) << json::serialize(users);

  // Within ten seconds a call rings on 100, offering Answer (the simulated phone accepts it).
  json::value call;
  while (std::chrono::steady_clock::now() - opened < std::chrono::seconds(10)) {
    call = call_of(body_json(http_get(port, "/api/v1/calls", anna)), "100", {"ringing", "alerting"});
    if (!call.is_null()) break;
    d.wait_output(50);
  }
  ASSERT_FALSE(call.is_null()) << "no call for Anna within 10 s\n" << d.output();
  const auto rang = std::chrono::steady_clock::now();
  EXPECT_TRUE(contains(call.at("allowed_actions").at("100"), "answer")) << json::serialize(call);
  EXPECT_FALSE(call.at("unavailable_actions").as_object().contains("100")) << json::serialize(call);

  // She answers from the browser well before the phone would stop ringing (8-15 s).
  const std::string id(call.at("id").as_string());
  auto answered = http.request("POST", "/api/v1/calls/" + id + "/answer", {"Authorization: Bearer " + anna}, "{}");
  ASSERT_EQ(answered.status, 202) << answered.body;
  json::value connected;
  while (std::chrono::steady_clock::now() - rang < std::chrono::seconds(5)) {
    connected = call_of(body_json(http_get(port, "/api/v1/calls", anna)), "100", {"connected"});
    if (!connected.is_null()) break;
    d.wait_output(50);
  }
  ASSERT_FALSE(connected.is_null()) << d.output();
  EXPECT_EQ(connected.at("id"), id.c_str());
  EXPECT_TRUE(contains(connected.at("allowed_actions").at("100"), "hold")) << json::serialize(connected);

  // She hangs up; her next call is 20-40 s away. Opening the client again (a new event stream)
  // brings it forward: whoever opens a demo link sees a call within seconds.
  auto hung = http.request("POST", "/api/v1/calls/" + id + "/hangup", {"Authorization: Bearer " + anna}, "{}");
  ASSERT_EQ(hung.status, 202) << hung.body;
  const auto idle_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < idle_deadline &&
         !call_of(body_json(http_get(port, "/api/v1/calls", anna)), "100", {"connected"}).is_null())
    d.wait_output(50);
  callbridge::testing::WsTextClient ws;
  ASSERT_EQ(ws.connect(port, "", anna), 101);
  const auto reopened = std::chrono::steady_clock::now();
  json::value next;
  while (std::chrono::steady_clock::now() - reopened < std::chrono::seconds(5)) {
    next = call_of(body_json(http_get(port, "/api/v1/calls", anna)), "100", {"alerting", "connected"});
    if (!next.is_null()) break;
    d.wait_output(50);
  }
  ASSERT_FALSE(next.is_null()) << "no call for Anna within 5 s of opening the client again\n" << d.output();
  EXPECT_NE(next.at("id"), id.c_str());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

// Issue 14: demo mode shows AnyDevice. Anna has a mobile behind the simulator's trunk; she chooses
// it and calls out: the mobile rings first (answering after 3 s), then the destination; the live
// call is 100's, carried by 2 trunk channels; she hangs up from the browser and the journal names
// her mobile.
TEST(Demo, AnnaCallsFromHerMobileAndTheJournalNamesIt) {
  TempDir dir;
  Daemon d({"--demo", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  auto anna_link = d.wait_for(kOpenAnna);
  ASSERT_FALSE(anna_link.empty()) << d.output();
  const auto port = static_cast<std::uint16_t>(std::stoi(anna_link[1].str()));
  const std::string anna = anna_link[2].str();
  callbridge::testing::HttpClient http(port);
  const std::vector<std::string> auth{"Authorization: Bearer " + anna};
  auto devices = json::parse(http.request("GET", "/api/v1/me/devices", auth).body);
  bool has_mobile = false;
  for (const auto& dev : devices.at("devices").as_array())
    has_mobile |= dev.at("name") == "mobile" && dev.at("number") == "+491701234567";
  ASSERT_TRUE(has_mobile) << json::serialize(devices);
  auto use = http.request("PUT", "/api/v1/me/devices/active", auth, R"({"device": "mobile"})");
  ASSERT_EQ(use.status, 200) << use.body;
  auto made = http.request("POST", "/api/v1/calls", auth, R"({"to": "089 7654321"})");
  ASSERT_EQ(made.status, 202) << made.body;
  const auto asked = std::chrono::steady_clock::now();
  json::value call;
  while (std::chrono::steady_clock::now() - asked < std::chrono::seconds(15)) {
    call = call_of(body_json(http_get(port, "/api/v1/calls", anna)), "100", {"connected"});
    if (!call.is_null() && call.as_object().contains("channels") && call.at("channels").at("trunk") == 2) break;
    call = nullptr;
    d.wait_output(50);
  }
  ASSERT_FALSE(call.is_null()) << "Anna's call from the mobile never connected with 2 trunk channels\n" << d.output();
  EXPECT_EQ(call.at("channels").at("internal"), 0) << json::serialize(call);
  const std::string id(call.at("id").as_string());
  auto hung = http.request("POST", "/api/v1/calls/" + id + "/hangup", auth, "{}");
  ASSERT_EQ(hung.status, 202) << hung.body;
  json::value entry;
  const auto ended = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - ended < std::chrono::seconds(10)) {
    auto j = body_json(http_get(port, "/api/v1/journal?party=100", anna));
    for (const auto& e : j.at("entries").as_array())
      if (e.as_object().contains("device") && e.at("call_id") == id.c_str()) entry = e;
    if (!entry.is_null()) break;
    d.wait_output(50);
  }
  ASSERT_FALSE(entry.is_null()) << "no journal entry of the call " << id << " from the mobile\n" << http_get(port, "/api/v1/journal?party=100", anna) << d.output();
  EXPECT_EQ(entry.at("direction"), "outbound");
  EXPECT_EQ(entry.at("disposition"), "answered");
  EXPECT_EQ(entry.at("device").at("name"), "mobile");
  EXPECT_EQ(entry.at("device").at("number"), "+491701234567");
  EXPECT_EQ(entry.at("device").at("private"), true);
  EXPECT_GT(entry.at("trunk_channel_s").to_number<double>(), 0.0);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

// Issue 13: at demo speed the journal never lies in the future (the simulator shows wall-clock
// times), and the old phone of 105 says why Answer/Hold are missing.
TEST(Demo, AtDemoSpeedJournalTimesAreNotInTheFutureAndTheOldPhoneSaysWhy) {
  TempDir dir;
  write_file(dir / "callbridge.toml", "[demo]\nenabled = true\nspeed = 20\ncalls_per_minute = 30\nseed = 11\n");
  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  auto open = d.wait_for(kOpen);
  ASSERT_FALSE(open.empty()) << d.output();
  const int port = std::stoi(open[1].str());
  const std::string admin = open[2].str();

  json::value old_phone;
  long n = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && (old_phone.is_null() || n < 5)) {
    if (old_phone.is_null())
      old_phone = call_of(body_json(http_get(port, "/api/v1/calls", admin)), "105", {"ringing", "alerting", "connected"});
    n = committed(http_get(port, "/api/v1/diagnostics", admin));
    d.wait_output(20);
  }
  ASSERT_FALSE(old_phone.is_null()) << "no call on 105\n" << d.output();
  const auto& why = old_phone.at("unavailable_actions").at("105").as_object();
  EXPECT_TRUE(why.contains("answer") || why.contains("hold")) << json::serialize(old_phone);
  for (const auto& [action, reason] : why) EXPECT_FALSE(reason.as_string().empty()) << action;
  EXPECT_FALSE(contains(old_phone.at("allowed_actions").at("105"), "answer"));
  EXPECT_FALSE(contains(old_phone.at("allowed_actions").at("105"), "hold"));

  ASSERT_GE(n, 5) << d.output();
  // Twenty simulated seconds pass every second: a simulated clock would be minutes ahead by now.
  auto journal = body_json(http_get(port, "/api/v1/journal?limit=100", admin));
  ASSERT_TRUE(journal.is_object()) << http_get(port, "/api/v1/journal?limit=100", admin);
  const auto now = callbridge::base::SystemClock{}.now();
  int checked = 0;
  for (const auto& e : journal.at("entries").as_array()) {
    for (const char* field : {"started_at", "answered_at", "ended_at"}) {
      const auto* v = e.as_object().if_contains(field);
      if (!v || !v->is_string()) continue;
      auto t = callbridge::base::parse_rfc3339(v->as_string());
      ASSERT_TRUE(t) << *v;
      EXPECT_LE(*t, now + std::chrono::seconds(1)) << field << " in the future: " << json::serialize(e);
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

TEST(Demo, BadDemoConfigIsAConfigError) {
  TempDir dir;
  write_file(dir / "callbridge.toml", "[demo]\nenabled = true\ncalls_per_minute = 0\n");
  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("demo.calls_per_minute"), std::string::npos) << d.output();
}

// Issue 17: the demo's simulated PBX has callbridge's dialplan include (docs/pbxsim.md), so the
// REST API's DND and forwarding are carried out by it, end to end (REST -> AmiFeatures -> DBPut ->
// the simulator's call flows -> the journal): with DND on Anna's phone stays silent while her calls
// keep coming (busy), and rings again once it is off; forwarded, her calls ring Ben (101), whose
// entries say transferred_from 100; forwarded on no answer after 5 s, she has answered_elsewhere
// entries and Clara (102) the calls.
TEST(Demo, DndAndForwardingAreCarriedOutByTheSimulatedPbx) {
  TempDir dir;
  write_file(dir / "callbridge.toml", "[demo]\nenabled = true\nspeed = 10\ncalls_per_minute = 1\nseed = 5\n");
  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  auto anna_link = d.wait_for(kOpenAnna);
  ASSERT_FALSE(anna_link.empty()) << d.output();
  auto admin_link = d.wait_for(kOpen);
  ASSERT_FALSE(admin_link.empty()) << d.output();
  const auto port = static_cast<std::uint16_t>(std::stoi(anna_link[1].str()));
  const std::string anna = anna_link[2].str(), admin = admin_link[2].str();
  callbridge::testing::HttpClient http(port);
  auto as_anna = [&](const std::string& method, const std::string& path, const std::string& body) {
    return http.request(method, path, {"Authorization: Bearer " + anna, "Content-Type: application/json"}, body);
  };
  auto parsed = [](const std::string& body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    return ec || !v.is_object() ? json::value(json::object{}) : v;
  };
  auto until = [&](auto pred, int seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      d.wait_output(50);
    }
    return pred();
  };
  auto anna_has_call = [&] {
    return !call_of(body_json(http_get(port, "/api/v1/calls", anna)), "100",
                    {"ringing", "alerting", "connected", "held", "initiated", "dialing"})
                .is_null();
  };
  // An entry of `party` from Anna's forwarding, with the disposition asked for.
  auto entry_of = [&](const std::string& party, const char* field, const char* value) {
    auto j = body_json(http_get(port, "/api/v1/journal?limit=200&party=" + party, admin));
    if (!j.is_object()) return false;
    for (const auto& e : j.at("entries").as_array())
      if (e.at("party") == party.c_str() && e.as_object().contains(field) && e.at(field) == value) return true;
    return false;
  };

  // The include is found at the demo link's login: the features are available.
  ASSERT_TRUE(until([&] { return parsed(as_anna("GET", "/api/v1/me/forwarding", "").body).as_object().if_contains("available") && parsed(as_anna("GET", "/api/v1/me/forwarding", "").body).at("available") == true; }, 10))
      << as_anna("GET", "/api/v1/me/forwarding", "").body << d.output();

  auto dnd = as_anna("PUT", "/api/v1/me/dnd", R"({"dnd":true})");
  ASSERT_EQ(dnd.status, 200) << dnd.body;
  EXPECT_EQ(parsed(dnd.body).at("dnd"), true) << dnd.body;
  ASSERT_TRUE(until([&] { return !anna_has_call(); }, 40)) << "the call in progress did not end";
  // Her calls come every 2-4 s here (20-40 simulated s at speed 10), sooner when a client opens:
  // for 8 s none rings.
  callbridge::testing::WsTextClient ws;
  ASSERT_EQ(ws.connect(port, "", anna), 101);
  EXPECT_FALSE(until(anna_has_call, 8)) << "a call rang on 100 despite DND";
  dnd = as_anna("PUT", "/api/v1/me/dnd", R"({"dnd":false})");
  ASSERT_EQ(dnd.status, 200) << dnd.body;
  EXPECT_TRUE(until(anna_has_call, 10)) << "no call on 100 after DND off\n" << d.output();

  auto fwd = as_anna("PUT", "/api/v1/me/forwarding", R"({"unconditional":"101"})");
  ASSERT_EQ(fwd.status, 200) << fwd.body;
  EXPECT_EQ(parsed(fwd.body).at("forwarding").at("unconditional"), "101") << fwd.body;
  EXPECT_TRUE(until([&] { return entry_of("101", "transferred_from", "100"); }, 40))
      << "no call of Anna's reached Ben's journal\n" << d.output();

  fwd = as_anna("PUT", "/api/v1/me/forwarding", R"({"unconditional":null,"no_answer":"102","no_answer_seconds":5})");
  ASSERT_EQ(fwd.status, 200) << fwd.body;
  EXPECT_TRUE(until([&] { return entry_of("102", "transferred_from", "100") && entry_of("100", "disposition", "answered_elsewhere"); }, 40))
      << "no-answer forwarding to 102 not seen in the journal\n" << d.output();
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

// Issue 17: a queue's answered/abandoned today survive a restart of callbridged (docs/queues.md):
// the demo's queue takes calls until it has a few; after SIGTERM and a new start on the same data
// directory the first answer that lists the queue starts from those counts, not from 0 (the
// simulator restarted too: its own counters began again, so only the kept counts apply).
TEST(Demo, QueueCountsOfTodaySurviveARestartOfTheDaemon) {
  TempDir dir;
  write_file(dir / "callbridge.toml", "[demo]\nenabled = true\nspeed = 50\ncalls_per_minute = 120\nseed = 3\n");
  auto counts = [](int port, const std::string& token) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
    auto j = body_json(http_get(port, "/api/v1/queues", token));
    if (!j.is_object() || !j.as_object().contains("queues")) return std::nullopt;
    for (const auto& q : j.at("queues").as_array())
      if (q.at("name") == "support") return std::pair{q.at("answered_today").to_number<std::int64_t>(),
                                                      q.at("abandoned_today").to_number<std::int64_t>()};
    return std::nullopt;
  };
  std::pair<std::int64_t, std::int64_t> before{0, 0};
  {
    Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
    auto open = d.wait_for(kOpen);
    ASSERT_FALSE(open.empty()) << d.output();
    const int port = std::stoi(open[1].str());
    const std::string admin = open[2].str();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto c = counts(port, admin); c && c->first + c->second >= 4) {
        before = *c;
        break;
      }
      d.wait_output(100);
    }
    ASSERT_GE(before.first + before.second, 4) << "too few queue calls\n" << d.output();
    d.signal(SIGTERM);
    ASSERT_EQ(d.wait_exit(), 0) << d.output();
  }
  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  auto open = d.wait_for(kOpen);
  ASSERT_FALSE(open.empty()) << d.output();
  const int port = std::stoi(open[1].str());
  const std::string admin = open[2].str();
  std::optional<std::pair<std::int64_t, std::int64_t>> after;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!after && std::chrono::steady_clock::now() < deadline) {
    after = counts(port, admin);
    if (!after) d.wait_output(20);
  }
  ASSERT_TRUE(after) << d.output();
  EXPECT_GE(after->first, before.first) << "answered today restarted at " << after->first;
  EXPECT_GE(after->second, before.second) << "abandoned today restarted at " << after->second;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

}  // namespace
