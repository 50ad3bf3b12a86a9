// Cluster mode's stores end to end (issue 19, docs/cluster.md "What each engine stores"): with a
// [cluster] table, callbridged keeps every tenant-scoped thing in one real PostgreSQL database and
// nothing in its data dir. Two nodes (n1, then n2 with another, empty data dir) on the PBX
// simulator (callbridge-pbxsim, generated traffic) and the offline CLI share users, tokens,
// sessions, UI and user settings, contacts, the journal, the audit log and webhooks over REST; a
// session made on n1 signs in on n2. A store left on SQLite in cluster mode stops callbridged at
// start with a message naming it. Skips when the PostgreSQL binaries are not installed.
// ctest labels: integration postgres cluster.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "directory/child_process.hpp"
#include "directory/pg_test_cluster.hpp"
#include "support/http_client.hpp"
#include "support/ws_text_client.hpp"

namespace callbridge {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::HttpAnswer;
using testing::HttpClient;

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

std::string token_of(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("cbt_[0-9a-f]+_[0-9a-f]+")) ? m[0].str() : std::string();
}

// A callbridged started on `config`; its HTTP port.
struct Node {
  std::unique_ptr<ChildProcess> proc;
  int port = 0;
};

// `edge_key_line`: also the line that logs the relay tunnel's edge key fingerprint (before the
// HTTP listener's).
Node start_node(const std::string& config, std::string* edge_key_line = nullptr) {
  Node n;
  auto p = ChildProcess::spawn({CALLBRIDGED_PATH, "--config", config});
  EXPECT_TRUE(p) << p.error().to_string();
  if (!p) return n;
  if (edge_key_line) {
    auto fp = (*p)->wait_for_line(
        [](const std::string& l) { return l.find("edge key fingerprint") != std::string::npos; }, 30s);
    EXPECT_TRUE(fp) << fp.error().to_string();
    if (!fp) return n;
    *edge_key_line = *fp;
  }
  auto listening = (*p)->wait_for_line(
      [](const std::string& l) { return l.find("HTTP API listening on 127.0.0.1:") != std::string::npos; }, 30s);
  EXPECT_TRUE(listening) << listening.error().to_string();
  if (!listening) return n;
  std::smatch pm;
  if (std::regex_search(*listening, pm, std::regex(R"(127\.0\.0\.1:(\d+))"))) n.port = std::stoi(pm[1].str());
  (*p)->drain_in_background();
  n.proc = std::move(*p);
  return n;
}

class ClusterStores : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    bool absent = false;
    auto* cluster = testing::PgTestCluster::get(why, absent);
    if (absent) GTEST_SKIP() << why;
    ASSERT_TRUE(cluster) << why;
    dsn_ = cluster->fresh_database(why);
    ASSERT_FALSE(dsn_.empty()) << why;
    // Cluster mode needs NATS JetStream (the PBX link's lease, docs/cluster.md): a real
    // nats-server on a port it picks. Started with this file's ChildProcess (support/nats_server.hpp
    // uses the other one, which cannot be linked beside it).
    fs::create_directories(dir_ / "nats");
    auto nats = ChildProcess::spawn({CALLBRIDGE_NATS_SERVER, "-a", "127.0.0.1", "-p", "-1", "-js", "-sd",
                                     dir_ / "nats"});
    ASSERT_TRUE(nats) << nats.error().to_string();
    auto listening = (*nats)->wait_for_line(
        [](const std::string& l) { return l.find("Listening for client connections on") != std::string::npos; }, 15s);
    ASSERT_TRUE(listening) << listening.error().to_string();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*listening, m, std::regex(R"(:(\d+)\s*$)"))) << *listening;
    nats_url_ = "nats://127.0.0.1:" + m[1].str();
    (*nats)->drain_in_background();
    nats_ = std::move(*nats);
  }

  // A node's configuration: its own data dir, the shared database, the simulator's AMI.
  std::string write_config(const std::string& node, int ami_port, const std::string& extra = {}) {
    const std::string data = dir_ / ("data-" + node);
    fs::create_directories(data);
    const std::string path = dir_ / (node + ".toml");
    std::ofstream(path) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << data << "\"\n\n"
                        << "[cluster]\nnode = \"" << node << "\"\nnats_url = \"" << nats_url_ << "\"\n"
                        << "postgres = \"" << dsn_ << "\"\n\n"
                        << extra << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\n"
                        << "base_number = \"555\"\nextension_ranges = [\"100-199\"]\n\n"
                        << "[[pbx]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = " << ami_port
                        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nreconnect_min_ms = 50\n";
    return path;
  }

  testing::TempDir dir_;
  std::string dsn_;
  std::unique_ptr<ChildProcess> nats_;
  std::string nats_url_;
};

// `auth`: "Authorization: Bearer ..." or "Cookie: cb_session=..." (then with the Origin the API
// asks of cookie requests: the page's own, as a browser sends it).
HttpAnswer call(HttpClient& c, const std::string& method, const std::string& target, const std::string& auth,
                const std::string& body = {}) {
  std::vector<std::string> headers{auth};
  if (auth.starts_with("Cookie:")) headers.push_back("Origin: http://localhost");
  return c.request(method, target, headers, body);
}

TEST_F(ClusterStores, EveryTenantScopedStoreLivesInPostgresForEveryNodeAndTheCli) {
  // The PBX simulator: generated calls once callbridged has logged in.
  auto sim = ChildProcess::spawn({CALLBRIDGE_PBXSIM_PATH, "--listen", "127.0.0.1:0", "--cps", "4", "--max-calls", "6",
                                  "--talk-mean", "1", "--speed", "4", "--seed", "19", "--wait-login"});
  ASSERT_TRUE(sim) << sim.error().to_string();
  auto ami = (*sim)->wait_for_line([](const std::string& l) { return l.find("AMI on 127.0.0.1:") != std::string::npos; },
                                   20s);
  ASSERT_TRUE(ami) << ami.error().to_string();
  std::smatch am;
  ASSERT_TRUE(std::regex_search(*ami, am, std::regex(R"(127\.0\.0\.1:(\d+))")));
  (*sim)->drain_in_background();
  const std::string n1 = write_config("n1", std::stoi(am[1].str()));
  const std::string n2 = write_config("n2", std::stoi(am[1].str()));

  // Offline CLI on the cluster's configuration: the first admin, a contact.
  int rc = 0;
  auto out = run(CALLBRIDGE_CLI_PATH,
                 {"token", "create", "--config", n1, "--tenant", "default", "--user", "root", "--role", "admin"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string admin = "Authorization: Bearer " + token_of(out);
  ASSERT_NE(admin.size(), std::string("Authorization: Bearer ").size()) << out;
  const std::string csv = dir_ / "contacts.csv";
  std::ofstream(csv) << "Name,Company,Phone\r\nMax Muster,ACME,030 5551234\r\n";
  out = run(CALLBRIDGE_CLI_PATH, {"contacts", "import", csv, "--config", n1}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("PostgreSQL"), std::string::npos) << out;

  std::string ben_token, session_cookie, hook_id;
  {
    Node node = start_node(n1);
    ASSERT_TRUE(node.proc);
    HttpClient c(static_cast<std::uint16_t>(node.port));
    // Users and tokens.
    auto r = call(c, "POST", "/api/v1/users", admin,
                  R"({"user": "ben", "role": "user", "extensions": ["101"], "display_name": "Ben Bravo"})");
    ASSERT_EQ(r.status, 201) << r.body;
    r = call(c, "POST", "/api/v1/users/ben/tokens", admin, "{}");
    ASSERT_EQ(r.status, 201) << r.body;
    ben_token = json::parse(r.body).at("token").as_string().c_str();
    // A browser session from ben's token.
    r = c.request("POST", "/api/v1/session", {}, json::serialize(json::object{{"token", ben_token}}));
    ASSERT_EQ(r.status, 200) << r.body;
    std::smatch cm;
    const std::string set_cookie = r.header("set-cookie");
    ASSERT_TRUE(std::regex_search(set_cookie, cm, std::regex("cb_session=([^;]+)"))) << set_cookie;
    session_cookie = "Cookie: cb_session=" + cm[1].str();
    // UI settings (tenant) and ben's own settings.
    r = call(c, "PUT", "/api/v1/ui-settings", admin,
             R"({"action_links": [{"label": "CRM", "url": "https://crm.example/c/{contact.id}"}], "card_template": ""})");
    ASSERT_EQ(r.status, 200) << r.body;
    r = call(c, "PUT", "/api/v1/me/settings", session_cookie, R"({"theme": "dark"})");
    ASSERT_EQ(r.status, 200) << r.body;
    // A contact over REST beside the imported one.
    r = call(c, "POST", "/api/v1/contacts", admin,
             R"({"kind": "person", "display_name": "Erika Beispiel", "numbers": [{"label": "work", "number": "030 5559876"}]})");
    ASSERT_EQ(r.status, 201) << r.body;
    r = call(c, "GET", "/api/v1/contacts/lookup?number=0305551234", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("Max Muster"), std::string::npos) << r.body;
    // A webhook.
    r = call(c, "POST", "/api/v1/webhooks", admin, R"({"url": "https://crm.example/hook", "events": ["call.ended"]})");
    ASSERT_EQ(r.status, 201) << r.body;
    hook_id = json::parse(r.body).at("id").as_string().c_str();

    // The journal: the simulator's calls end up there, each entry with the id PostgreSQL gave it.
    testing::WsTextClient ws;
    ASSERT_EQ(ws.connect(static_cast<std::uint16_t>(node.port), "?scope=tenant&since=0", token_of(admin)), 101);
    bool journaled = false;
    while (!journaled) {
      auto msg = ws.next();
      ASSERT_TRUE(msg) << "no journal event; daemon output:\n" << node.proc->output();
      if (msg->at("type") == "journal") journaled = msg->at("entry").as_object().contains("id");
    }
    r = call(c, "GET", "/api/v1/journal?limit=100", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(json::parse(r.body).at("entries").as_array().empty()) << r.body;
    EXPECT_EQ(node.proc->stop(), 0) << node.proc->output();
  }

  // Node n2: its own, empty data dir; everything n1 stored is there.
  {
    Node node = start_node(n2);
    ASSERT_TRUE(node.proc);
    HttpClient c(static_cast<std::uint16_t>(node.port));
    auto r = call(c, "GET", "/api/v1/me", session_cookie);  // n1's session
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("user"), "ben");
    r = call(c, "GET", "/api/v1/me", "Authorization: Bearer " + ben_token);
    ASSERT_EQ(r.status, 200) << r.body;
    r = call(c, "GET", "/api/v1/users/ben", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("display_name"), "Ben Bravo");
    r = call(c, "GET", "/api/v1/ui-settings", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("source"), "tenant") << r.body;
    r = call(c, "GET", "/api/v1/me/settings", session_cookie);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("theme"), "dark") << r.body;
    r = call(c, "GET", "/api/v1/contacts?q=Erika", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("contacts").as_array().size(), 1u) << r.body;
    r = call(c, "GET", "/api/v1/webhooks/" + hook_id, admin);
    ASSERT_EQ(r.status, 200) << r.body;
    r = call(c, "GET", "/api/v1/journal?limit=100", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(json::parse(r.body).at("entries").as_array().empty()) << r.body;
    // The audit log holds what n1 and the CLI did.
    r = call(c, "GET", "/api/v1/audit?limit=500", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const char* action : {"\"token.create\"", "\"user.create\"", "\"session.create\"", "\"webhook.create\""})
      EXPECT_NE(r.body.find(action), std::string::npos) << action << " missing: " << r.body;
    // Revoking ben's token on n2 ends the session made from it on n1.
    const std::string ben_id = ben_token.substr(4, ben_token.find('_', 4) - 4);
    r = call(c, "DELETE", "/api/v1/tokens/" + ben_id, admin);
    ASSERT_EQ(r.status, 204) << r.body;
    r = call(c, "GET", "/api/v1/me", session_cookie);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(node.proc->stop(), 0) << node.proc->output();
  }

  // The offline CLI reads the same database.
  out = run(CALLBRIDGE_CLI_PATH, {"token", "list", "--config", n2, "--tenant", "default"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ben"), std::string::npos) << out;
  out = run(CALLBRIDGE_CLI_PATH, {"audit", "--config", n2, "--format", "json", "--kind", "token"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("token.revoke"), std::string::npos) << out;
  EXPECT_NE(out.find("\"actor\":\"cli\""), std::string::npos) << out;
  out = run(CALLBRIDGE_CLI_PATH, {"journal", "--config", n2, "--format", "json"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"id\":"), std::string::npos) << out;
  out = run(CALLBRIDGE_CLI_PATH, {"contacts", "lookup", "030 5559876", "--config", n2}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Erika Beispiel"), std::string::npos) << out;

  // Nothing tenant-scoped went to a node's data dir.
  for (const char* node : {"data-n1", "data-n2"})
    for (const char* file : {"identity.db", "audit.db", "webhooks.db", "journal.db", "contacts.db"})
      EXPECT_FALSE(fs::exists(fs::path(dir_.path()) / node / file)) << node << "/" << file;
}

// The cloud relay's edge in cluster mode (docs/cluster.md "The cloud relay's edge"): a real
// callbridge-relay and two nodes configured as edge "acme" with one shared edge_key_file. Only the
// node holding the edge's lease logs in at the relay; both show the same end-to-end key (it lives
// in PostgreSQL, like the paired devices, which the CLI makes on one node's configuration and the
// other lists); kill -9 of the edge node lets the other log in within the lease's bounds.
TEST_F(ClusterStores, OneNodeAtATimeIsTheRelayEdgeAndThePairedDevicesAreShared) {
  const std::string cert_cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                               "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                               dir_ / "key.pem" + " -out " + dir_ / "cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(cert_cmd.c_str()), 0);
  std::ofstream(dir_ / "relay.toml") << "registry = \"" << (dir_ / "edges.json") << "\"\n[tls]\ncert_file = \""
                                     << (dir_ / "cert.pem") << "\"\nkey_file = \"" << (dir_ / "key.pem") << "\"\n";
  int rc = 0;
  auto out = run(CALLBRIDGE_RELAY_PATH, {"-c", dir_ / "relay.toml", "edge", "add", "acme"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string join = out.substr(0, out.find('\n'));
  auto relay = ChildProcess::spawn({CALLBRIDGE_RELAY_PATH, "-c", dir_ / "relay.toml", "serve", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(relay) << relay.error().to_string();
  auto rl = (*relay)->wait_for_line([](const std::string& l) { return l.find("listening on 127.0.0.1:") != std::string::npos; },
                                    20s);
  ASSERT_TRUE(rl) << rl.error().to_string();
  std::smatch rm;
  ASSERT_TRUE(std::regex_search(*rl, rm, std::regex(R"(listening on 127\.0\.0\.1:(\d+))"))) << *rl;
  const std::string relay_port = rm[1].str();
  (*relay)->drain_in_background();

  const std::string relay_cfg = "[relay]\nurl = \"wss://127.0.0.1:" + relay_port + "\"\nedge_id = \"acme\"\njoin_token = \"" +
                                join + "\"\nca_file = \"" + dir_ / "cert.pem" + "\"\nedge_key_file = \"" +
                                dir_ / "edge.key" + "\"\n\n";
  const int no_pbx = testing::free_tcp_port();  // the PBX does not matter here
  const std::string n1 = write_config("n1", no_pbx, relay_cfg);
  const std::string n2 = write_config("n2", no_pbx, relay_cfg);

  // Without edge_key_file each node would make its own key: refused at start.
  const std::string own_keys = write_config("n3", no_pbx, relay_cfg.substr(0, relay_cfg.find("edge_key_file")) + "\n");
  out = run(CALLBRIDGED_PATH, {"--config", own_keys}, &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("relay.edge_key_file: required in cluster mode"), std::string::npos) << out;

  // The relay's part of the diagnostics is daemon-wide: the operator's view.
  out = run(CALLBRIDGE_CLI_PATH, {"token", "create", "--config", n1, "--user", "op", "--role", "operator"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  const std::string admin = "Authorization: Bearer " + token_of(out);

  // A pairing made with n2's configuration (PostgreSQL), before any node runs.
  out = run(CALLBRIDGE_CLI_PATH, {"pair", "--config", n2, "--tenant", "default", "--label", "Anna's laptop", "--no-qr"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  std::smatch fm;
  ASSERT_TRUE(std::regex_search(out, fm, std::regex("fingerprint[^0-9a-f]*([0-9a-f]{4}( [0-9a-f]{4}){15})"))) << out;
  const std::string fingerprint = fm[1].str();

  auto relay_of = [&](Node& n) {
    HttpClient c(static_cast<std::uint16_t>(n.port));
    auto r = call(c, "GET", "/api/v1/diagnostics", admin);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return json::object{};
    return json::parse(r.body).at("relay").as_object();
  };
  auto up = [&](Node& n) { return relay_of(n).at("link").at("up").as_bool(); };
  auto wait_up = [&](Node& n, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end)
      if (up(n)) return true;
      else std::this_thread::sleep_for(50ms);  // polling a process's REST state
    return false;
  };

  // Each node logs its end-to-end key's fingerprint: the one the CLI's link showed.
  std::string fp1, fp2;
  Node node1 = start_node(n1, &fp1);
  ASSERT_TRUE(node1.proc);
  EXPECT_NE(fp1.find(fingerprint), std::string::npos) << fp1 << " vs " << fingerprint;
  ASSERT_TRUE(wait_up(node1, 20s)) << json::serialize(relay_of(node1));
  Node node2 = start_node(n2, &fp2);
  ASSERT_TRUE(node2.proc);
  EXPECT_NE(fp2.find(fingerprint), std::string::npos) << fp2 << " vs " << fingerprint;

  // n2 stands by: it never logged in (a second login would have replaced n1's).
  auto r2 = relay_of(node2);
  EXPECT_FALSE(r2.at("link").at("up").as_bool()) << json::serialize(r2);
  EXPECT_EQ(r2.at("link").at("logins").as_int64(), 0) << json::serialize(r2);
  EXPECT_FALSE(r2.at("link").at("lease").at("ours").as_bool()) << json::serialize(r2);
  EXPECT_TRUE(relay_of(node1).at("link").at("lease").at("ours").as_bool());
  EXPECT_TRUE(up(node1));

  // n1 lists the device paired on n2's configuration.
  out = run(CALLBRIDGE_CLI_PATH, {"pair", "list", "--config", n1, "--tenant", "default"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Anna's laptop"), std::string::npos) << out;
  EXPECT_NE(out.find("pending"), std::string::npos) << out;

  // kill -9 the edge: n2 takes the lease (ttl 3 s) and logs in.
  const auto killed = std::chrono::steady_clock::now();
  ::kill(node1.proc->pid(), SIGKILL);
  ASSERT_TRUE(wait_up(node2, 20s)) << json::serialize(relay_of(node2));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed);
  std::printf("# the relay edge moved to n2 %lld ms after kill -9 of n1\n", static_cast<long long>(took.count()));
  EXPECT_LT(took, 10s);
  EXPECT_TRUE(relay_of(node2).at("link").at("lease").at("ours").as_bool());
  EXPECT_EQ(node2.proc->stop(), 0) << node2.proc->output();
  // The edge logged in twice with one key: no refusal at the relay.
  out = run("curl", {"-sk", "-m", "10", "https://127.0.0.1:" + relay_port + "/metrics"}, &rc);
  EXPECT_NE(out.find("relay_edge_logins_total{result=\"ok\"} 2"), std::string::npos) << out;
}

TEST_F(ClusterStores, AStoreLeftOnSqliteStopsTheStartWithItsName) {
  const std::string cfg = write_config("n1", 5038, "[audit]\nbackend = \"sqlite\"\n\n");
  int rc = 0;
  auto out = run(CALLBRIDGED_PATH, {"--config", cfg}, &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("audit.backend = \"sqlite\": cluster mode ([cluster]) keeps the audit log in PostgreSQL"),
            std::string::npos)
      << out;
  EXPECT_FALSE(fs::exists(fs::path(dir_.path()) / "data-n1" / "audit.db"));
}

}  // namespace
}  // namespace callbridge
