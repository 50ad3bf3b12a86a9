// End to end: contacts imported with the real `callbridge contacts import` into the built-in store;
// the real callbridged (port 0, temp data dir) against a loopback fake Asterisk that replays the
// inbound_answered capture in two parts (ringing, then the rest). Checks that the WebSocket call
// events carry the caller's contacts ("remote_info": pending at ringing, then a "remote_info"
// event with both matches ranked), that GET /api/v1/calls shows them, and that the journal entry
// keeps the contact that was shown - over the WebSocket, over REST and in journal.db (SQLite).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "support/child_process.hpp"
#include "support/fake_asterisk_thread.hpp"
#include "support/temp_dir.hpp"
#include "support/http_get.hpp"
#include "support/ws_text_client.hpp"

namespace callbridge {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ChildProcess;

const std::string kCaller = "+4989123456";


std::string cli(const std::vector<std::string>& args, int* rc) {
  ChildProcess p(CALLBRIDGE_CLI_PATH, args);
  *rc = p.wait_exit();
  return p.output();
}

// The first connection of `call` (a JSON call object) for device 100.
const json::object* conn_100(const json::value& call) {
  for (const auto& c : call.at("connections").as_array())
    if (c.at("device") == "100") return &c.as_object();
  return nullptr;
}

TEST(RemoteInfoE2E, CallEventsAndTheJournalCarryTheImportedContacts) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);

  // Two people share the caller's number; a third contact is somebody else.
  const std::string csv = dir / "contacts.csv";
  std::ofstream(csv) << "Name,Company,Phone\r\n"
                        "Moritz Muster,,+49 (0)89 123456\r\n"
                        "Max Muster,ACME,+49 89 123456\r\n"
                        "Erika Other,Other AG,+49 30 555000\r\n";
  int rc = 0;
  auto out = cli({"contacts", "import", csv, "--data-dir", data, "--tenant", "default", "--country", "49"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  out = cli({"token", "create", "--data-dir", data, "--tenant", "default", "--user", "admin", "--role", "admin"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch tm;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::string token = tm[0].str();

  auto [ringing, rest] = testing::capture_split(
      std::string(CALLBRIDGE_FIXTURES_DIR) + "/inbound_answered/ami.log", "Event: DialBegin");
  testing::FakeAsteriskThread pbx(ringing);
  const std::string config = dir / "callbridged.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data
                        << "\"\n\n[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << pbx.ami.port()
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n";
  ChildProcess daemon(CALLBRIDGED_PATH, {"--config", config});
  auto m = daemon.wait_for(std::regex(R"(HTTP API listening on 127\.0\.0\.1:(\d+))"));
  ASSERT_FALSE(m.empty()) << daemon.output();
  const int port = std::stoi(m[1].str());

  // Everything from the first message on (the ring keeps it), as a tenant-wide supervisor.
  testing::WsTextClient ws;
  ASSERT_EQ(ws.connect(static_cast<std::uint16_t>(port), "?scope=tenant&since=0", token), 101);

  std::optional<json::object> ringing_event, updated;
  while (!updated) {
    auto msg = ws.next();
    ASSERT_TRUE(msg) << "no remote_info event; daemon output:\n" << daemon.output();
    if (msg->at("type") != "call") continue;
    const auto* c = conn_100(msg->at("call"));
    if (!c || !c->contains("remote_info")) continue;
    if (!ringing_event && msg->at("event") == "delivered") ringing_event = *msg;
    if (msg->at("event") == "remote_info") updated = *msg;
  }
  ASSERT_TRUE(ringing_event) << "the ringing event comes before the lookup result";
  const auto& ri0 = conn_100(ringing_event->at("call"))->at("remote_info").as_object();
  EXPECT_EQ(ri0.at("kind"), "external");
  EXPECT_EQ(ri0.at("e164"), kCaller.c_str());
  EXPECT_EQ(ri0.at("display"), "089 123456");
  EXPECT_EQ(ri0.at("international"), "+49 89 123456");
  EXPECT_TRUE(ri0.at("extension").is_null());
  EXPECT_EQ(ri0.at("lookup"), "pending") << json::serialize(ri0);
  EXPECT_EQ(conn_100(ringing_event->at("call"))->at("remote"), kCaller.c_str()) << "remote stays as it was";

  const auto& ri = conn_100(updated->at("call"))->at("remote_info").as_object();
  EXPECT_EQ(ri.at("lookup"), "done");
  const auto& contacts = ri.at("contacts").as_array();
  ASSERT_EQ(contacts.size(), 2u) << json::serialize(ri);
  EXPECT_EQ(contacts[0].at("name"), "Max Muster");  // ranked (same source: by name)
  EXPECT_EQ(contacts[0].at("company"), "ACME");
  EXPECT_EQ(contacts[0].at("source"), "store");
  EXPECT_EQ(contacts[0].at("match"), "exact");
  EXPECT_EQ(contacts[0].at("number"), kCaller.c_str());
  EXPECT_FALSE(contacts[0].at("id").as_string().empty());
  EXPECT_EQ(contacts[1].at("name"), "Moritz Muster");
  const std::string max_id(contacts[0].at("id").as_string());

  // REST shows the same while the call rings.
  auto calls = testing::http_get(port, "/api/v1/calls", token);
  EXPECT_NE(calls.find("\"remote_info\":{\"e164\":\"+4989123456\""), std::string::npos) << calls;
  EXPECT_NE(calls.find("\"name\":\"Max Muster\""), std::string::npos) << calls;

  // `callbridge calls` prints who rings: the best contact and the number as people read it (it
  // printed "-" for every call while the JSON had it, issue 13).
  {
    setenv("CALLBRIDGE_URL", ("http://127.0.0.1:" + std::to_string(port)).c_str(), 1);
    setenv("CALLBRIDGE_TOKEN", token.c_str(), 1);
    int crc = -1;
    auto listing = cli({"calls"}, &crc);
    unsetenv("CALLBRIDGE_URL");
    unsetenv("CALLBRIDGE_TOKEN");
    EXPECT_EQ(crc, 0) << listing;
    EXPECT_NE(listing.find("Max Muster, 089 123456"), std::string::npos) << listing;
    EXPECT_NE(listing.find("100=alerting"), std::string::npos) << listing;
    EXPECT_EQ(listing.find(" - "), std::string::npos) << listing;
  }

  // The call goes on and ends: the journal entry keeps the contact that was shown.
  pbx.send(rest);
  std::optional<json::object> entry;
  while (!entry) {
    auto msg = ws.next();
    ASSERT_TRUE(msg) << "no journal event; daemon output:\n" << daemon.output();
    if (msg->at("type") == "journal" && msg->at("entry").at("party") == "100") entry = msg->at("entry").as_object();
  }
  ASSERT_TRUE(entry->contains("contact")) << json::serialize(*entry);
  EXPECT_EQ(entry->at("contact").at("name"), "Max Muster");
  EXPECT_EQ(entry->at("contact").at("company"), "ACME");
  EXPECT_EQ(entry->at("contact").at("source"), "store");
  EXPECT_EQ(entry->at("contact").at("id"), max_id.c_str());
  EXPECT_EQ(entry->at("remote_name"), "Max Muster");
  EXPECT_EQ(entry->at("remote"), kCaller.c_str());

  // REST: the stored entry (the writer commits in the background: ask until it is there).
  std::string journal;
  for (int i = 0; i < 200 && journal.find("\"party\":\"100\"") == std::string::npos; ++i) {
    daemon.pump(20);  // pacing: the daemon's output, or 20 ms
    journal = testing::http_get(port, "/api/v1/journal", token);
  }
  auto body = journal.substr(journal.find("\r\n\r\n") + 4);
  auto stored = json::parse(body).at("entries").as_array();
  ASSERT_EQ(stored.size(), 1u) << body;
  EXPECT_EQ(stored[0].at("contact").at("name"), "Max Muster") << body;
  EXPECT_EQ(stored[0].at("contact").at("id"), max_id.c_str());

  // Issue 17: the ended call's explain trace, for admins, over REST and `callbridge explain`: the
  // PBX events (never the AMI secret), the number, the directory's answer, the delivery, the journal.
  {
    const std::string call_id(entry->at("call_id").as_string());
    auto raw = testing::http_get(port, "/api/v1/calls/" + call_id + "/trace", token);
    ASSERT_NE(raw.find(" 200 "), std::string::npos) << raw;
    auto trace = json::parse(raw.substr(raw.find("\r\n\r\n") + 4)).as_object();
    EXPECT_EQ(trace.at("call_id"), call_id.c_str());
    auto has = [&](std::string_view stage, std::string_view what, std::string_view in_detail) {
      for (const auto& s : trace.at("steps").as_array())
        if (s.at("stage").as_string() == stage && s.at("what").as_string() == what &&
            std::string_view(s.at("detail").as_string()).find(in_detail) != std::string_view::npos)
          return true;
      return false;
    };
    EXPECT_TRUE(has("pbx", "Newchannel", "CallerIDNum=")) << raw;
    EXPECT_TRUE(has("number", "external", "E.164 +4989123456")) << raw;
    EXPECT_TRUE(has("directory", "match", "shown: Max Muster (store, exact")) << raw;
    EXPECT_TRUE(has("delivery", "delivered", "Sent to admin (scope tenant")) << raw;
    EXPECT_TRUE(has("journal", "written", "with contact Max Muster (store)")) << raw;
    EXPECT_EQ(raw.find("cti-secret"), std::string::npos);
    EXPECT_NE(testing::http_get(port, "/api/v1/calls/no-such-call/trace", token).find(" 404 "), std::string::npos);

    setenv("CALLBRIDGE_URL", ("http://127.0.0.1:" + std::to_string(port)).c_str(), 1);
    setenv("CALLBRIDGE_TOKEN", token.c_str(), 1);
    int crc = -1;
    auto text = cli({"explain", call_id}, &crc);
    EXPECT_EQ(crc, 0) << text;
    for (const char* part : {"PBX events", "Number", "Directory lookups", "Event delivery", "Journal",
                             "shown: Max Muster", "Newchannel"})
      EXPECT_NE(text.find(part), std::string::npos) << part << " in\n" << text;
    auto js = cli({"explain", call_id, "--json"}, &crc);
    EXPECT_EQ(crc, 0) << js;
    EXPECT_EQ(json::parse(js).at("call_id"), call_id.c_str()) << js;
    auto missing = cli({"explain", "no-such-call"}, &crc);
    EXPECT_EQ(crc, 1) << missing;
    EXPECT_NE(missing.find("no trace of call"), std::string::npos) << missing;
    unsetenv("CALLBRIDGE_URL");
    unsetenv("CALLBRIDGE_TOKEN");
  }

  // SQLite: what journal.db holds after a clean stop.
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait_exit(), 0) << daemon.output();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((data + "/journal.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT contact_id, contact_name, contact_company, contact_source, remote_name "
                               "FROM journal WHERE party = '100'",
                               -1, &st, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  auto col = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i))); };
  EXPECT_EQ(col(0), max_id.c_str());
  EXPECT_EQ(col(1), "Max Muster");
  EXPECT_EQ(col(2), "ACME");
  EXPECT_EQ(col(3), "store");
  EXPECT_EQ(col(4), "Max Muster");
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace callbridge
