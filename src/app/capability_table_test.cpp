// The capability table against what it promises: unique names matching their folders, each
// fragment a file of that folder, no client event kind owned twice; and the route table of the
// whole REST API (the API's own routes, every capability's, health) against the
// served OpenAPI document in both directions: every route is described, every described operation
// is routed. The document's assembly itself (valid JSON, no path or schema defined twice, every
// $ref defined) is checked by tools/openapi_assemble.py at build time (ctest
// openapi_assemble_selftest tests that script).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <set>

#include "api/health_routes.hpp"
#include "app/capability_table.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"

namespace callbridge::app {
namespace {

namespace json = boost::json;

TEST(CapabilityTable, NamesFoldersAndFragmentsAgree) {
  std::set<std::string_view> names;
  for (const auto& c : capability_table()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name << " listed twice";
    EXPECT_EQ(c.openapi_fragment, "src/capabilities/" + std::string(c.name) + "/openapi.json");
    EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::path(CALLBRIDGE_SOURCE_DIR) / c.openapi_fragment))
        << c.openapi_fragment;
    EXPECT_NE(c.register_routes, nullptr) << c.name;
    EXPECT_FALSE(c.consumes.empty()) << c.name << ": a capability serves something it consumes";
  }
}

TEST(CapabilityTable, NoClientEventKindHasTwoOwners) {
  std::map<core::HubMessage::Kind, std::string_view> owner;
  for (const auto& c : capability_table())
    for (auto k : c.emits) {
      auto [it, fresh] = owner.emplace(k, c.name);
      EXPECT_TRUE(fresh) << capabilities::to_string(k) << ": emitted by " << it->second << " and " << c.name;
    }
  EXPECT_EQ(owner[core::HubMessage::Kind::line], "presence");
  EXPECT_EQ(owner[core::HubMessage::Kind::journal], "journal");
  EXPECT_EQ(owner[core::HubMessage::Kind::call], "calls");
  EXPECT_EQ(owner[core::HubMessage::Kind::command], "calls");
}

// The served document's operations: path -> methods ("get", "post", ...).
std::map<std::string, std::set<std::string>> documented() {
  std::map<std::string, std::set<std::string>> out;
  auto doc = json::parse(api::openapi_json());
  for (const auto& [path, item] : doc.at("paths").as_object())
    for (const auto& [key, op] : item.as_object())
      if (key != "parameters" && key != "summary" && key != "description") out[std::string(path)].insert(std::string(key));
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "/api/v1/contacts/{id}" -> "/api/v1/contacts/x"
std::string sample(const std::string& templ) {
  std::string out;
  bool in = false;
  for (char c : templ) {
    if (c == '{') in = true, out += 'x';
    else if (c == '}') in = false;
    else if (!in) out += c;
  }
  return out;
}

class ServedApi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cb_capability_table_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    journal_ = std::move(*journal::SqliteJournalStore::open((dir_ / "journal.db").string()));
    // As callbridged registers them (App::create): the REST API with every capability, health.
    // The handlers are not called, so their dependencies may stay unset but the journal (without
    // one the calls capability serves no journal callbacks).
    api::RestDeps deps;
    deps.journal = journal_.get();
    add_api_routes(server_, std::move(deps));
    api::add_health_routes(server_, {});
    routes_ = server_.routes();
  }
  void TearDown() override {
    journal_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<journal::SqliteJournalStore> journal_;
  boost::asio::io_context io_;
  api::HttpServer server_{io_, api::HttpServerOptions{}};
  std::vector<std::pair<std::string, std::string>> routes_;
};

// The problem+json 404 for unknown /api/v1 paths is routing, not a resource.
bool fallback(const std::string& path) { return path == "/api/v1/*"; }

TEST_F(ServedApi, EveryRouteIsDescribed) {
  const auto doc = documented();
  ASSERT_GT(routes_.size(), 20u);
  for (const auto& [method, path] : routes_) {
    if (fallback(path) || path == "/api/v1/events") continue;  // the WebSocket: docs/api.md "Event stream"
    const std::string m = lower(method);
    bool found = false;
    if (path.ends_with("/*")) {
      const std::string prefix = path.substr(0, path.size() - 1);  // keeps the '/'
      for (const auto& [p, methods] : doc)
        if (p.starts_with(prefix) && p.size() > prefix.size() && methods.contains(m)) found = true;
    } else if (auto it = doc.find(path); it != doc.end()) {
      found = it->second.contains(m);
    }
    EXPECT_TRUE(found) << method << " " << path << " is served but not in the OpenAPI document";
  }
}

TEST_F(ServedApi, EveryDescribedOperationIsRouted) {
  for (const auto& [templ, methods] : documented()) {
    const std::string path = sample(templ);
    for (const auto& m : methods) {
      bool routed = false;
      for (const auto& [method, route] : routes_) {
        if (lower(method) != m || fallback(route)) continue;
        if (route.ends_with("/*") ? path.starts_with(route.substr(0, route.size() - 1)) : route == path) routed = true;
      }
      EXPECT_TRUE(routed) << m << " " << templ << " is described but no route serves it";
    }
  }
}

}  // namespace
}  // namespace callbridge::app
