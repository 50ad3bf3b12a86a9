// End to end: callbridged with every kind of directory source configured - a real slapd
// ([[directory.ldap]], tests/directory harness), a real local HTTP CRM ([[directory.http]],
// tests/directory/crm_server.py) and the built-in store (filled by `callbridge contacts import`).
// Checks that GET /api/v1/contacts/lookup returns the matches of all three ranked by the
// configured priorities, that a live call (fake Asterisk replaying inbound_answered) carries the
// LDAP contact in remote_info and the journal entry, that a source of another tenant is never
// asked, and that a tenant with [[tenant.X.phones]] but no [tenant.X.dialing] starts (defaults).
// Labels integration + ldap; skipped (with the reason) when slapd is not installed.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "directory/child_process.hpp"
#include "directory/slapd_server.hpp"
#include "support/fake_asterisk_thread.hpp"
#include "support/http_get.hpp"
#include "support/ws_text_client.hpp"

#ifndef CALLBRIDGE_TEST_DIR
#error "CALLBRIDGE_TEST_DIR must point at tests/directory"
#endif

namespace callbridge {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;

const std::string kCaller = "+4989123456";  // the caller of the inbound_answered capture

constexpr const char* kLdif = R"(dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: uid=lara,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: lara
cn: Lara Ldap
sn: Ldap
givenName: Lara
displayName: Lara Ldap
o: Directory AG
telephoneNumber: +49 89 123456
)";

bool on_path(const std::string& tool) {
  const char* path = getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/sbin";
  std::stringstream ss(dirs);
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty() && access((fs::path(d) / tool).c_str(), X_OK) == 0) return true;
  return false;
}


// Runs a built binary to completion; its output (exit code in *rc).
std::string run(const std::string& bin, std::vector<std::string> args, int* rc) {
  args.insert(args.begin(), bin);
  auto p = ChildProcess::spawn(args);
  if (!p) {
    *rc = -1;
    return p.error().to_string();
  }
  auto closed = (*p)->wait_for_line([](const std::string&) { return false; }, 60s);  // until it closes
  (void)closed;
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

TEST(DirectorySourcesE2E, LookupAndLiveCallsUseTheStoreLdapAndHttpSourcesRankedByPriority) {
  if (!on_path("slapd") || !on_path("slapadd"))
    GTEST_SKIP() << "slapd/slapadd not installed (Debian package slapd; CI installs it): the LDAP source "
                    "cannot be tested against a real server here";
  auto slapd = testing::SlapdServer::start(kLdif);
  ASSERT_TRUE(slapd) << slapd.error().to_string();

  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  fs::create_directories(data);

  // The CRM knows the caller too.
  const std::string crm_contacts = dir.path() + "/crm.json";
  std::ofstream(crm_contacts) << R"({")" << kCaller
                              << R"(": [{"id": "crm-77", "name": "Carla Crm", "company": {"name": "Crm GmbH"}}]})";
  auto crm = ChildProcess::spawn(
      {"python3", std::string(CALLBRIDGE_TEST_DIR) + "/crm_server.py", "--contacts", crm_contacts});
  ASSERT_TRUE(crm) << crm.error().to_string();
  auto crm_line = (*crm)->wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; }, 20s);
  ASSERT_TRUE(crm_line) << crm_line.error().to_string();
  const int crm_port = std::stoi(crm_line->substr(5));
  (*crm)->drain_in_background();

  // The built-in store, by the real CLI.
  const std::string csv = dir.path() + "/contacts.csv";
  std::ofstream(csv) << "Name,Company,Phone\r\nSam Store,Store AG,+49 89 123456\r\n";
  int rc = 0;
  auto out = run(CALLBRIDGE_CLI_PATH,
                 {"contacts", "import", csv, "--data-dir", data, "--tenant", "default", "--country", "49"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  out = run(CALLBRIDGE_CLI_PATH,
            {"token", "create", "--data-dir", data, "--tenant", "default", "--user", "admin", "--role", "admin"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch tm;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::string token = tm[0].str();
  // Every tenant's sources are the operator's to see (a tenant admin sees their tenant's).
  out = run(CALLBRIDGE_CLI_PATH,
            {"token", "create", "--data-dir", data, "--tenant", "_operator", "--user", "ops", "--role", "operator"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  ASSERT_TRUE(std::regex_search(out, tm, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
  const std::string op_token = tm[0].str();

  auto [ringing, rest] = testing::capture_split(
      std::string(CALLBRIDGE_FIXTURES_DIR) + "/inbound_answered/ami.log", "Event: DialBegin");
  testing::FakeAsteriskThread pbx(ringing);
  const std::string crm_url = "http://127.0.0.1:" + std::to_string(crm_port) + "/api/lookup?number={e164}";
  const std::string crm_search = "http://127.0.0.1:" + std::to_string(crm_port) + "/api/search?q={text}&limit={limit}";
  const std::string config = dir.path() + "/callbridged.toml";
  // metrics_allow: the tokenless /metrics scrape below comes from loopback, the scraper's address.
  std::ofstream(config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data
                        << "\"\nmetrics_allow = [\"127.0.0.1/32\"]\n\n"
                        << "[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " << pbx.ami.port()
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n\n"
                        // Phones but no [tenant.default.dialing]: the default plan applies.
                        << "[[tenant.default.phones]]\ndevices = [\"1*\"]\nanswer_event = \"talk\"\n\n"
                        << "[[directory.ldap]]\nname = \"corp-ldap\"\nuri = \"" << (*slapd)->uri()
                        << "\"\nbase_dn = \"dc=example,dc=com\"\ntimeout_ms = 5000\npriority = 5\n\n"
                        << "[[directory.http]]\nname = \"crm\"\nurl = \"" << crm_url
                        << "\"\nheaders = { Authorization = \"Bearer test-token\" }\nresults_path = \"data.contacts\"\n"
                        << "company_field = \"company.name\"\ntimeout_ms = 5000\npriority = 30\n"
                        << "search_url = \"" << crm_search << "\"\nnumber_label_field = \"type\"\n\n"
                        // Another tenant's CRM (same server): never asked for tenant default.
                        << "[[directory.http]]\nname = \"crm-other\"\ntenant = \"other\"\nurl = \"" << crm_url
                        << "\"\nheaders = { Authorization = \"Bearer test-token\" }\nresults_path = \"data.contacts\"\n"
                        << "search_url = \"" << crm_search << "\"\n";

  auto daemon = ChildProcess::spawn({CALLBRIDGED_PATH, "--config", config});
  ASSERT_TRUE(daemon) << daemon.error().to_string();
  auto listening = (*daemon)->wait_for_line(
      [](const std::string& l) { return l.find("HTTP API listening on 127.0.0.1:") != std::string::npos; }, 30s);
  ASSERT_TRUE(listening) << listening.error().to_string();
  std::smatch pm;
  ASSERT_TRUE(std::regex_search(*listening, pm, std::regex(R"(127\.0\.0\.1:(\d+))")));
  const int port = std::stoi(pm[1].str());
  (*daemon)->drain_in_background();

  // A live call from the caller: remote_info lists the three sources' contacts, LDAP first.
  testing::WsTextClient ws;
  ASSERT_EQ(ws.connect(static_cast<std::uint16_t>(port), "?scope=tenant&since=0", token), 101);
  std::optional<json::object> shown;
  while (!shown) {
    auto msg = ws.next();
    ASSERT_TRUE(msg) << "no call event with a finished lookup; daemon output:\n" << (*daemon)->output();
    if (msg->at("type") != "call") continue;
    const auto* c = conn_100(msg->at("call"));
    if (!c || !c->contains("remote_info")) continue;
    if (c->at("remote_info").at("lookup") == "done") shown = c->at("remote_info").as_object();
  }
  const auto& contacts = shown->at("contacts").as_array();
  ASSERT_EQ(contacts.size(), 3u) << json::serialize(*shown);
  EXPECT_EQ(contacts[0].at("name"), "Lara Ldap");
  EXPECT_EQ(contacts[0].at("company"), "Directory AG");
  EXPECT_EQ(contacts[0].at("source"), "corp-ldap");
  EXPECT_EQ(contacts[0].at("id"), "uid=lara,ou=people,dc=example,dc=com");
  EXPECT_EQ(contacts[0].at("match"), "exact");
  EXPECT_EQ(contacts[1].at("source"), "store");
  EXPECT_EQ(contacts[1].at("name"), "Sam Store");
  EXPECT_EQ(contacts[2].at("source"), "crm");
  EXPECT_EQ(contacts[2].at("name"), "Carla Crm");

  // The call ends: the journal entry keeps the LDAP contact that was shown.
  pbx.send(rest);
  std::optional<json::object> entry;
  while (!entry) {
    auto msg = ws.next();
    ASSERT_TRUE(msg) << "no journal event; daemon output:\n" << (*daemon)->output();
    if (msg->at("type") == "journal" && msg->at("entry").at("party") == "100") entry = msg->at("entry").as_object();
  }
  ASSERT_TRUE(entry->contains("contact")) << json::serialize(*entry);
  EXPECT_EQ(entry->at("contact").at("name"), "Lara Ldap");
  EXPECT_EQ(entry->at("contact").at("source"), "corp-ldap");

  // REST lookup, national input: every source, ranked by priority (ldap 5, store 10, crm 30).
  auto resp = testing::http_get(port, "/api/v1/contacts/lookup?number=%2B49%2089%20123456", token);
  ASSERT_NE(resp.find(" 200 "), std::string::npos) << resp;
  auto lookup = json::parse(body_of(resp)).as_object();
  EXPECT_EQ(lookup.at("number").at("e164"), kCaller.c_str());
  const auto& matches = lookup.at("matches").as_array();
  ASSERT_EQ(matches.size(), 3u) << json::serialize(lookup);
  EXPECT_EQ(matches[0].at("source"), "corp-ldap");
  EXPECT_EQ(matches[0].at("name"), "Lara Ldap");
  EXPECT_EQ(matches[1].at("source"), "store");
  EXPECT_EQ(matches[1].at("name"), "Sam Store");
  EXPECT_EQ(matches[2].at("source"), "crm");
  EXPECT_EQ(matches[2].at("name"), "Carla Crm");
  EXPECT_EQ(matches[2].at("company"), "Crm GmbH");

  // Name search (issue 13): the CRM's search URL is asked too, its contact comes with its numbers.
  resp = testing::http_get(port, "/api/v1/contacts/search?q=carla", token);
  ASSERT_NE(resp.find(" 200 "), std::string::npos) << resp;
  auto found = json::parse(body_of(resp)).as_object();
  const json::object* carla = nullptr;
  for (const auto& c : found.at("contacts").as_array())
    if (c.at("source") == "crm") carla = &c.as_object();
  ASSERT_TRUE(carla) << json::serialize(found);
  EXPECT_EQ(carla->at("name"), "Carla Crm");
  EXPECT_EQ(carla->at("company"), "Crm GmbH");
  EXPECT_EQ(carla->at("id"), "crm-77");
  ASSERT_EQ(carla->at("numbers").as_array().size(), 1u) << json::serialize(*carla);
  EXPECT_EQ(carla->at("numbers").as_array()[0].at("e164"), kCaller.c_str());
  bool crm_asked = false;
  for (const auto& s : found.at("sources").as_array()) {
    EXPECT_NE(s.at("name"), "crm-other") << "another tenant's CRM was asked";
    if (s.at("name") == "crm") crm_asked = s.at("state") == "ok";
  }
  EXPECT_TRUE(crm_asked) << json::serialize(found);

  // Diagnostics: per source of each tenant (the built-in store once per tenant); tenant other's
  // sources were never asked.
  auto diag = json::parse(body_of(testing::http_get(port, "/api/v1/diagnostics", op_token))).as_object();
  // The admin of "default" sees default's sources only.
  auto mine = json::parse(body_of(testing::http_get(port, "/api/v1/diagnostics", token))).as_object();
  for (const auto& s : mine.at("directory").at("sources").as_array())
    EXPECT_EQ(s.at("tenants").as_array(), json::array{"default"}) << json::serialize(s);
  EXPECT_EQ(mine.at("directory").at("sources").as_array().size(), 3u) << json::serialize(mine.at("directory"));
  const auto& sources = diag.at("directory").at("sources").as_array();
  ASSERT_EQ(sources.size(), 5u) << json::serialize(diag.at("directory"));
  std::map<std::string, json::object> by_name;
  std::map<std::string, json::object> store_of;  // tenant -> its store source
  for (const auto& s : sources) {
    const auto& o = s.as_object();
    if (o.at("name") == "store") store_of[std::string(o.at("tenants").as_array().at(0).as_string())] = o;
    else by_name[std::string(o.at("name").as_string())] = o;
  }
  ASSERT_EQ(store_of.size(), 2u);
  EXPECT_GE(store_of.at("default").at("ok").to_number<std::int64_t>(), 1);
  EXPECT_EQ(store_of.at("other").at("ok").to_number<std::int64_t>(), 0);
  EXPECT_EQ(by_name.at("corp-ldap").at("kind"), "ldap");
  EXPECT_GE(by_name.at("corp-ldap").at("ok").to_number<std::int64_t>(), 1);
  EXPECT_EQ(by_name.at("corp-ldap").at("errors").to_number<std::int64_t>(), 0) << json::serialize(by_name.at("corp-ldap"));
  EXPECT_GE(by_name.at("crm").at("ok").to_number<std::int64_t>(), 1);
  EXPECT_EQ(by_name.at("crm-other").at("ok").to_number<std::int64_t>(), 0);
  EXPECT_EQ(by_name.at("crm-other").at("errors").to_number<std::int64_t>(), 0);
  EXPECT_EQ(by_name.at("crm-other").at("timeouts").to_number<std::int64_t>(), 0);
  EXPECT_EQ(by_name.at("crm-other").at("tenants").as_array().at(0), "other");
  auto metrics = testing::http_get(port, "/metrics");
  EXPECT_NE(metrics.find("callbridge_directory_sources_ok{name=\"corp-ldap\",tenant=\"default\"}"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("callbridge_directory_sources_ok{name=\"store\",tenant=\"other\"} 0"), std::string::npos)
      << metrics;

  (*daemon)->stop();
}

}  // namespace
}  // namespace callbridge
