// GET /api/v1/diagnostics and GET /metrics over real sockets (callbridged's App in-process, HTTP
// and WebSocket on port 0; docs/api.md "Operations"): a tenant admin sees only their tenant's PBX
// links, runtime, counters and event stream clients, and nothing daemon-wide; the operator (and a
// scrape without a token from a peer in [server] metrics_allow) sees the whole daemon. The clients list names each WebSocket
// session's user, address, since and messages in/out.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "app/app.hpp"
#include "app/config.hpp"
#include "base/time.hpp"
#include "identity/sqlite/identity_store.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_text_client.hpp"

namespace callbridge {
namespace {

namespace json = boost::json;

// Two tenants with one AMI link each. Nothing listens at the links' port: they stay
// "connecting", which is all the diagnostics need to show. The test's own address may scrape
// /metrics without a token.
constexpr const char* kConfig = R"toml(
[server]
metrics_allow = ["127.0.0.1/32"]
[[pbx]]
name = "pbx-acme"
tenant = "acme"
host = "127.0.0.1"
port = 9
user = "cti"
secret = "s"
[[pbx]]
name = "pbx-globex"
tenant = "globex"
host = "127.0.0.1"
port = 9
user = "cti"
secret = "s"
[tenant.acme.call_control]
max_trunk_channels = 4
)toml";

struct Daemon {
  testing::TempDir dir{"cbdiag"};
  std::unique_ptr<app::App> app;
  std::thread thread;
  std::string acme_admin, globex_admin, acme_user, op;

  Daemon() {
    auto config = app::parse_config(kConfig, "test");
    EXPECT_TRUE(config) << config.error().to_string();
    config->server.listen = "127.0.0.1:0";
    config->server.data_dir = dir / "data";
    std::filesystem::create_directories(config->server.data_dir);
    {  // what `callbridge user add` / `token create` write into identity.db
      auto ids = identity::SqliteIdentityStore::open(config->server.data_dir + "/identity.db");
      EXPECT_TRUE(ids) << ids.error().to_string();
      auto token = [&](const char* tenant, const char* user, const char* role, std::vector<std::string> ext) {
        EXPECT_TRUE((*ids)->put_user({base::TenantId(tenant), user, role, user, std::move(ext), ""}));
        auto t = identity::issue_token(**ids, base::TenantId(tenant), user, base::SystemClock().now());
        EXPECT_TRUE(t);
        return t ? t->token : std::string();
      };
      acme_admin = token("acme", "ada", "admin", {});
      acme_user = token("acme", "anna", "user", {"100"});
      globex_admin = token("globex", "gil", "admin", {});
      op = token("_operator", "ops", "operator", {});
    }
    auto created = app::App::create(std::move(*config));
    EXPECT_TRUE(created) << created.error().to_string();
    app = std::move(*created);
    thread = std::thread([this] { app->run(); });
  }
  ~Daemon() {
    app->request_stop();
    thread.join();
  }
  std::uint16_t port() { return app->http().port(); }
};

json::object get_json(testing::HttpClient& http, const std::string& path, const std::string& token) {
  auto a = http.request("GET", path, {"Authorization: Bearer " + token});
  EXPECT_EQ(a.status, 200) << path << ": " << a.body;
  std::error_code ec;
  auto v = json::parse(a.body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::set<std::string> names(const json::object& d, const char* list, const char* key) {
  std::set<std::string> out;
  for (const auto& e : d.at(list).as_array()) out.emplace(e.at(key).as_string());
  return out;
}

TEST(DiagnosticsE2e, TenantAdminsSeeTheirTenantOnlyTheOperatorTheDaemon) {
  Daemon d;
  testing::HttpClient http(d.port());
  const auto before = base::SystemClock().now();

  // Event stream clients of both tenants; each pings once (one message in, its pong out).
  testing::WsTextClient anna, gil;
  ASSERT_EQ(anna.connect(d.port(), "", d.acme_user), 101);
  ASSERT_EQ(gil.connect(d.port(), "", d.globex_admin), 101);
  ASSERT_EQ(anna.ping("a"), "a");
  ASSERT_EQ(gil.ping("g"), "g");

  // acme's admin: acme's link, runtime and client; nothing of globex, nothing daemon-wide.
  auto acme = get_json(http, "/api/v1/diagnostics", d.acme_admin);
  EXPECT_EQ(acme.at("tenant").as_string(), "acme");
  EXPECT_EQ(names(acme, "pbx", "name"), std::set<std::string>{"pbx-acme"}) << json::serialize(acme);
  EXPECT_EQ(names(acme, "tenants", "id"), std::set<std::string>{"acme"});
  for (const auto& s : acme.at("directory").at("sources").as_array())
    EXPECT_EQ(s.at("tenants").as_array(), json::array{"acme"}) << json::serialize(s);
  for (const char* daemon_wide : {"http", "auth", "workers"})
    EXPECT_FALSE(acme.contains(daemon_wide)) << daemon_wide << ": " << json::serialize(acme);
  EXPECT_FALSE(acme.at("journal").as_object().contains("appended"));
  EXPECT_FALSE(acme.at("journal").as_object().contains("path"));
  EXPECT_TRUE(acme.at("directory").at("memory_index").is_null());
  ASSERT_EQ(acme.at("clients").as_array().size(), 1u) << json::serialize(acme.at("clients"));
  const auto& c = acme.at("clients").as_array()[0].as_object();
  EXPECT_EQ(c.at("tenant").as_string(), "acme");
  EXPECT_EQ(c.at("user").as_string(), "anna");
  EXPECT_EQ(c.at("address").as_string(), "127.0.0.1");
  auto since = base::parse_rfc3339(c.at("since").as_string());
  ASSERT_TRUE(since) << c.at("since");
  EXPECT_GE(*since + std::chrono::seconds(1), before);  // millisecond text: allow the rounding
  EXPECT_LE(*since, base::SystemClock().now());
  EXPECT_EQ(c.at("messages_in").as_int64(), 1);       // the ping
  EXPECT_GE(c.at("messages_out").as_int64(), 1);      // the pong (and any snapshot)

  // Channel accounting (docs/call-control.md): acme's channels now, its peaks and its trunk limit.
  ASSERT_EQ(acme.at("tenants").as_array().size(), 1u);
  const auto& ch = acme.at("tenants").as_array()[0].at("channels").as_object();
  EXPECT_EQ(ch.at("trunk").as_int64(), 0) << json::serialize(ch);
  EXPECT_EQ(ch.at("internal").as_int64(), 0);
  EXPECT_EQ(ch.at("trunk_peak").as_int64(), 0);
  EXPECT_EQ(ch.at("trunk_limit").as_int64(), 4);
  EXPECT_EQ(ch.at("refused_no_trunk_capacity").as_int64(), 0);
  EXPECT_EQ(acme.at("channels").at("trunk").as_int64(), 0);

  // globex's admin: the mirror image.
  auto globex = get_json(http, "/api/v1/diagnostics", d.globex_admin);
  EXPECT_EQ(names(globex, "pbx", "name"), std::set<std::string>{"pbx-globex"});
  EXPECT_EQ(names(globex, "clients", "user"), std::set<std::string>{"gil"});

  // A user of a tenant: 403.
  EXPECT_EQ(http.request("GET", "/api/v1/diagnostics", {"Authorization: Bearer " + d.acme_user}).status, 403);

  // The operator: every tenant's links and clients, and the daemon-wide sections.
  auto all = get_json(http, "/api/v1/diagnostics", d.op);
  EXPECT_FALSE(all.contains("tenant"));
  EXPECT_EQ(names(all, "pbx", "name"), (std::set<std::string>{"pbx-acme", "pbx-globex"}));
  EXPECT_EQ(names(all, "tenants", "id"), (std::set<std::string>{"acme", "default", "globex"}));
  EXPECT_EQ(names(all, "clients", "user"), (std::set<std::string>{"anna", "gil"}));
  for (const char* daemon_wide : {"http", "auth", "workers"}) EXPECT_TRUE(all.contains(daemon_wide)) << daemon_wide;
  EXPECT_TRUE(all.at("journal").as_object().contains("appended"));
  EXPECT_TRUE(all.at("directory").at("memory_index").is_object());

  // /metrics in the same views: acme's admin sees acme's link only; the operator and the allowed
  // scraper without a token every link and the daemon's counters.
  auto m = http.request("GET", "/metrics", {"Authorization: Bearer " + d.acme_admin});
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.body.find(R"(callbridge_pbx_connected{name="pbx-acme"} 0)"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("pbx-globex"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find(R"(callbridge_tenants_channels_trunk_limit{name="acme"} 4)"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find(R"(callbridge_tenants_channels_trunk{name="acme"} 0)"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("callbridge_channels_trunk_peak 0"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("callbridge_auth_"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("callbridge_http_"), std::string::npos) << m.body;
  for (const std::vector<std::string>& auth : {std::vector<std::string>{"Authorization: Bearer " + d.op},
                                               std::vector<std::string>{}}) {
    m = http.request("GET", "/metrics", auth);
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_NE(m.body.find(R"(callbridge_pbx_connected{name="pbx-globex"} 0)"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find(R"(callbridge_pbx_connected{name="pbx-acme"} 0)"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("callbridge_auth_ok "), std::string::npos) << m.body;
  }
  EXPECT_EQ(http.request("GET", "/metrics", {"Authorization: Bearer " + d.acme_user}).status, 403);

  // A client that left is no longer listed.
  {
    testing::WsTextClient brief;
    ASSERT_EQ(brief.connect(d.port(), "", d.acme_admin), 101);
    ASSERT_EQ(brief.ping("b"), "b");
    EXPECT_EQ(names(get_json(http, "/api/v1/diagnostics", d.acme_admin), "clients", "user"),
              (std::set<std::string>{"ada", "anna"}));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::set<std::string> users;
  do users = names(get_json(http, "/api/v1/diagnostics", d.acme_admin), "clients", "user");
  while (users.size() != 1 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(users, std::set<std::string>{"anna"});
}

}  // namespace
}  // namespace callbridge
