// End to end with a real PostgreSQL: one configuration ([journal] backend = "postgres") puts the
// journal and the built-in contact store in that database for callbridged and the CLI alike.
// `callbridge contacts import --config` writes the contacts there; callbridged (port 0, fake
// Asterisk replaying inbound_answered) finds the caller there (REST lookup and the live call's
// remote_info) and publishes the journal entry with its stored id; `callbridge journal --config`
// reads the same entry, same id, from PostgreSQL; no contacts.db or journal.db is created.
// Skips when the PostgreSQL binaries are not installed (CI installs them).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "directory/child_process.hpp"
#include "directory/pg_test_cluster.hpp"
#include "support/fake_asterisk_thread.hpp"
#include "support/http_get.hpp"
#include "support/ws_text_client.hpp"

namespace callbridge {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;

const std::string kCaller = "+4989123456";  // the caller of the inbound_answered capture

std::string run(const std::string& bin, std::vector<std::string> args, int* rc) {
  args.insert(args.begin(), bin);
  auto p = ChildProcess::spawn(args);
  if (!p) {
    *rc = -1;
    return p.error().to_string();
  }
  (void)(*p)->wait_for_line([](const std::string&) { return false; }, 60s);  // until it closes
  *rc = (*p)->wait_exit(10s);
  return (*p)->output();
}

std::string body_of(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? response : response.substr(p + 4);
}

const json::object* conn_100(const json::value& call) {
  for (const auto& c : call.at("connections").as_array())
    if (c.at("device") == "100") return &c.as_object();
  return nullptr;
}

TEST(PostgresConfigE2E, DaemonAndCliShareTheConfiguredJournalAndContactStore) {
  std::string why;
  bool absent = false;
  auto* cluster = testing::PgTestCluster::get(why, absent);
  if (absent) GTEST_SKIP() << why;
  ASSERT_TRUE(cluster) << why;
  const std::string dsn = cluster->fresh_database(why);
  ASSERT_FALSE(dsn.empty()) << why;

  testing::TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);
  auto [ringing, rest] = testing::capture_split(
      std::string(CALLBRIDGE_FIXTURES_DIR) + "/inbound_answered/ami.log", "Event: DialBegin");
  testing::FakeAsteriskThread pbx(ringing);
  const std::string config = dir / "callbridged.toml";
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data << "\"\n\n"
                        << "[journal]\nbackend = \"postgres\"\ndsn = \"" << dsn << "\"\n\n"
                        << "[tenant.default.dialing]\ncountry_code = \"49\"\n\n"
                        << "[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << pbx.ami.port()
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n";

  // The CLI imports into the configured store: PostgreSQL, not contacts.db.
  const std::string csv = dir / "contacts.csv";
  std::ofstream(csv) << "Name,Company,Phone\r\nMax Muster,ACME,089 123456\r\n";
  int rc = 0;
  auto out = run(CALLBRIDGE_CLI_PATH, {"contacts", "import", csv, "--config", config}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("PostgreSQL"), std::string::npos) << out;
  out = run(CALLBRIDGE_CLI_PATH,
            {"token", "create", "--data-dir", data, "--tenant", "default", "--user", "admin", "--role", "admin"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch tm;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::string token = tm[0].str();

  auto daemon = ChildProcess::spawn({CALLBRIDGED_PATH, "--config", config});
  ASSERT_TRUE(daemon) << daemon.error().to_string();
  auto listening = (*daemon)->wait_for_line(
      [](const std::string& l) { return l.find("HTTP API listening on 127.0.0.1:") != std::string::npos; }, 30s);
  ASSERT_TRUE(listening) << listening.error().to_string();
  std::smatch pm;
  ASSERT_TRUE(std::regex_search(*listening, pm, std::regex(R"(127\.0\.0\.1:(\d+))")));
  const int port = std::stoi(pm[1].str());
  (*daemon)->drain_in_background();

  // The daemon looks the imported contact up in PostgreSQL.
  auto lookup = json::parse(body_of(testing::http_get(port, "/api/v1/contacts/lookup?number=%2B4989123456", token)));
  const auto& matches = lookup.at("matches").as_array();
  ASSERT_EQ(matches.size(), 1u) << json::serialize(lookup);
  EXPECT_EQ(matches[0].at("name"), "Max Muster");

  // A live call: the caller's contact on the call, then the journal entry with its stored id.
  testing::WsTextClient ws;
  ASSERT_EQ(ws.connect(static_cast<std::uint16_t>(port), "?scope=tenant&since=0", token), 101);
  bool shown = false;
  while (!shown) {
    auto msg = ws.next();
    ASSERT_TRUE(msg) << "no call event with a finished lookup; daemon output:\n" << (*daemon)->output();
    if (msg->at("type") != "call") continue;
    const auto* c = conn_100(msg->at("call"));
    if (!c || !c->contains("remote_info") || c->at("remote_info").at("lookup") != "done") continue;
    const auto& contacts = c->at("remote_info").at("contacts").as_array();
    ASSERT_EQ(contacts.size(), 1u) << json::serialize(*c);
    EXPECT_EQ(contacts[0].at("name"), "Max Muster");
    shown = true;
  }
  pbx.send(rest);
  std::optional<json::object> entry;
  while (!entry) {
    auto msg = ws.next();
    ASSERT_TRUE(msg) << "no journal event; daemon output:\n" << (*daemon)->output();
    if (msg->at("type") == "journal" && msg->at("entry").at("party") == "100") entry = msg->at("entry").as_object();
  }
  ASSERT_TRUE(entry->contains("id")) << "journal events from the PostgreSQL store carry the entry id: "
                                     << json::serialize(*entry);
  const std::int64_t id = entry->at("id").as_int64();
  EXPECT_EQ(entry->at("remote"), kCaller.c_str());
  EXPECT_EQ(entry->at("contact").at("name"), "Max Muster");
  EXPECT_EQ((*daemon)->stop(), 0) << (*daemon)->output();

  // The CLI reads the journal where the daemon wrote it: the same entry, the same id.
  out = run(CALLBRIDGE_CLI_PATH, {"journal", "--config", config, "--format", "json"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::istringstream lines(out);
  std::string line;
  int found = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto row = json::parse(line).as_object();
    if (row.at("party") != "100") continue;
    ++found;
    EXPECT_EQ(row.at("id").as_int64(), id) << line;
    EXPECT_EQ(row.at("remote"), kCaller.c_str()) << line;
  }
  EXPECT_EQ(found, 1) << out;

  // Nothing went to SQLite behind the configuration's back.
  EXPECT_FALSE(fs::exists(data + "/contacts.db"));
  EXPECT_FALSE(fs::exists(data + "/journal.db"));
}

}  // namespace
}  // namespace callbridge
