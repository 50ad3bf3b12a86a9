// Stored tenants at start-up (app/tenant_manager): App::create starts the valid ones; a spec the
// file also names is not started (the file wins); an invalid spec and one whose link name the
// file uses are listed as failed with the reason; the daemon starts either way. Real App (port 0,
// temp data dir), requests through its HTTP routes with an operator token.
#include "app/tenant_manager.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "app/app.hpp"
#include "identity/sqlite/identity_store.hpp"
#include "identity/sqlite/sqlite_tenant_store.hpp"

namespace callbridge::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST(TenantManager, StoredTenantsStartAndTheFileWins) {
  std::string tmpl = (fs::temp_directory_path() / "cbtenants-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const std::string data = (dir / "data").string();
  fs::create_directories(data);
  std::string op;
  {
    auto ids = identity::SqliteIdentityStore::open(data + "/identity.db");
    ASSERT_TRUE(ids);
    ASSERT_TRUE((*ids)->put_user({"_operator", "ops", "operator", "", {}, ""}));
    op = identity::issue_token(**ids, "_operator", "ops", base::SystemClock().now())->token;
    auto store = identity::SqliteTenantStore::open(data + "/identity.db");
    ASSERT_TRUE(store);
    auto put = [&](const char* id, const std::string& spec) {
      auto now = base::SystemClock().now();
      ASSERT_TRUE((*store)->put({base::TenantId(id), spec, now, now, "ops"}));
    };
    put("acme", R"({"id":"acme","display_name":"ACME","dialing":{"country_code":"49"}})");
    put("beta", R"({"id":"beta","display_name":"stored beta"})");
    put("broken", R"({"id":"broken","dialing":{"country_code":"x"}})");
    put("clash", R"({"id":"clash","pbx":[{"name":"main","host":"127.0.0.1","port":1,"user":"u","secret":"s"}]})");
  }
  Config c;
  c.server.listen = "127.0.0.1:0";
  c.server.data_dir = data;
  c.tenants["beta"].dialing.country_code = "43";
  PbxConfig main_link;
  main_link.name = "main";
  main_link.host = "127.0.0.1";
  main_link.port = 1;
  main_link.user = "u";
  main_link.secret = "s";
  c.pbx.push_back(main_link);
  auto app = App::create(c);
  ASSERT_TRUE(app) << app.error().to_string();
  std::thread io([&] { (*app)->io().run(); });

  api::HttpRequest req;
  req.method = "GET";
  req.target = req.path = "/api/v1/tenants";
  req.headers.emplace_back("authorization", "Bearer " + op);
  req.remote = "127.0.0.1";
  auto r = (*app)->http().dispatch(req);
  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, json::object> by_id;
  const auto listed = json::parse(r.body);
  for (const auto& t : listed.at("tenants").as_array()) by_id[std::string(t.at("id").as_string())] = t.as_object();
  ASSERT_EQ(by_id.size(), 5u) << r.body;  // acme, beta, broken, clash, default (the file's link)
  EXPECT_EQ(by_id["acme"].at("state"), "running");
  EXPECT_EQ(by_id["acme"].at("source"), "api");
  EXPECT_EQ(by_id["beta"].at("source"), "config") << "the file's beta, not the stored one";
  EXPECT_EQ(by_id["beta"].at("display_name"), "");
  EXPECT_EQ(by_id["broken"].at("state"), "failed");
  EXPECT_NE(std::string(by_id["broken"].at("error").as_string()).find("dialing.country_code"), std::string::npos)
      << r.body;
  EXPECT_EQ(by_id["clash"].at("state"), "failed");
  EXPECT_NE(std::string(by_id["clash"].at("error").as_string()).find("pbx link \"main\""), std::string::npos)
      << r.body;
  EXPECT_EQ(by_id["default"].at("source"), "config");
  EXPECT_EQ(by_id["default"].at("links").as_array().size(), 1u) << "the file's link \"main\"";

  // acme's plan is live: numbers of acme read as German ones, of a tenant without a plan not.
  EXPECT_EQ((*app)->to_e164("acme", "030 1234567"), "+49301234567");
  EXPECT_EQ((*app)->to_e164("broken", "030 1234567"), std::nullopt);

  (*app)->io().stop();
  io.join();
  app->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace callbridge::app
